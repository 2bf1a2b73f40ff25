package dev.sparsa.infer;

import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Gemm;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Quant;
import dev.sparsa.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The kernels of the calibrated modes against their semantics, written out here with plain loops over the
 * original weights: {@link GateSparseFfn} for every {@link NeuronRule} against the dense FFN with h zeroed where
 * {@link NeuronRule#select} drops; {@link TealFfn} and {@link TealAttention} against {@code W·s_t(x)}; the
 * {@link PredictorFfn} against the gate-first kernel of its label rule when the predictor is exact. Every dtype, a
 * decode row, a small batch and a batch on the GEMM path; the same bits for 1 and 2 threads.
 */
class SparseKernelsTest {
    static final int D = 64;
    static final int F = 96;

    static Tensor tensor(String name, float[] v, int rows, int cols, DType t) {
        if (t == DType.F32) {
            return Tensor.f32(name, v, rows, cols);
        }
        long rb = t.bytesFor(cols);
        MemorySegment seg = MemorySegment.ofArray(new byte[(int) (rb * rows)]);
        for (int r = 0; r < rows; r++) {
            Quant.quantize(t, v, r * cols, cols, seg, r * rb);
        }
        return new Tensor(name, t, new int[] {rows, cols}, seg);
    }

    static float[] gaussian(Random rnd, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rnd.nextGaussian() * scale);
        }
        return v;
    }

    static FfnWeights ffn(DType t, long seed) {
        Random rnd = new Random(seed);
        return new FfnWeights(0, tensor("gate", gaussian(rnd, F * D, 0.2), F, D, t),
                tensor("up", gaussian(rnd, F * D, 0.2), F, D, t), tensor("down", gaussian(rnd, D * F, 0.2), D, F, t));
    }

    static void close(float[] got, float[] want, double tol, String what) {
        double scale = 0;
        for (float v : want) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < want.length; i++) {
            assertThat((double) Math.abs(got[i] - want[i])).as(what + " [" + i + "]").isLessThanOrEqualTo(
                    tol * Math.max(1, scale));
        }
    }

    /** y of the dense FFN with h_i = 0 wherever the rule drops neuron i. */
    static float[] gateReference(FfnWeights w, Activation act, NeuronRule rule, float[] x, int batch) {
        DenseFfn dense = new DenseFfn(w, act);
        float[] y = new float[batch * D];
        float[] kept = new float[F];
        try (Parallel par = Parallel.serial()) {
            dense.forward(x, batch, 0, y, dense.newActivations(batch), (layer, pos, xx, xo, gate, a, h, off) -> {
                float[] g = Arrays.copyOfRange(gate, off, off + F);
                rule.select(act, g, 0, F, kept);
                for (int i = 0; i < F; i++) {
                    if (kept[i] == 0f) {
                        h[off + i] = 0f;
                    }
                }
            }, par);
        }
        return y;
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16", "Q8_0", "Q4_0"})
    void gateFirstKernelsFollowTheirRules(DType dtype) {
        FfnWeights w = ffn(dtype, 3);
        Activation silu = Activation.of("silu", 0f);
        Activation relu = Activation.of("relu", 0f);
        Object[][] cases = {{silu, new NeuronRule.Magnitude(0.05f)}, {silu, new NeuronRule.StatTopK(0.3)},
                {relu, new NeuronRule.NonZero()}, {silu, new NeuronRule.Magnitude(0f)}};
        Random rnd = new Random(5);
        for (Object[] c : cases) {
            Activation act = (Activation) c[0];
            NeuronRule rule = (NeuronRule) c[1];
            GateSparseFfn k = new GateSparseFfn(w, act, rule, DType.F32);    // exact down^T: compare the rule only
            for (int batch : new int[] {1, 3, 50}) {
                float[] x = gaussian(rnd, batch * D, 1);
                float[] want = gateReference(w, act, rule, x, batch);
                float[] got = run(k, x, batch, 2);
                close(got, want, 1e-5, dtype + " " + rule + " batch " + batch);
                assertThat(run(k, x, batch, 1)).as("thread count").isEqualTo(got);
            }
        }
    }

    @Test
    void magnitudeAndTopKRulesDropWhatTheySay() {
        Activation silu = Activation.of("silu", 0f);
        float[] g = {-6f, -1f, -0.05f, 0f, 0.05f, 0.5f, 3f, 8f};
        float[] a = new float[g.length];
        int kept = new NeuronRule.Magnitude(0.1f).select(silu, g, 0, g.length, a);
        assertThat(kept).isEqualTo(4);                                      // |silu| ≥ 0.1: -1, 0.5, 3, 8
        assertThat(a[0]).isZero();                                          // silu(-6) = -0.0148
        assertThat(a[1]).isEqualTo(silu.apply(-1f));
        assertThat(a[2]).isZero();
        assertThat(a[7]).isEqualTo(silu.apply(8f));
        double theta = NeuronRule.statThreshold(g, 0, g.length, 1.0);     // mean + std
        kept = new NeuronRule.StatTopK(1.0).select(silu, g, 0, g.length, a);
        int above = 0;
        for (float v : g) {
            above += v > theta ? 1 : 0;
        }
        assertThat(kept).isEqualTo(above).isEqualTo(1);                     // only 8 lies above mean + std
    }

    /** y = W_down s_td(act(W_gate s_tg(x)) ⊙ W_up s_tu(x)), plain loops over the original weights. */
    static float[] tealReference(FfnWeights w, Activation act, float[] t, float[] x, int batch, long[] kept) {
        float[] gw = Kernels.toFloats(w.gate());
        float[] uw = Kernels.toFloats(w.up());
        float[] dw = Kernels.toFloats(w.down());
        float[] y = new float[batch * D];
        for (int b = 0; b < batch; b++) {
            float[] xg = mask(x, b * D, D, t[SparseStats.Site.GATE.ordinal()], kept, SparseStats.Site.GATE);
            float[] xu = mask(x, b * D, D, t[SparseStats.Site.UP.ordinal()], kept, SparseStats.Site.UP);
            float[] h = new float[F];
            for (int i = 0; i < F; i++) {
                double g = 0;
                double u = 0;
                for (int j = 0; j < D; j++) {
                    g += (double) gw[i * D + j] * xg[j];
                    u += (double) uw[i * D + j] * xu[j];
                }
                h[i] = act.apply((float) g) * (float) u;
            }
            float[] hd = mask(h, 0, F, t[SparseStats.Site.DOWN.ordinal()], kept, SparseStats.Site.DOWN);
            for (int j = 0; j < D; j++) {
                double s = 0;
                for (int i = 0; i < F; i++) {
                    s += (double) dw[j * F + i] * hd[i];
                }
                y[b * D + j] = (float) s;
            }
        }
        return y;
    }

    static float[] mask(float[] x, int off, int n, float t, long[] kept, SparseStats.Site site) {
        float[] m = new float[n];
        for (int j = 0; j < n; j++) {
            float v = x[off + j];
            m[j] = Math.abs(v) > t ? v : 0f;                                // s_t(x)_j = x_j [|x_j| > t]
            kept[site.ordinal()] += Math.abs(v) > t ? 1 : 0;
        }
        return m;
    }

    static float[] thresholds(float attn, float o, float gate, float up, float down) {
        return new float[] {attn, attn * 1.2f, attn * 0.8f, o, gate, up, down};
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16", "Q8_0"})
    void tealFfnSkipsTheColumnsOfZeroedInputs(DType dtype) {
        FfnWeights w = ffn(dtype, 7);
        Activation silu = Activation.of("silu", 0f);
        float[] t = thresholds(0, 0, 0.6f, 0.9f, 0.02f);
        // the transposed copies of Q8_0 weights are re-quantized along the other axis: a tolerance of a few steps
        double tol = dtype == DType.Q8_0 ? 3e-2 : 1e-5;
        Random rnd = new Random(9);
        for (int batch : new int[] {1, 3, InputSparseLinear.GEMM_ROWS}) {
            float[] x = gaussian(rnd, batch * D, 1);
            long[] kept = new long[7];
            float[] want = tealReference(w, silu, t, x, batch, kept);
            SparseStats stats = new SparseStats(1);
            TealFfn k = new TealFfn(w, silu, t, stats);
            float[] got = run(k, x, batch, 2);
            close(got, want, tol, dtype + " batch " + batch);
            assertThat(run(k, x, batch, 1)).as("thread count").isEqualTo(got);
            assertThat(stats.inputSparsity(0, SparseStats.Site.GATE)).isCloseTo(1 - kept[4] / (double) (batch * D),
                    org.assertj.core.api.Assertions.within(1e-12));
            assertThat(stats.inputSparsity(0, SparseStats.Site.GATE)).isBetween(0.3, 0.7);
            assertThat(stats.inputSparsity(0, SparseStats.Site.UP)).isGreaterThan(
                    stats.inputSparsity(0, SparseStats.Site.GATE));
            if (dtype != DType.Q8_0) {                                      // the same h, so the same down zeros
                assertThat(1 - stats.inputSparsity(0, SparseStats.Site.DOWN)).isCloseTo(
                        kept[6] / (double) (batch * F), org.assertj.core.api.Assertions.within(0.02));
            }
        }
    }

    @Test
    void tealAttentionProjectsSparsifiedInputs() {
        Random rnd = new Random(13);
        int qDim = 64;
        int kv = 32;
        LlamaWeights.Layer ly = new LlamaWeights.Layer(0, null, Tensor.f32("wq", gaussian(rnd, qDim * D, 0.2), qDim, D),
                Tensor.f32("wk", gaussian(rnd, kv * D, 0.2), kv, D), Tensor.f32("wv", gaussian(rnd, kv * D, 0.2), kv, D),
                Tensor.f32("wo", gaussian(rnd, D * qDim, 0.2), D, qDim), Tensor.f32("bq", gaussian(rnd, qDim, 1),
                qDim), Tensor.f32("bk", gaussian(rnd, kv, 1), kv), Tensor.f32("bv", gaussian(rnd, kv, 1), kv),
                null, null, null);
        float[] t = thresholds(0.7f, 0.4f, 0, 0, 0);
        SparseStats stats = new SparseStats(1);
        TealAttention a = new TealAttention(ly, t, stats);
        for (int rows : new int[] {1, 4, InputSparseLinear.GEMM_ROWS}) {
            float[] xn = gaussian(rnd, rows * D, 1);
            float[] att = gaussian(rnd, rows * qDim, 1);
            float[] q = new float[rows * qDim];
            float[] k = new float[rows * kv];
            float[] v = new float[rows * kv];
            float[] o = new float[rows * D];
            try (Parallel par = new Parallel(2)) {
                a.qkv(xn, rows, q, k, v, new Gemm(), par);
                a.o(att, rows, o, new Gemm(), par);
            }
            close(q, project(ly.wq(), ly.bq(), xn, rows, t[0]), 1e-5, "q");
            close(k, project(ly.wk(), ly.bk(), xn, rows, t[1]), 1e-5, "k");
            close(v, project(ly.wv(), ly.bv(), xn, rows, t[2]), 1e-5, "v");
            close(o, project(ly.wo(), null, att, rows, t[3]), 1e-5, "o");
        }
        assertThat(stats.inputSparsity(0, SparseStats.Site.K)).isGreaterThan(stats.inputSparsity(0,
                SparseStats.Site.Q)).isGreaterThan(stats.inputSparsity(0, SparseStats.Site.V));
    }

    static float[] project(Tensor w, Tensor bias, float[] x, int rows, float t) {
        float[] wv = Kernels.toFloats(w);
        float[] b = bias == null ? null : Kernels.toFloats(bias);
        int out = w.rows();
        int in = w.cols();
        float[] y = new float[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < out; i++) {
                double s = b == null ? 0 : b[i];
                for (int j = 0; j < in; j++) {
                    float xv = x[r * in + j];
                    s += Math.abs(xv) > t ? (double) wv[i * in + j] * xv : 0;
                }
                y[r * out + i] = (float) s;
            }
        }
        return y;
    }

    /** A predictor whose logits are the gate itself: s = W_gate · (I · x). */
    static Predictor exactPredictor(FfnWeights w) {
        float[] eye = new float[D * D];
        for (int i = 0; i < D; i++) {
            eye[i * D + i] = 1f;
        }
        return new Predictor(Predictor.Kind.LOW_RANK, Tensor.f32("w1", eye, D, D),
                null, Tensor.f32("w2", Kernels.toFloats(w.gate()), F, D), null);
    }

    @Test
    void predictedKernelIsItsLabelRuleMinusTheMissedNeurons() {
        FfnWeights w = ffn(DType.F32, 17);
        Activation relu = Activation.of("relu", 0f);
        Activation silu = Activation.of("silu", 0f);
        Random rnd = new Random(19);
        for (int batch : new int[] {1, 3}) {
            float[] x = gaussian(rnd, batch * D, 1);
            // τ = 0 on a ReLU model: every active neuron is a candidate, the output is exact's
            SparseStats stats = new SparseStats(1);
            PredictorFfn p = new PredictorFfn(w, relu, exactPredictor(w), 0f, new NeuronRule.NonZero(), stats);
            close(run(p, x, batch, 2), run(new GateSparseFfn(w, relu, new NeuronRule.NonZero()), x, batch, 2), 1e-5,
                    "τ = 0");
            assertThat(stats.recall(0)).isEqualTo(1.0);
            assertThat(stats.precision(0)).isBetween(0.95, 1.0);             // candidates g ≥ 0, active g > 0
            // τ = 0.5: the neurons with 0 < g < 0.5 are missed, which is the magnitude rule at 0.5
            stats = new SparseStats(1);
            p = new PredictorFfn(w, relu, exactPredictor(w), 0.5f, new NeuronRule.NonZero(), stats);
            close(run(p, x, batch, 2), gateReference(w, relu, new NeuronRule.Magnitude(0.5f), x, batch), 1e-5,
                    "τ = 0.5");
            assertThat(stats.recall(0)).isLessThan(1.0);
            assertThat(stats.precision(0)).isEqualTo(1.0);
            // CATS labels on SiLU with every neuron a candidate: the CATS kernel
            p = new PredictorFfn(w, silu, exactPredictor(w), -Float.MAX_VALUE, new NeuronRule.Magnitude(0.1f), null);
            close(run(p, x, batch, 2), gateReference(w, silu, new NeuronRule.Magnitude(0.1f), x, batch), 1e-5,
                    "CATS labels");
        }
    }

    static float[] run(dev.sparsa.model.FfnKernel k, float[] x, int batch, int threads) {
        float[] y = new float[batch * D];
        try (Parallel par = new Parallel(threads)) {
            k.forward(x, batch, 0, y, k.newActivations(batch), ActivationTap.NONE, par);
        }
        return y;
    }
}
