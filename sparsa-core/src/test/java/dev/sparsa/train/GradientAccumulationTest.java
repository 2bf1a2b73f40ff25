package dev.sparsa.train;

import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Gradient accumulation as {@link Trainer} does it: two micro-batches of two rows, each stepped with
 * {@code gradScale = 1/2} into the same gradient buffers, give the gradients of one batch of four rows (CE, the L1
 * term on the FFN activations and the distillation KL are all means over rows), up to float summation order.
 */
class GradientAccumulationTest {
    static final int ROWS = 4;
    static final int T = 12;

    @Test
    void twoHalfBatchesAccumulateToTheFullBatchGradient() {
        ModelConfig cfg = new ModelConfig("qwen2", 48, 96, 2, 4, 2, 12, 200, 32, 1e-5f, 10000f,
                null, "relu", 0f, true, true, 0, 0, 0);
        try (Arena arena = Arena.ofShared(); Parallel par = new Parallel(2)) {
            int[] tokens = new SplittableRandom(5).ints((long) ROWS * (T + 1), 0, cfg.vocabSize()).toArray();
            float[] teacher = new Backprop(LlamaParams.init(cfg, 0.2, 13, arena), ROWS, T).forward(tokens, 0, par)
                    .clone();
            int half = ROWS / 2;
            int logitsPerRow = T * cfg.vocabSize();

            LlamaParams full = LlamaParams.init(cfg, 0.05, 11, arena);
            full.zeroGrads();
            Backprop.Loss whole = new Backprop(full, ROWS, T).step(tokens, 0, 0.3f, teacher, 0.5f, 1f, par);

            LlamaParams acc = LlamaParams.init(cfg, 0.05, 11, arena);
            acc.zeroGrads();
            Backprop bp = new Backprop(acc, half, T);
            double ce = 0;
            for (int mb = 0; mb < 2; mb++) {
                int[] part = java.util.Arrays.copyOfRange(tokens, mb * half * (T + 1), (mb + 1) * half * (T + 1));
                float[] tl = java.util.Arrays.copyOfRange(teacher, mb * half * logitsPerRow,
                        (mb + 1) * half * logitsPerRow);
                ce += bp.step(part, 0, 0.3f, tl, 0.5f, 0.5f, par).ce() / 2;
            }
            assertThat(ce).isCloseTo(whole.ce(), org.assertj.core.data.Offset.offset(1e-5));

            double maxRel = 0;
            for (int i = 0; i < full.params().size(); i++) {
                float[] a = full.params().get(i).grad();
                float[] b = acc.params().get(i).grad();
                double norm = 0;
                double diff = 0;
                for (int j = 0; j < a.length; j++) {
                    norm += (double) a[j] * a[j];
                    diff += ((double) a[j] - b[j]) * ((double) a[j] - b[j]);
                }
                assertThat(norm).as("gradient of %s is not zero", full.params().get(i).name()).isGreaterThan(0);
                maxRel = Math.max(maxRel, Math.sqrt(diff / norm));
            }
            // float sums in another order: ~1e-7 relative per tensor; a missing 1/2 or a dropped term is >= 1e-1
            assertThat(maxRel).isLessThan(1e-5);
        }
    }
}
