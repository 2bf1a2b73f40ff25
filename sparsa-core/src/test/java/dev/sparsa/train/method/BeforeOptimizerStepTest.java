package dev.sparsa.train.method;

import dev.sparsa.spec.ModelConfig;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.Method;
import dev.sparsa.train.TrainContext;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The trainer calls {@link Method#beforeOptimizerStep} after the backward and before AdamW: a method that zeroes every
 * gradient there leaves the norm gains (no weight decay) exactly at their start through a run, while without it they
 * train.
 */
class BeforeOptimizerStepTest {

    static Method method(boolean mask) {
        return new Method() {
            @Override
            public String name() {
                return mask ? "masked" : "plain";
            }

            @Override
            public ModelConfig studentConfig(ModelConfig start) {
                return start;
            }

            @Override
            public void beforeOptimizerStep(TrainContext ctx) {
                if (mask) {
                    for (LlamaParams.Param p : ctx.params().params()) {
                        java.util.Arrays.fill(p.grad(), 0f);
                    }
                }
            }
        };
    }

    @Test
    void gradientsZeroedBeforeTheStepMoveNothing() {
        int[][] start;
        try (Arena arena = Arena.ofShared()) {
            LlamaParams p = LlamaParams.init(MethodsOnTrainerTest.CFG, 0.2, 4, arena);
            start = new int[p.params().size()][];
            for (int i = 0; i < start.length; i++) {
                float[] v = Clnp.values(p.params().get(i));
                start[i] = new int[v.length];
                for (int k = 0; k < v.length; k++) {
                    start[i][k] = Float.floatToRawIntBits(v[k]);
                }
            }
        }
        MethodsOnTrainerTest.Done masked = MethodsOnTrainerTest.train(p -> method(true), null, false, 0);
        MethodsOnTrainerTest.Done plain = MethodsOnTrainerTest.train(p -> method(false), null, false, 0);
        int norm = -1;
        try (Arena arena = Arena.ofShared()) {
            LlamaParams p = LlamaParams.init(MethodsOnTrainerTest.CFG, 0.2, 4, arena);
            for (int i = 0; i < p.params().size(); i++) {
                if (p.params().get(i).name().endsWith("norm.weight")) {
                    norm = i;
                    break;
                }
            }
        }
        assertThat(norm).isNotNegative();
        assertThat(masked.bits()[norm]).isEqualTo(start[norm]);
        assertThat(plain.bits()[norm]).isNotEqualTo(start[norm]);
    }
}
