package dev.sparsa.train.method;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.experiment.cl.Flops;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.AdamW;
import dev.sparsa.train.Backprop;
import dev.sparsa.train.Continual;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.TrainContext;
import dev.sparsa.train.Trainer;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * SparCL on a tiny ReLU Llama: TDM starts from the largest magnitudes at density 1 − s and keeps that many active
 * through shrink-and-expand updates, masked weights are exactly 0 after every step, DGM's masked gradients are 0 before
 * the optimizer, the FLOP count is the masks' non-zeros × tokens, DDR's schedule, selection ties, bad options.
 */
class SparClTest {
    static final int T = 8;
    static final int SEQS = 2;

    @Test
    void masksHoldTheirDensityAndMaskedEntriesAreZero() {
        try (Arena arena = Arena.ofShared(); Parallel par = new Parallel(1)) {
            LlamaParams p = LlamaParams.init(ClTiny.CFG, 0.3, 5, arena);
            EvalWindows data = ClTiny.windows(3, 30, T);
            String gate = "model.layers.0.mlp.gate_proj.weight";
            float[] w0 = Clnp.values(p.param(gate));
            SparCl m = new SparCl(0.75, 3, 0.25, 1, 0.5, new double[]{0.2});
            m.startTask(new Continual.Task(0, 2, "one", p, data, par, new Trainer.Listener() {
            }));
            boolean[] mask = m.weightMask(gate);
            int keep = (int) Math.round(w0.length * 0.25);
            float minKept = Float.MAX_VALUE;
            float maxDropped = 0;
            int active = 0;
            for (int i = 0; i < mask.length; i++) {
                if (mask[i]) {
                    active++;
                    minKept = Math.min(minKept, Math.abs(w0[i]));
                } else {
                    maxDropped = Math.max(maxDropped, Math.abs(w0[i]));
                }
            }
            assertThat(active).isEqualTo(keep);
            assertThat(minKept).as("magnitude at the start").isGreaterThanOrEqualTo(maxDropped);
            assertThat(m.weightNonZeros(gate)).isEqualTo(keep);
            assertThat(m.weightNonZeros("model.embed_tokens.weight")).isEqualTo(-1);

            Backprop bp = new Backprop(p, SEQS, T);
            AdamW opt = new AdamW(p, AdamW.Config.of(0.1f));
            boolean changed = false;
            for (int s = 1; s <= 7; s++) {
                p.zeroGrads();
                Backprop.Loss loss = bp.step(ClTiny.batch(data, SEQS, T, s * 5), 0, 0f, null, 0f, 1f, par);
                TrainContext ctx = new TrainContext(s, 7, p, opt, bp, loss);
                m.beforeOptimizerStep(ctx);
                boolean update = s == 1 || s % 3 == 0;                          // the task's first step, every ΔT
                assertThat(m.gradientNonZeros(gate)).as("step %d", s).isEqualTo(update ? -1
                        : Math.round(0.5 * keep));
                boolean[] gm = m.gradientMask(gate);
                boolean[] wm = m.weightMask(gate);
                float[] g = p.param(gate).grad();
                int gk = 0;
                for (int i = 0; i < g.length; i++) {
                    if (!gm[i]) {
                        assertThat(g[i]).isZero();
                    } else {
                        gk++;
                        assertThat(wm[i]).as("gradients only of active weights").isTrue();
                    }
                }
                assertThat(gk).isEqualTo(Math.round(0.5 * keep));
                // FLOPs: every matrix's non-zeros × tokens, by hand from the masks
                long n = (long) SEQS * T;
                long hand = 0;
                for (String w : Flops.linears(ClTiny.CFG)) {
                    long size = Flops.size(ClTiny.CFG, w);
                    long nnz = count(m.weightMask(w));
                    hand += 2 * nnz * n + (update ? size : count(m.gradientMask(w))) * n;
                }
                hand += 3L * ClTiny.CFG.vocabSize() * ClTiny.CFG.hiddenSize() * n;
                hand += 3L * ClTiny.CFG.numLayers() * 2 * SEQS * ClTiny.CFG.numHeads() * ClTiny.CFG.headDim()
                        * (T * (T + 1) / 2);
                assertThat(Flops.trainStep(ClTiny.CFG, SEQS, T, m::weightNonZeros, m::gradientNonZeros))
                        .isEqualTo(hand);
                opt.step(0.01f, 1f, par);
                m.afterStep(ctx);
                float[] w = Clnp.values(p.param(gate));
                assertThat(count(wm)).as("density held").isEqualTo(keep);
                for (int i = 0; i < w.length; i++) {
                    if (!wm[i]) {
                        assertThat(w[i]).as("masked weight %d", i).isZero();
                    }
                }
                if (!java.util.Arrays.equals(wm, mask)) {
                    changed = true;
                }
            }
            assertThat(changed).as("shrink and expand change the mask").isTrue();
            // the state between tasks comes back whole: masks, counts, the step count, the diagnostics
            m.endTask(new Continual.Task(0, 2, "one", p, data, par, new Trainer.Listener() {
            }));
            SparCl back = new SparCl(0.75, 3, 0.25, 1, 0.5, new double[]{0.2});
            back.restore(m.state());
            for (String n : SparCl.linears(ClTiny.CFG)) {
                assertThat(back.weightMask(n)).as(n).containsExactly(m.weightMask(n));
                assertThat(back.gradientMask(n)).as(n).containsExactly(m.gradientMask(n));
                assertThat(back.weightNonZeros(n)).isEqualTo(m.weightNonZeros(n));
            }
            assertThat(back.state()).isEqualTo(m.state());
        }
    }

    @Test
    void maskBitsRoundTrip() {
        for (int n : new int[]{0, 1, 7, 8, 9, 61}) {
            boolean[] m = new boolean[n];
            for (int i = 0; i < n; i++) {
                m[i] = (i * 7 + n) % 3 == 0;
            }
            assertThat(SparCl.bits(SparCl.bits(m))).as("length %d", n).containsExactly(m);
        }
        assertThat(SparCl.bits(new boolean[]{true, false, false, true, false, false, false, false, true}))
                .isEqualTo("9:CQE=");                                          // 0b00001001, 0b00000001
    }

    static long count(boolean[] m) {
        long n = 0;
        for (boolean b : m) {
            n += b ? 1 : 0;
        }
        return n;
    }

    @Test
    void selectionAndRemovalSchedule() {
        float[] s = {3, 1, 2, 1, 5};
        assertThat(SparCl.top(s, null, 2)).containsExactly(true, false, false, false, true);
        assertThat(SparCl.bottom(s, null, 2)).containsExactly(false, true, false, true, false);   // ties: lower index
        assertThat(SparCl.bottom(s, new boolean[]{true, false, true, true, true}, 2))
                .containsExactly(false, false, true, true, false);
        SparCl m = new SparCl(0.5, 10, 0.1, 1, 0.8, new double[]{0.3, 0.1});
        assertThat(m.removeShare(0, 0)).isZero();
        assertThat(m.removeShare(0, 1)).isEqualTo(0.3);
        assertThat(m.removeShare(2, 2)).isEqualTo(0.1);
        assertThat(m.removeShare(2, 3)).isZero();
    }

    @Test
    void badOptionsAreUsageErrors() {
        assertThatThrownBy(() -> new SparCl(1, 10, 0.1, 1, 0.8, new double[0]))
                .isInstanceOf(SparsaException.UsageException.class).hasMessageContaining("--sparsity");
        assertThatThrownBy(() -> new SparCl(0.5, 0, 0.1, 1, 0.8, new double[0])).hasMessageContaining("--update-every");
        assertThatThrownBy(() -> new SparCl(0.5, 1, 1.1, 1, 0.8, new double[0])).hasMessageContaining("--update-share");
        assertThatThrownBy(() -> new SparCl(0.5, 1, 0.1, 1, 0, new double[0])).hasMessageContaining("--grad-keep");
        assertThatThrownBy(() -> new SparCl(0.5, 1, 0.1, 1, 0.5, new double[]{1})).hasMessageContaining("--removal");
    }
}
