package dev.sparsa.train.method;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.AdamW;
import dev.sparsa.train.Backprop;
import dev.sparsa.train.Continual;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.TrainContext;
import dev.sparsa.train.Trainer;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * CLNP on a tiny ReLU Llama: after task 1 the neurons are split into claimed and free (free ones have a zero down
 * column), task 2's training leaves every frozen weight (claimed neurons' rows and columns, attention, embeddings,
 * norms) bit-identical despite weight decay, while free neurons do move; the masked view of a task gives exactly the
 * logits of the full model with the other neurons' h set to 0; bad options are one-line errors.
 */
class ClnpTest {
    static final int T = 8;
    static final int SEQS = 2;
    static final Trainer.Listener QUIET = new Trainer.Listener() {
    };

    static void train(Clnp m, LlamaParams p, EvalWindows data, int steps, Parallel par) {
        Backprop bp = new Backprop(p, SEQS, T);
        AdamW opt = new AdamW(p, AdamW.Config.of(0.1f));
        for (int s = 1; s <= steps; s++) {
            p.zeroGrads();
            Backprop.Loss loss = bp.step(ClTiny.batch(data, SEQS, T, s * 7), 0, m.l1(s), null, 0f, 1f, par);
            TrainContext ctx = new TrainContext(s, steps, p, opt, bp, loss);
            m.beforeOptimizerStep(ctx);
            opt.step(0.01f, 1f, par);
            m.afterStep(ctx);
        }
    }

    static float[] values(LlamaParams p, String n) {
        return Clnp.values(p.param(n));
    }

    @Test
    void frozenWeightsStayBitIdenticalAndFreeNeuronsTrain() {
        try (Arena arena = Arena.ofShared(); Parallel par = new Parallel(1)) {
            LlamaParams p = LlamaParams.init(ClTiny.CFG, 0.3, 5, arena);
            EvalWindows t1 = ClTiny.windows(1, 30, T);
            EvalWindows t2 = ClTiny.windows(2, 30, T);
            Clnp m = new Clnp(0.01f, 0.05, 0.5, 0.02, 9);
            Continual.Task task1 = new Continual.Task(0, 2, "one", p, t1, par, QUIET);
            m.startTask(task1);
            train(m, p, t1, 10, par);
            m.endTask(task1);
            int[][] own = m.owners();
            int f = ClTiny.CFG.intermediateSize();
            int d = ClTiny.CFG.hiddenSize();
            int claimed = 0;
            for (int l = 0; l < own.length; l++) {
                float[] down = values(p, "model.layers." + l + ".mlp.down_proj.weight");
                int inLayer = 0;
                for (int i = 0; i < f; i++) {
                    if (own[l][i] < 0) {
                        for (int r = 0; r < d; r++) {
                            assertThat(down[r * f + i]).as("free neuron %d/%d contributes 0", l, i).isZero();
                        }
                    } else {
                        inLayer++;
                    }
                }
                assertThat(inLayer).as("at most freezeRatio of the layer claimed").isLessThanOrEqualTo(f / 2);
                claimed += inLayer;
            }
            assertThat(m.perTask().get("claimedNeurons")[0]).isEqualTo(claimed);
            assertThat(m.perTask().get("freeNeurons")[0]).isEqualTo(own.length * f - claimed);
            assertThat(m.perTask().get("bitsPerByteAfterPrune")[0])
                    .isLessThanOrEqualTo(m.perTask().get("bitsPerByteBeforePrune")[0] + 0.05 + 1e-9);

            float[][] before = new float[p.params().size()][];
            for (int k = 0; k < before.length; k++) {
                before[k] = Clnp.values(p.params().get(k));
            }
            Continual.Task task2 = new Continual.Task(1, 2, "two", p, t2, par, QUIET);
            m.startTask(task2);
            train(m, p, t2, 6, par);
            boolean freeMoved = false;
            for (int k = 0; k < before.length; k++) {
                LlamaParams.Param q = p.params().get(k);
                float[] now = Clnp.values(q);
                int l = Clnp.layerOf(q.name());
                for (int i = 0; i < now.length; i++) {
                    boolean frozen;
                    if (l < 0 || !q.name().contains(".mlp.")) {
                        frozen = true;
                    } else if (q.name().endsWith("down_proj.weight")) {
                        frozen = own[l][i % f] >= 0;
                    } else {
                        frozen = own[l][i / d] >= 0;
                    }
                    if (frozen) {
                        assertThat(Float.floatToRawIntBits(now[i])).as("%s[%d] frozen", q.name(), i)
                                .isEqualTo(Float.floatToRawIntBits(before[k][i]));
                    } else if (now[i] != before[k][i]) {
                        freeMoved = true;
                    }
                }
            }
            assertThat(freeMoved).as("free neurons train on task 2").isTrue();
            m.endTask(task2);
            // task 1's view is its own network: identical to what it was after task 1's pruning
            assertThat(m.perTask().get("reusedShare")[1]).isBetween(0.0, 1.0);
            // without the task's identity: all claimed neurons = the weights as they are (free ones give 0) = the
            // last task's own network; task 1's own network is it only when task 2 claimed nothing
            int[] ids = {1, 4, 2, 7, 3, 9, 5};
            float[] agnostic = logits(m.agnosticWeights(p, arena), ids, par);
            assertThat(agnostic).containsExactly(logits(p.weights(), ids, par));
            assertThat(agnostic).containsExactly(logits(m.weightsFor(1, p, arena), ids, par));
            float[] first = logits(m.weightsFor(0, p, arena), ids, par);
            if (m.perTask().get("claimedNeurons")[1] == 0) {
                assertThat(agnostic).containsExactly(first);
            } else {
                assertThat(agnostic).isNotEqualTo(first);
            }
            // the state between tasks comes back whole
            Clnp back = new Clnp(0.01f, 0.05, 0.5, 0.02, 9);
            back.restore(m.state());
            assertThat(back.owners()).isDeepEqualTo(m.owners());
            assertThat(back.perTask().keySet()).containsExactlyElementsOf(m.perTask().keySet());
            m.perTask().forEach((k, v) -> assertThat(back.perTask().get(k)).containsExactly(v));
        }
    }

    static float[] logits(LlamaWeights w, int[] ids, Parallel par) {
        LlamaModel mo = LlamaModel.of(w, DenseFfn::new);
        return mo.forward(mo.newCache(ids.length), ids, true, ActivationTap.NONE, par).clone();
    }

    @Test
    void maskedNeuronsContributeExactlyZero() {
        try (Arena arena = Arena.ofShared(); Parallel par = new Parallel(1)) {
            LlamaParams p = LlamaParams.init(ClTiny.CFG, 0.3, 6, arena);
            int f = ClTiny.CFG.intermediateSize();
            boolean[][] keep = new boolean[ClTiny.CFG.numLayers()][f];
            for (int l = 0; l < keep.length; l++) {
                for (int i = 0; i < f; i++) {
                    keep[l][i] = (i * 5 + l) % 3 != 0;
                }
            }
            LlamaWeights masked = Clnp.masked(p, keep, arena);
            int[] ids = {1, 4, 2, 7, 3, 9, 5};
            LlamaModel a = LlamaModel.of(masked, DenseFfn::new);
            float[] la = a.forward(a.newCache(ids.length), ids, true, ActivationTap.NONE, par).clone();
            LlamaModel b = LlamaModel.of(p.weights(), DenseFfn::new);
            ActivationTap zero = (layer, pos, x, xo, gate, act, h, off) -> {
                for (int i = 0; i < f; i++) {
                    if (!keep[layer][i]) {
                        h[off + i] = 0f;                                        // the reference: h_i = 0
                    }
                }
            };
            float[] lb = b.forward(b.newCache(ids.length), ids, true, zero, par).clone();
            assertThat(la).containsExactly(lb);
            float[] lc = b.forward(b.newCache(ids.length), ids, true, ActivationTap.NONE, par);
            assertThat(lc).isNotEqualTo(la);                                   // the mask does something
            // the copy leaves p untouched
            MemorySegment down = p.param("model.layers.0.mlp.down_proj.weight").data();
            assertThat(down.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 0)).isNotZero();
        }
    }

    @Test
    void badOptionsAreUsageErrors() {
        assertThatThrownBy(() -> new Clnp(0.01f, 0.01, 1.5, 0.02, 1)).isInstanceOf(SparsaException.UsageException.class)
                .hasMessageContaining("--freeze-ratio must be in [0, 1]");
        assertThatThrownBy(() -> new Clnp(0.01f, 0.01, -0.1, 0.02, 1)).hasMessageContaining("--freeze-ratio");
        assertThatThrownBy(() -> new Clnp(0.01f, -1, 0.5, 0.02, 1)).hasMessageContaining("--graceful");
        assertThatThrownBy(() -> new Clnp(-1f, 0.01, 0.5, 0.02, 1)).hasMessageContaining("--lambda");
    }
}
