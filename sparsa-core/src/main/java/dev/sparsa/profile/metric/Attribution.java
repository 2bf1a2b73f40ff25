package dev.sparsa.profile.metric;

import dev.sparsa.SparsaException;

import java.util.Arrays;
import java.util.List;

/**
 * Attribution scores of FFN neurons (Song et al. 2024, "Achieving Sparse Activation in Small Language Models";
 * MLSys 2026 "Attribution-based Sparse Activation in Large Language Models"). For one token and one layer, with x_i
 * the neuron's output (here h_i = act(gate_i)·up_i, what the down projection reads; the paper's "MLP neuron output")
 * and F the model output whose change is attributed (here F = −L, the log-likelihood of the labels):
 * <pre>
 *   magnitude     |x_i|                                              the output-magnitude baseline
 *   gxo           x_i · ∂F/∂x_i                                      Gradient × Output, first-order ΔF of deactivating i
 *   snip          |x_i · ∂F/∂x_i|                                    SNIP
 *   cor-gxo       x_i · ∂F/∂x_i + ½·|x_i|·‖∂F/∂X‖₂                   GxO plus the corrective term C(i) (their eq. for C)
 * </pre>
 * where ‖∂F/∂X‖₂ is the norm of the gradient over the layer's F neurons: C(i) = ½ of the upper bound |x_i|·‖∂F/∂X‖₂ of
 * the error that deactivating i causes in the later layers' attributions (their Theorem; the errors follow a
 * truncated normal, hence ½). A neuron with a higher score is kept; sparse activation at sparsity s deactivates the
 * ⌊s·F⌋ lowest of each token and layer, every layer at once from the dense pass (one shot), as their code does. Since
 * the callers have g = ∂L/∂x, gxo = −x·g.
 */
public final class Attribution {
    private Attribution() {
    }

    /** The scores, by their names in the paper's code. */
    public enum Score {
        MAGNITUDE("magnitude"), GXO("gxo"), SNIP("snip"), COR_GXO("cor-gxo");

        private final String id;

        Score(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }

        public static Score of(String s) {
            for (Score x : values()) {
                if (x.id.equals(s)) {
                    return x;
                }
            }
            throw new SparsaException.UsageException("unknown attribution score '" + s + "' ("
                    + String.join(", ", Arrays.stream(values()).map(Score::id).toList()) + ")");
        }
    }

    public static final List<Score> ALL = List.of(Score.values());

    /**
     * Scores of one token: {@code h[off .. off+f)} and {@code g[off .. off+f)} = ∂L/∂h (L = −F) into
     * {@code out[outOff ..]}.
     */
    public static void scores(Score s, float[] h, float[] g, int off, int f, float[] out, int outOff) {
        double norm = 0;
        if (s == Score.COR_GXO) {
            for (int i = 0; i < f; i++) {
                norm += (double) g[off + i] * g[off + i];
            }
            norm = Math.sqrt(norm);                                    // ‖∂F/∂X‖₂ (= ‖∂L/∂X‖₂)
        }
        for (int i = 0; i < f; i++) {
            double x = h[off + i];
            double gxo = -x * g[off + i];                              // x_i · ∂F/∂x_i, F = −L
            out[outOff + i] = (float) switch (s) {
                case MAGNITUDE -> Math.abs(x);
                case GXO -> gxo;
                case SNIP -> Math.abs(gxo);
                case COR_GXO -> gxo + 0.5 * Math.abs(x) * norm;       // GxO + C(i)
            };
        }
    }

    /**
     * Scores of one token when the model output is a vector, a sentence embedding e ∈ R^D (no labels, no better
     * direction): deactivating neuron i moves e by a_i = −h_i·∂e/∂h_i to first order, and since e is unit-norm the
     * cosine to the dense embedding drops by ½‖a_i‖² to second order, so the first-order attribution is the size of
     * the vector GxO ‖h_i·∂e/∂h_i‖ ({@code snip}); a signed GxO has no counterpart (refused). {@code cor-gxo} adds the
     * corrective term with the Jacobian's Frobenius norm over the layer's neurons in place of ‖∂F/∂X‖₂:
     * <pre>
     *   magnitude  |h_i|        snip  |h_i|·√sq_i        cor-gxo  |h_i|·√sq_i + ½·|h_i|·√jf
     * </pre>
     * with {@code sq[off + i]} ≈ ‖∂e/∂h_i‖² and {@code jf} ≈ Σ_i ‖∂e/∂h_i‖² (the callers' estimates).
     */
    public static void vectorScores(Score s, float[] h, float[] sq, int off, int f, double jf, float[] out,
                                    int outOff) {
        if (s == Score.GXO) {
            throw new SparsaException.UsageException("gxo is signed, and an embedding has no better direction: use "
                    + "snip (its size) or cor-gxo");
        }
        double c = 0.5 * Math.sqrt(Math.max(jf, 0));
        for (int i = 0; i < f; i++) {
            double x = Math.abs(h[off + i]);
            double snip = x * Math.sqrt(Math.max(sq[off + i], 0f));              // ‖h_i·∂e/∂h_i‖
            out[outOff + i] = (float) switch (s) {
                case MAGNITUDE -> x;
                case SNIP -> snip;
                case COR_GXO -> snip + c * x;                                    // + ½|h_i|·‖∂e/∂H‖_F
                case GXO -> throw new AssertionError();
            };
        }
    }

    /**
     * Which entries of {@code score[off .. off+f)} survive sparsity s: the ⌊s·f⌋ lowest are deactivated (ties: the
     * lower index first), written into {@code keep[off ..]}; returns how many were deactivated.
     */
    public static int keepTop(float[] score, int off, int f, double s, boolean[] keep) {
        int drop = (int) Math.floor(s * f);
        long[] keys = new long[f];
        for (int i = 0; i < f; i++) {
            int b = Float.floatToIntBits(score[off + i]);
            int k = b >= 0 ? b : b ^ 0x7FFFFFFF;                       // orders as the floats
            keys[i] = (long) k << 32 | i;
        }
        Arrays.sort(keys);
        Arrays.fill(keep, off, off + f, true);
        for (int j = 0; j < drop; j++) {
            keep[off + (int) keys[j]] = false;
        }
        return drop;
    }
}
