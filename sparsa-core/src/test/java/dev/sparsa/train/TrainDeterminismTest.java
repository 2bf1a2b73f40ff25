package dev.sparsa.train;

import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Three {@link Backprop#step} + {@link AdamW#step} iterations give bit-identical parameters, optimizer moments,
 * losses and gradient norms with 1, 2 and 3 threads (every kernel splits over outputs only and sums in a fixed
 * order). The shape is big enough that every parallel loop actually splits (rows·F = 9600 over grains of 4096, 60
 * rows over grains of 8, 4 heads, blocked attention at t = 20), with the L1 term and a distillation teacher on.
 */
class TrainDeterminismTest {
    static final int SEQS = 3;
    static final int T = 20;
    static final int STEPS = 3;

    record Run(List<int[]> params, List<int[]> moments, List<Double> numbers) {
    }

    @ParameterizedTest
    @ValueSource(strings = {"silu", "relu"})
    void threeStepsAreBitIdenticalForOneTwoAndThreeThreads(String act) {
        boolean relu = act.equals("relu");
        ModelConfig cfg = new ModelConfig(relu ? "qwen2" : "llama", 64, 160, 2, 4, 2, 16, 300, 64, 1e-5f, 10000f,
                null, act, 0f, relu, relu, 0, 0, 0);
        Run one = run(cfg, 1);
        for (int threads : new int[] {2, 3}) {
            Run other = run(cfg, threads);
            assertThat(other.numbers()).as("losses and grad norms, %d threads", threads).isEqualTo(one.numbers());
            for (int i = 0; i < one.params().size(); i++) {
                assertThat(other.params().get(i)).as("parameter %d bits, %d threads", i, threads)
                        .isEqualTo(one.params().get(i));
            }
            for (int i = 0; i < one.moments().size(); i++) {
                assertThat(other.moments().get(i)).as("moment %d bits, %d threads", i, threads)
                        .isEqualTo(one.moments().get(i));
            }
        }
        // and the steps did something: the loss (CE + KL sums, α = 0.5) went down
        List<Double> n = one.numbers();
        assertThat(n.get(0) + n.get(1)).isGreaterThan(n.get(3 * (STEPS - 1)) + n.get(3 * (STEPS - 1) + 1));
    }

    static Run run(ModelConfig cfg, int threads) {
        try (Arena arena = Arena.ofShared(); Parallel par = new Parallel(threads)) {
            LlamaParams p = LlamaParams.init(cfg, 0.05, 11, arena);
            int[] tokens = new SplittableRandom(12).ints((long) SEQS * (T + 1), 0, cfg.vocabSize()).toArray();
            float[] teacher = new Backprop(LlamaParams.init(cfg, 0.2, 13, arena), SEQS, T).forward(tokens, 0, par)
                    .clone();
            Backprop bp = new Backprop(p, SEQS, T);
            AdamW opt = new AdamW(p, AdamW.Config.of(0.1f));
            List<Double> numbers = new ArrayList<>();
            for (int s = 0; s < STEPS; s++) {
                p.zeroGrads();
                Backprop.Loss loss = bp.step(tokens, 0, 0.3f, teacher, 0.5f, 1f, par);
                numbers.add(loss.ceSum());
                numbers.add(loss.klSum());
                numbers.add(opt.step(3e-2f, 1f, par));
            }
            List<int[]> params = new ArrayList<>();
            List<int[]> moments = new ArrayList<>();
            for (int i = 0; i < p.params().size(); i++) {
                LlamaParams.Param q = p.params().get(i);
                int[] bits = new int[q.size()];
                for (int j = 0; j < bits.length; j++) {
                    bits[j] = Float.floatToRawIntBits(q.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, j));
                }
                params.add(bits);
                moments.add(bits(opt.m(i)));
                moments.add(bits(opt.v(i)));
            }
            return new Run(params, moments, numbers);
        }
    }

    static int[] bits(float[] a) {
        int[] b = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = Float.floatToRawIntBits(a[i]);
        }
        return b;
    }
}
