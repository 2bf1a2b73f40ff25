package dev.sparsa.infer;

import dev.sparsa.io.MapWeights;
import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.model.llama.GoldenWeights;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.io.ConfigJson;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static dev.sparsa.infer.SparseKernelsTest.close;
import static dev.sparsa.infer.SparseKernelsTest.gaussian;
import static dev.sparsa.infer.SparseKernelsTest.gateReference;
import static dev.sparsa.infer.SparseKernelsTest.tensor;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The neuron-bundle kernels ({@link FfnLayout#BUNDLED}, issue #9 §2) against the dense FFN with the mask applied,
 * on every dtype, every rule, batch 1..16, and the same bits for 1, 2 and 3 threads; the tapped (two-pass) path
 * against the fused one; the predicted kernel against its split twin; and the exact mode at model level: logits
 * within float tolerance of dense and the same greedy tokens, every dtype.
 */
class BundledSparseFfnTest {
    static final int D = SparseKernelsTest.D;
    static final int F = SparseKernelsTest.F;

    static FfnWeights ffn(DType t, long seed) {
        return SparseKernelsTest.ffn(t, seed);
    }

    static float[] run(FfnKernel k, float[] x, int batch, int threads, ActivationTap tap) {
        float[] y = new float[batch * D];
        try (Parallel par = new Parallel(threads)) {
            k.forward(x, batch, 0, y, k.newActivations(batch), tap, par);
        }
        return y;
    }

    /** A tap that wants every layer and changes nothing: forces the two-pass path. */
    static final ActivationTap WATCH = (layer, pos, x, xo, gate, act, h, off) -> { };

    @ParameterizedTest
    @EnumSource(DType.class)
    void bundledKernelsFollowTheirRulesForEveryBatchAndThreadCount(DType dtype) {
        FfnWeights w = ffn(dtype, 23);
        Activation silu = Activation.of("silu", 0f);
        Activation relu = Activation.of("relu", 0f);
        Object[][] cases = {{relu, new NeuronRule.NonZero()}, {silu, new NeuronRule.Magnitude(0.05f)},
                {silu, new NeuronRule.StatTopK(0.3)}, {silu, new NeuronRule.StatTopK(1.5)}};
        // NonZero, Magnitude(0.05) and StatTopK(0.3) keep over 30% of the neurons: from batch 8 they take the dense
        // route (GateSparseFfn.denseRest); StatTopK(1.5) keeps about 7% and stays on the sparse route
        Random rnd = new Random(29);
        for (Object[] c : cases) {
            Activation act = (Activation) c[0];
            NeuronRule rule = (NeuronRule) c[1];
            GateSparseFfn exactDown = new GateSparseFfn(w, act, rule, DType.F32, FfnLayout.BUNDLED);
            GateSparseFfn stored = new GateSparseFfn(w, act, rule);          // Q8_0 down for quantized sources
            GateSparseFfn split = new GateSparseFfn(w, act, rule, stored.downType(), FfnLayout.SPLIT);
            assertThat(stored.layout()).isEqualTo(FfnLayout.BUNDLED);
            for (int batch = 1; batch <= 16; batch++) {
                float[] x = gaussian(rnd, batch * D, 1);
                String what = dtype + " " + rule + " batch " + batch;
                float[] got = run(exactDown, x, batch, 2, ActivationTap.NONE);
                close(got, gateReference(w, act, rule, x, batch), 1e-5, what);
                float[] y = run(stored, x, batch, 1, ActivationTap.NONE);
                close(y, run(split, x, batch, 2, ActivationTap.NONE), 1e-5, what + " vs split");
                for (int threads : new int[] {2, 3}) {
                    assertThat(run(stored, x, batch, threads, ActivationTap.NONE)).as(what + ", " + threads
                            + " threads").isEqualTo(y);
                }
                assertThat(run(stored, x, batch, 3, WATCH)).as(what + ", tapped").isEqualTo(y);
            }
        }
    }

    /**
     * Inference reuses one workspace for every layer and step: the batch paths must clear what an earlier, larger or
     * denser batch left in it (up, h, the per-token lists), on one thread and when a few rows are split in parts.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16", "Q8_0", "Q4_0"})
    void aReusedWorkspaceGivesTheBitsOfAFreshOne(DType dtype) {
        FfnWeights w = ffn(dtype, 47);
        Activation silu = Activation.of("silu", 0f);
        Activation relu = Activation.of("relu", 0f);
        Predictor p = SparseKernelsTest.exactPredictor(w);
        FfnKernel[] kernels = {new GateSparseFfn(w, silu, new NeuronRule.StatTopK(1.5)),
                new GateSparseFfn(w, relu, new NeuronRule.NonZero()),
                new PredictorFfn(w, relu, p, 0.5f, new NeuronRule.NonZero(), new SparseStats(1))};
        Random rnd = new Random(53);
        int[] batches = {16, 3, 2, 7, 1, 16, 2};
        for (FfnKernel k : kernels) {
            for (int threads : new int[] {1, 2, 3}) {
                var acts = k.newActivations(16);
                try (Parallel par = new Parallel(threads)) {
                    for (int batch : batches) {
                        float[] x = gaussian(rnd, batch * D, 1);
                        float[] y = new float[batch * D];
                        k.forward(x, batch, 0, y, acts, ActivationTap.NONE, par);
                        assertThat(y).as(dtype + " " + k.getClass().getSimpleName() + " batch " + batch + ", "
                                + threads + " threads").isEqualTo(run(k, x, batch, threads, ActivationTap.NONE));
                    }
                }
            }
        }
    }

    @Test
    void aTapThatZeroesHIsHonouredOnBothPaths() {
        FfnWeights w = ffn(DType.Q8_0, 31);
        Activation relu = Activation.of("relu", 0f);
        GateSparseFfn k = new GateSparseFfn(w, relu, new NeuronRule.NonZero(), DType.F32, FfnLayout.BUNDLED);
        ActivationTap zeroOdd = (layer, pos, x, xo, gate, act, h, off) -> {
            for (int i = 1; i < F; i += 2) {
                h[off + i] = 0f;
            }
        };
        Random rnd = new Random(37);
        for (int batch : new int[] {1, 5}) {
            float[] x = gaussian(rnd, batch * D, 1);
            float[] want = new float[batch * D];
            DenseFfn dense = new DenseFfn(w, relu);
            try (Parallel par = Parallel.serial()) {
                dense.forward(x, batch, 0, want, dense.newActivations(batch), zeroOdd, par);
            }
            close(run(k, x, batch, 2, zeroOdd), want, 1e-5, "batch " + batch);
            assertThat(run(k, x, batch, 3, zeroOdd)).isEqualTo(run(k, x, batch, 1, zeroOdd));
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16", "Q8_0", "Q4_0"})
    void bundledPredictorEqualsItsSplitTwin(DType dtype) {
        FfnWeights w = ffn(dtype, 41);
        Activation relu = Activation.of("relu", 0f);
        Predictor p = SparseKernelsTest.exactPredictor(w);
        Random rnd = new Random(43);
        for (float tau : new float[] {0f, 0.5f}) {
            SparseStats sb = new SparseStats(1);
            SparseStats ss = new SparseStats(1);
            PredictorFfn bundled = new PredictorFfn(w, relu, p, tau, new NeuronRule.NonZero(), sb);
            PredictorFfn split = new PredictorFfn(w, relu, p, tau, new NeuronRule.NonZero(), ss, FfnLayout.SPLIT);
            assertThat(bundled.layout()).isEqualTo(FfnLayout.BUNDLED);
            assertThat(bundled.bundles().hasGate()).isTrue();
            for (int batch : new int[] {1, 2, 7}) {
                float[] x = gaussian(rnd, batch * D, 1);
                float[] y = run(bundled, x, batch, 2, ActivationTap.NONE);
                close(y, run(split, x, batch, 2, ActivationTap.NONE), 1e-5, dtype + " τ " + tau + " batch " + batch);
                assertThat(run(bundled, x, batch, 1, ActivationTap.NONE)).isEqualTo(y);
                assertThat(run(bundled, x, batch, 3, WATCH)).isEqualTo(y);
            }
            assertThat(sb.recall(0)).isEqualTo(ss.recall(0));
            assertThat(sb.precision(0)).isEqualTo(ss.precision(0));
        }
    }

    /**
     * A predictor stored as BF16 or Q8_0 ({@link Predictor#as}) scores with its own weights: its scores are those of
     * an F32 predictor holding its dequantized weights (within float summation order), it reads fewer bytes, and the
     * bundled kernel, which scores each slice inside its one pass, picks the same candidates as the split twin, which
     * scores all neurons first (same recall and precision counts, same outputs, same bits for 1, 2, 3 threads).
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BF16", "Q8_0"})
    void aQuantizedPredictorScoresWithItsOwnWeightsOnBothPaths(DType pdt) {
        FfnWeights w = ffn(DType.Q8_0, 53);
        Activation relu = Activation.of("relu", 0f);
        Predictor p = SparseKernelsTest.exactPredictor(w);
        Predictor q = p.as(pdt, java.lang.foreign.Arena.ofAuto());
        assertThat(q.dtype()).isEqualTo(pdt);
        assertThat(q.w2().dtype()).isEqualTo(pdt);
        assertThat(q.bytes()).isLessThan(p.bytes() / 2 + 1);
        assertThat(p.as(DType.F32, java.lang.foreign.Arena.ofAuto())).isSameAs(p);
        Predictor deq = new Predictor(q.kind(), Tensor.f32("w1", Kernels.toFloats(q.w1()), q.w1().shape()), null,
                Tensor.f32("w2", Kernels.toFloats(q.w2()), q.w2().shape()), null);
        Random rnd = new Random(59);
        float[] x = gaussian(rnd, D, 1);
        float[] sq = new float[F];
        float[] sd = new float[F];
        float[] sp = new float[F];
        try (Parallel par = new Parallel(2)) {
            q.scores(x, 0, q.newHidden(), sq, par);
            deq.scores(x, 0, deq.newHidden(), sd, par);
            p.scores(x, 0, p.newHidden(), sp, par);
        }
        close(sq, sd, 1e-4, pdt + " scores vs its dequantized F32 twin");
        assertThat(sq).as("the conversion changed the scores").isNotEqualTo(sp);
        for (float tau : new float[] {0f, 0.5f}) {
            SparseStats sb = new SparseStats(1);
            SparseStats ss = new SparseStats(1);
            PredictorFfn bundled = new PredictorFfn(w, relu, q, tau, new NeuronRule.NonZero(), sb);
            PredictorFfn split = new PredictorFfn(w, relu, q, tau, new NeuronRule.NonZero(), ss, FfnLayout.SPLIT);
            assertThat(bundled.predictorBytes()).isEqualTo(q.bytes());
            float[] y = run(bundled, x, 1, 2, ActivationTap.NONE);
            close(y, run(split, x, 1, 2, ActivationTap.NONE), 1e-5, pdt + " τ " + tau);
            assertThat(run(bundled, x, 1, 1, ActivationTap.NONE)).isEqualTo(y);
            assertThat(run(bundled, x, 1, 3, WATCH)).isEqualTo(y);
            assertThat(sb.recall(0)).isEqualTo(ss.recall(0));
            assertThat(sb.precision(0)).isEqualTo(ss.precision(0));
        }
    }

    /** Each token of {@code x} through the kernel's one-token path, one call per token. */
    static float[] perToken(FfnKernel k, float[] x, int batch, int threads) {
        float[] y = new float[batch * D];
        try (Parallel par = new Parallel(threads)) {
            var acts = k.newActivations(1);
            float[] xb = new float[D];
            float[] yb = new float[D];
            for (int b = 0; b < batch; b++) {
                System.arraycopy(x, b * D, xb, 0, D);
                k.forward(xb, 1, b, yb, acts, ActivationTap.NONE, par);
                System.arraycopy(yb, 0, y, b * D, D);
            }
        }
        return y;
    }

    /**
     * The predicted kernel's batch path (issue #9 §3): for every batch 1..16 it equals the one-token path token by
     * token and the split twin (each token its own candidates), within float summation order; the same bits for 1,
     * 2 and 3 threads and with a tap; the same recall and precision counts as the one-token path. τ 0.5 makes the
     * predictor miss neurons, so the candidate sets differ per token and a union-only kernel would fail.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16", "Q8_0", "Q4_0"})
    void bundledPredictorBatchEqualsItsOneTokenPathForEveryBatch(DType dtype) {
        FfnWeights w = ffn(dtype, 47);
        Activation relu = Activation.of("relu", 0f);
        Predictor p = SparseKernelsTest.exactPredictor(w);
        Random rnd = new Random(53);
        for (float tau : new float[] {0f, 0.5f}) {
            PredictorFfn bundled = new PredictorFfn(w, relu, p, tau, new NeuronRule.NonZero(), null);
            PredictorFfn split = new PredictorFfn(w, relu, p, tau, new NeuronRule.NonZero(), null, FfnLayout.SPLIT);
            for (int batch = 1; batch <= 16; batch++) {
                String what = dtype + " τ " + tau + " batch " + batch;
                float[] x = gaussian(rnd, batch * D, 1);
                float[] y = run(bundled, x, batch, 2, ActivationTap.NONE);
                float[] one = perToken(bundled, x, batch, 2);
                assertThat(one).as(what).isNotEqualTo(new float[batch * D]);
                close(y, one, 1e-5, what + " vs one token at a time");
                close(y, run(split, x, batch, 2, ActivationTap.NONE), 1e-5, what + " vs split");
                // the predictor is the gate itself: candidates g ≥ τ, kept g > 0, i.e. the dense FFN masked to g ≥ τ
                // (float dtypes: a quantized W_down is re-quantized to Q8_0 down columns, another rounding)
                if (dtype == DType.F32 || dtype == DType.BF16) {
                    NeuronRule masked = tau > 0 ? new NeuronRule.Magnitude(tau) : new NeuronRule.NonZero();
                    close(y, gateReference(w, relu, masked, x, batch), 1e-5, what + " vs dense masked");
                }
                assertThat(run(bundled, x, batch, 1, ActivationTap.NONE)).as(what).isEqualTo(y);
                assertThat(run(bundled, x, batch, 3, ActivationTap.NONE)).as(what).isEqualTo(y);
                assertThat(run(bundled, x, batch, 3, WATCH)).as(what + ", tapped").isEqualTo(y);
            }
            SparseStats sb = new SparseStats(1);
            SparseStats s1 = new SparseStats(1);
            float[] x = gaussian(rnd, 9 * D, 1);
            run(new PredictorFfn(w, relu, p, tau, new NeuronRule.NonZero(), sb), x, 9, 2, ActivationTap.NONE);
            perToken(new PredictorFfn(w, relu, p, tau, new NeuronRule.NonZero(), s1), x, 9, 2);
            assertThat(sb.recall(0)).isEqualTo(s1.recall(0));
            assertThat(sb.precision(0)).isEqualTo(s1.precision(0));
            assertThat(sb.candidateShare(0)).isEqualTo(s1.candidateShare(0));
            if (tau > 0) {
                assertThat(sb.recall(0)).as("τ 0.5 misses active neurons").isLessThan(1);
            }
        }
    }

    /**
     * The golden ReLU Llama with its FFN matrices stored as {@code t} (W_down [64, 176] stays F32 for the block types:
     * its rows of 176 are not whole 32-value blocks).
     */
    static MapWeights withFfnAs(GoldenWeights.Golden g, ModelConfig cfg, DType t) {
        MapWeights src = g.weights();
        MapWeights out = new MapWeights("golden-" + t);
        for (Tensor v : src.asMap().values()) {
            boolean ffn = v.name().contains(".mlp.") && v.rank() == 2 && v.cols() % t.blockSize() == 0;
            out.put(ffn && t != DType.F32 ? tensor(v.name(), Kernels.toFloats(v), v.rows(), v.cols(), t) : v);
        }
        return out;
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void exactModeMatchesDenseLogitsAndGreedyTokensOnEveryDtype(DType t) {
        GoldenWeights.Golden g = GoldenWeights.load("llama_relu");
        ModelConfig cfg = ConfigJson.parse("golden", g.config());
        MapWeights weights = withFfnAs(g, cfg, t);
        LlamaModel dense = LlamaModel.load(cfg, weights, DenseFfn::new);
        LlamaModel exact = LlamaModel.load(cfg, weights, (fw, act) -> new ExactSparseFfn(fw, act, DType.F32));
        LlamaModel stored = LlamaModel.load(cfg, weights, ExactSparseFfn::new);
        int[] prompt = g.promptIds();
        try (Parallel par = new Parallel(2)) {
            float[] a = dense.forward(dense.newCache(prompt.length), prompt, true, ActivationTap.NONE, par);
            float[] b = exact.forward(exact.newCache(prompt.length), prompt, true, ActivationTap.NONE, par);
            close(b, a, 1e-5, t + " prefill logits");
            Generator.Options o = Generator.Options.greedy(12);
            int[] want = new Generator(dense, par).generate(prompt, o, id -> { }).generatedIds();
            assertThat(new Generator(exact, par).generate(prompt, o, id -> { }).generatedIds()).as(t + " greedy")
                    .containsExactly(want);
            int[] got = new Generator(stored, par).generate(prompt, o, id -> { }).generatedIds();
            assertThat(got).as(t + " greedy, stored down type " + ((ExactSparseFfn) stored.ffn(0)).downType())
                    .containsExactly(want);
        }
    }
}
