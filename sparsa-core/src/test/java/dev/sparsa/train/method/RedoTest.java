package dev.sparsa.train.method;

import dev.sparsa.SparsaException;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.train.AdamW;
import dev.sparsa.train.LlamaParams;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * ReDo on a hand-made layer: h of 2 tokens × 3 neurons = [[0, 1, 2], [0, 3, 2]] gives E|h| = (0, 2, 2), mean 4/3,
 * s = (0, 1.5, 1.5): at τ = 0 exactly neuron 0 is dormant, and exactly its gate row, up row (re-drawn), down column
 * (zeroed) and their Adam moments (zeroed) change; at τ = 0.025 a nearly silent neuron joins; nothing else moves.
 */
class RedoTest {
    static final ModelConfig CFG = new ModelConfig("llama", 8, 3, 1, 2, 1, 4, 11, 16, 1e-5f, 10000f, null, "relu",
            0f, false, false, 0, 0, 0);

    @Test
    void scoresAreNormalizedMeanMagnitudes() {
        float[] h = {0, 1, 2, 0, -3, 2};
        assertThat(Redo.scores(h, 2, 3)).containsExactly(new double[]{0, 1.5, 1.5}, within(1e-12));
        assertThat(Redo.scores(new float[6], 2, 3)).containsExactly(0, 0, 0);
    }

    @Test
    void recyclesExactlyTheDormantNeurons() {
        try (Arena arena = Arena.ofConfined()) {
            LlamaParams p = LlamaParams.init(CFG, 0.5, 3, arena);
            AdamW opt = new AdamW(p, AdamW.Config.of(0f));
            for (int i = 0; i < p.params().size(); i++) {
                Arrays.fill(opt.m(i), 1f);
                Arrays.fill(opt.v(i), 2f);
            }
            float[][] before = snapshot(p);
            Redo redo = new Redo(5, 0, 0.02, 42);
            int n = redo.recycle(p, opt, 0, new float[]{0, 1, 2, 0, 3, 2}, 2, 10);
            assertThat(n).isEqualTo(1);
            float[][] after = snapshot(p);
            int gate = index(p, "gate_proj");
            int up = index(p, "up_proj");
            int down = index(p, "down_proj");
            int d = CFG.hiddenSize();
            int f = CFG.intermediateSize();
            for (int t = 0; t < after.length; t++) {
                for (int k = 0; k < after[t].length; k++) {
                    boolean rowOf0 = (t == gate || t == up) && k < d;        // row 0 of [F, D]
                    boolean colOf0 = t == down && k % f == 0;                // column 0 of [D, F]
                    if (rowOf0) {
                        assertThat(after[t][k]).as("re-drawn %d[%d]", t, k).isNotEqualTo(before[t][k])
                                .isBetween(-0.02f * 6, 0.02f * 6);           // from N(0, 0.02²), not the old N(0, 0.5²)
                        assertThat(opt.m(t)[k]).isZero();
                        assertThat(opt.v(t)[k]).isZero();
                    } else if (colOf0) {
                        assertThat(after[t][k]).as("outgoing %d[%d]", t, k).isZero();
                        assertThat(opt.m(t)[k]).isZero();
                        assertThat(opt.v(t)[k]).isZero();
                    } else {
                        assertThat(after[t][k]).as("untouched %d[%d]", t, k).isEqualTo(before[t][k]);
                        assertThat(opt.m(t)[k]).isEqualTo(1f);
                        assertThat(opt.v(t)[k]).isEqualTo(2f);
                    }
                }
            }
            // the same step and layer draw the same values again (a resumed run recycles alike)
            LlamaParams q = LlamaParams.init(CFG, 0.5, 3, arena);
            new Redo(5, 0, 0.02, 42).recycle(q, new AdamW(q, AdamW.Config.of(0f)), 0, new float[]{0, 1, 2, 0, 3, 2},
                    2, 10);
            assertThat(snapshot(q)[gate]).isEqualTo(after[gate]);
            // τ = 0.025: s = (0, 0.0223, 2.98): neurons 0 and 1
            assertThat(new Redo(5, 0.025, 0.02, 42).recycle(p, opt, 0, new float[]{0, 0.01f, 2, 0, 0.02f, 2}, 2, 15))
                    .isEqualTo(2);
        }
    }

    @Test
    void badOptionsAreUsageErrors() {
        assertThatThrownBy(() -> new Redo(5, 1.5, 0.02, 1)).isInstanceOf(SparsaException.UsageException.class)
                .hasMessage("τ (the dormant threshold) must be in [0, 1], got 1.5");
        assertThatThrownBy(() -> new Redo(5, -0.1, 0.02, 1)).hasMessageContaining("[0, 1]");
        assertThatThrownBy(() -> new Redo(0, 0.1, 0.02, 1)).hasMessageContaining("--redo-every must be >= 1");
    }

    static int index(LlamaParams p, String what) {
        for (int i = 0; i < p.params().size(); i++) {
            if (p.params().get(i).name().contains(what)) {
                return i;
            }
        }
        throw new AssertionError(what);
    }

    static float[][] snapshot(LlamaParams p) {
        float[][] s = new float[p.params().size()][];
        for (int i = 0; i < s.length; i++) {
            LlamaParams.Param q = p.params().get(i);
            s[i] = new float[q.size()];
            for (int k = 0; k < q.size(); k++) {
                s[i][k] = q.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, k);
            }
        }
        return s;
    }
}
