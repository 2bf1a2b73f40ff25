package dev.sparsa.eval;

import dev.sparsa.tensor.Parallel;

/**
 * Next-token cross-entropy of a window from its logits: {@code nll_t = log Σ_v exp(z_t,v) − z_t,y} with
 * {@code y = ids[t+1]} (log-softmax, Goodfellow et al. §6.2.2.3), float logits, double accumulation, the row max
 * subtracted before exp. Rows run in parallel; each writes its own slot, so the values do not depend on the
 * thread count.
 */
public final class NextTokenLoss {
    private NextTokenLoss() {
    }

    /**
     * {@code out[t]} = nll of token {@code t+1} given row {@code t} of {@code logits} (row-major, {@code len × vocab}),
     * for t in 0..len−2.
     */
    public static void nll(float[] logits, int vocab, int[] ids, int len, double[] out, Parallel par) {
        par.forRange(len - 1, 8, (from, to) -> {
            for (int t = from; t < to; t++) {
                out[t] = rowNll(logits, t * vocab, vocab, ids[t + 1]);
            }
        });
    }

    /** −log softmax(z)[target] for the row {@code z = logits[off .. off + vocab)}. */
    public static double rowNll(float[] logits, int off, int vocab, int target) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[off + i]);
        }
        double s = 0;
        for (int i = 0; i < vocab; i++) {
            s += Math.exp((double) logits[off + i] - max);   // Σ exp(z_i − max) ∈ [1, V]
        }
        return Math.log(s) - ((double) logits[off + target] - max);   // z_y − max first: exact, whatever |max|
    }
}
