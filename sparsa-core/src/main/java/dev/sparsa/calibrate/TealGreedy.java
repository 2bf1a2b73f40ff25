package dev.sparsa.calibrate;

import dev.sparsa.eval.EvalWindows;
import dev.sparsa.infer.SparseStats;
import dev.sparsa.infer.TealAttention;
import dev.sparsa.infer.TealFfn;
import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.llama.LlamaBlock;
import dev.sparsa.model.llama.LlamaState;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.model.llama.Rope;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * TEAL's block-wise greedy sparsity allocation (Liu et al. 2024, Algorithm 1; FasterDecoding/TEAL teal/greedyopt.py).
 * For each block, on the dense model's inputs X of that block and its dense output Y:
 * <pre>
 *   p_i = 0 for the seven projections; step_i = α / w_i (w: parameters relative to W_q)
 *   while Σ w_i p_i / Σ w_i &lt; target:
 *       for each i with p_i &lt; 1: E_i = error(Block_{p + step_i e_i}(X), Y)
 *       p_{i*} += step_{i*} for i* = argmin E_i
 * </pre>
 * where {@code Block_p} is the block with TEAL thresholds at the sparsities p (each the p-quantile of its input's
 * dense magnitude distribution) and the error is TEAL's: {@code mean_{b,j} ‖Y[b, t ≥ 3T/4, j] − Ŷ[b, t ≥ 3T/4, j]‖₂}
 * over sequences b and hidden units j, the norm over the last quarter of the positions. Each step raises the block's
 * effective sparsity by α / Σ w, so the allocation ends within one step above the target.
 */
final class TealGreedy {
    private static final double LAST_FRACTION = 0.25;

    private final LlamaWeights w;
    private final Histogram[][] h;
    private final Parallel par;
    private final Consumer<String> log;

    TealGreedy(LlamaWeights w, Histogram[][] h, Parallel par, Consumer<String> log) {
        this.w = w;
        this.h = h;
        this.par = par;
        this.log = log;
    }

    /** Per layer the sparsity of each projection's input (by {@link SparseStats.Site}). */
    List<double[]> allocate(EvalWindows windows, double target, int tokens, double alpha) {
        ModelConfig cfg = w.config();
        int ctx = windows.contextLength();
        int n = windows.stream().size();
        int t = Math.min(ctx, Math.min(n, Math.max(2, tokens)));
        int seqs = Math.max(1, Math.min(Math.max(1, tokens / t), n / ctx));
        int rows = seqs * t;
        int[] ids = new int[rows];
        for (int b = 0; b < seqs; b++) {                                    // the first t tokens of each window
            int[] seq = new int[t];
            windows.stream().copyIds(b * ctx, t, seq);
            System.arraycopy(seq, 0, ids, b * t, t);
        }
        Activation act = Activation.of(cfg.hiddenAct(), cfg.fatreluThreshold());
        int sites = SparseStats.Site.values().length;
        float[] zero = new float[sites];
        TealFfn probe = new TealFfn(w.layers().get(0).ffn(), act, zero, null);
        LlamaState st = LlamaState.forInference(cfg, probe, rows);
        LlamaBlock.Rows r = new LlamaBlock.Rows(seqs, t, 0);
        float[] invFreq = Rope.invFreq(cfg);
        LlamaBlock.embed(w, ids, 0, rows, st.x);
        double[] weights = Calibrator.projectionWeights(cfg);
        int d = cfg.hiddenSize();
        List<double[]> out = new ArrayList<>();
        for (int l = 0; l < cfg.numLayers(); l++) {
            long t0 = System.nanoTime();
            LlamaWeights.Layer ly = w.layers().get(l);
            float[] xIn = Arrays.copyOf(st.x, rows * d);
            LlamaBlock.layer(w, l, new DenseFfn(ly.ffn(), act), null, st, r, null, invFreq, ActivationTap.NONE,
                    par);
            float[] yDense = Arrays.copyOf(st.x, rows * d);
            TealFfn ffn = l == 0 ? probe : new TealFfn(ly.ffn(), act, zero, null);
            TealAttention attn = new TealAttention(ly, zero, null);
            double[] p = new double[sites];
            int steps = 0;
            double err = 0;
            while (Calibrator.effective(p, weights) < target) {
                int best = -1;
                double bestErr = Double.MAX_VALUE;
                for (int i = 0; i < sites; i++) {
                    if (p[i] >= 1) {
                        continue;
                    }
                    double[] trial = p.clone();
                    trial[i] += alpha / weights[i];                         // step_i = α / w_i
                    float[] th = Calibrator.thresholds(h[l], trial);
                    System.arraycopy(xIn, 0, st.x, 0, rows * d);
                    LlamaBlock.layer(w, l, ffn.withThresholds(th), attn.withThresholds(th), st, r, null, invFreq,
                            ActivationTap.NONE, par);
                    double e = error(st.x, yDense, seqs, t, d);
                    if (e < bestErr) {
                        bestErr = e;
                        best = i;
                    }
                }
                if (best < 0) {
                    break;                                                 // every projection fully sparse
                }
                p[best] += alpha / weights[best];
                err = bestErr;
                steps++;
            }
            for (int i = 0; i < sites; i++) {
                p[i] = Math.min(1, p[i]);
            }
            out.add(p);
            System.arraycopy(yDense, 0, st.x, 0, rows * d);                  // the next block sees dense inputs
            log.accept(String.format("calibrate: TEAL greedy layer %d: %d steps, error %.4g, sparsity q %.2f k %.2f "
                            + "v %.2f o %.2f gate %.2f up %.2f down %.2f (effective %.3f), %.1f s", l, steps, err,
                    p[0], p[1], p[2], p[3], p[4], p[5], p[6], Calibrator.effective(p, weights),
                    (System.nanoTime() - t0) / 1e9));
        }
        return out;
    }

    /** TEAL's activation error: the mean over (sequence, hidden unit) of the L2 norm over the last positions. */
    static double error(float[] y, float[] ref, int seqs, int t, int d) {
        int start = (int) (t * (1 - LAST_FRACTION));
        double sum = 0;
        for (int b = 0; b < seqs; b++) {
            for (int j = 0; j < d; j++) {
                double ss = 0;
                for (int p = start; p < t; p++) {
                    double diff = y[(b * t + p) * d + j] - ref[(b * t + p) * d + j];
                    ss += diff * diff;
                }
                sum += Math.sqrt(ss);
            }
        }
        return sum / ((double) seqs * d);
    }
}
