package dev.sparsa.train;

import dev.sparsa.SparsaException;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.StepProfile.Op;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The benchmark's FLOP count, its profile hooks (no effect on the numbers) and its loop; no timed assertions. */
class TrainBenchTest {

    /** 2 layers, 4 query / 2 kv heads of 8, hidden 32, FFN 48, vocab 64, context 16. */
    static ModelConfig tiny(boolean tied) {
        return new ModelConfig("llama", 32, 48, 2, 4, 2, 8, 64, 16, 1e-5f, 10000f, null, "silu", 0f, tied, false, 0,
                0, 0);
    }

    @Test
    void matmulParamsAreTheMatricesOfTheParamsLessTheEmbeddingLookup() {
        for (boolean tied : new boolean[] {false, true}) {
            ModelConfig c = tiny(tied);
            try (Arena arena = Arena.ofConfined()) {
                LlamaParams p = LlamaParams.init(c, 0.02, 1, arena);
                long n = 0;
                for (LlamaParams.Param q : p.params()) {
                    if (q.matrix() && !q.name().equals("model.embed_tokens.weight")) {
                        n += q.size();
                    }
                }
                if (tied) {
                    n += (long) c.vocabSize() * c.hiddenSize();          // the LM head is the embedding, still a GEMM
                }
                assertThat(TrainBench.matmulParams(c)).as("tied " + tied).isEqualTo(n);
            }
        }
        // tiny-llama by hand: 4 · (256·256 + 2·256·128 + 256·256 + 3·256·768) + 4096·256
        assertThat(TrainBench.matmulParams(Presets.tinyLlama())).isEqualTo(4 * 786_432L + 1_048_576L);
    }

    @Test
    void attentionFlopsCountTheCausalPairsTwelveHeadDimFlopsEach() {
        ModelConfig c = tiny(false);
        int batch = 3;
        int t = 7;
        long pairs = 0;                                               // (query i, key j ≤ i) per sequence
        for (int i = 0; i < t; i++) {
            for (int j = 0; j <= i; j++) {
                pairs++;
            }
        }
        double expect = 12.0 * c.headDim() * pairs * c.numHeads() * batch * c.numLayers();
        assertThat(TrainBench.attentionFlops(c, batch, t)).isEqualTo(expect);
        assertThat(TrainBench.flopsPerStep(c, batch, t))
                .isEqualTo(6.0 * TrainBench.matmulParams(c) * batch * t + expect);
    }

    @Test
    void theProfileSectionsShareOutTheStepFlops() {
        ModelConfig c = Presets.tinyLlama();
        double sum = 0;
        for (Op op : Op.values()) {
            sum += TrainBench.stepFlops(op, c, 8, 256);
            assertThat(TrainBench.stepFlops(op, c, 8, 256))
                    .isEqualTo(TrainBench.flops(op, c, 8, 256) * (TrainBench.perLayer(op) ? c.numLayers() : 1));
        }
        assertThat(sum).isCloseTo(TrainBench.flopsPerStep(c, 8, 256), within(1e-6 * sum));
        assertThat(TrainBench.perLayer(Op.FWD_LAYER)).isTrue();
        assertThat(TrainBench.perLayer(Op.BWD_ATTENTION)).isTrue();
        assertThat(TrainBench.perLayer(Op.BWD_HEAD_DW)).isFalse();
        assertThat(TrainBench.perLayer(Op.OPTIMIZER)).isFalse();
    }

    @Test
    void profilingChangesNoBitOfTheLossOrTheGradients() {
        ModelConfig c = tiny(false);
        int seqs = 2;
        int t = 5;
        int[] tokens = new SplittableRandom(3).ints(seqs * (t + 1), 0, c.vocabSize()).toArray();
        try (Arena arena = Arena.ofShared(); Parallel par = new Parallel(2)) {
            LlamaParams a = LlamaParams.init(c, 0.02, 9, arena);
            LlamaParams b = LlamaParams.init(c, 0.02, 9, arena);
            Backprop pa = new Backprop(a, seqs, t);
            Backprop pb = new Backprop(b, seqs, t);
            StepProfile prof = new StepProfile(c.numLayers(), TrainBench.heapCounter());
            pb.profile(prof);
            prof.start();
            double la = pa.step(tokens, 0, 0f, null, 0f, 1f, par).ce();
            double lb = pb.step(tokens, 0, 0f, null, 0f, 1f, par).ce();
            assertThat(lb).isEqualTo(la);
            for (int i = 0; i < a.params().size(); i++) {
                assertThat(b.params().get(i).grad()).as(a.params().get(i).name()).isEqualTo(a.params().get(i).grad());
            }
            assertThat(prof.steps()).isEqualTo(1);
            for (Op op : Op.values()) {
                if (op != Op.ZERO_GRADS && op != Op.OPTIMIZER) {          // the bench's laps, not Backprop's
                    assertThat(prof.seconds(op)).as(op.name()).isPositive();
                }
            }
            for (int l = 0; l < c.numLayers(); l++) {
                assertThat(prof.seconds(Op.FWD_LAYER, l)).isPositive();
                assertThat(prof.backwardSeconds(l)).isPositive();
            }
        }
    }

    @Test
    void runTrainsTheTimedStepsAndProfilesOnlyThem() {
        ModelConfig c = tiny(false);
        StepProfile prof = new StepProfile(c.numLayers());
        StringBuilder log = new StringBuilder();
        TrainBench.Result r;
        try (Parallel par = new Parallel(2)) {
            r = TrainBench.run(c, 2, 8, 1, 3, 5, par, prof, s -> log.append(s).append('\n'));
        }
        assertThat(r.stepSeconds()).hasSize(3);
        assertThat(r.minStepSeconds()).isPositive();
        assertThat(r.tokensPerStep()).isEqualTo(16);
        assertThat(r.tokensPerSecond()).isCloseTo(16 * 3 / r.totalSeconds(), within(1e-9));
        assertThat(r.gflops()).isCloseTo(r.flopsPerStep() / r.secondsPerStep() / 1e9, within(1e-12));
        assertThat(r.flopsPerStep()).isEqualTo(TrainBench.flopsPerStep(c, 2, 8));
        assertThat(r.firstLoss()).isCloseTo(Math.log(c.vocabSize()), within(0.1));   // N(0, 0.02²) init: ~uniform
        assertThat(prof.steps()).isEqualTo(3);
        assertThat(prof.seconds(Op.OPTIMIZER)).isPositive();
        assertThat(log.toString()).contains("step 1/4 (warm-up)").contains("step 4/4:");
        // the same seed trains the same numbers
        TrainBench.Result again;
        try (Parallel par = new Parallel(1)) {
            again = TrainBench.run(c, 2, 8, 1, 3, 5, par, null, s -> { });
        }
        assertThat(again.lastLoss()).isEqualTo(r.lastLoss());
    }

    @Test
    void validateNamesTheOption() {
        ModelConfig c = tiny(false);
        assertThatThrownBy(() -> TrainBench.validate(c, "tiny", 0, 8, 2, 10))
                .isInstanceOf(SparsaException.UsageException.class).hasMessageContaining("--batch");
        assertThatThrownBy(() -> TrainBench.validate(c, "tiny", 1, 17, 2, 10))
                .hasMessageContaining("--seq 17 exceeds the context of tiny (16 positions)");
        assertThatThrownBy(() -> TrainBench.validate(c, "tiny", 1, 8, -1, 10)).hasMessageContaining("--warmup");
        assertThatThrownBy(() -> TrainBench.validate(c, "tiny", 1, 8, 2, 0)).hasMessageContaining("--steps");
        ModelConfig wide = new ModelConfig("llama", 32, 48, 2, 4, 2, 8, 1 << 20, 1 << 20, 1e-5f, 10000f, null, "silu",
                0f, false, false, 0, 0, 0);
        assertThatThrownBy(() -> TrainBench.validate(wide, "wide", 64, 4096, 2, 10))
                .hasMessageContaining("--batch 64 x --seq 4096 is too large");
        TrainBench.validate(c, "tiny", 1, 16, 0, 1);
    }

    @Test
    void machineProbesReadSomething() {
        assertThat(TrainBench.fp32PeakGflops(1, 20, 1)).isPositive().isFinite();
        double nominal = TrainBench.nominalPeakGflopsPerCore();
        assertThat(Double.isNaN(nominal) || nominal > 0).as("nominal " + nominal).isTrue();
        if (Files.isReadable(Path.of("/proc/self/status"))) {
            assertThat(TrainBench.peakRssBytes()).isGreaterThan(1L << 20);
        }
    }
}
