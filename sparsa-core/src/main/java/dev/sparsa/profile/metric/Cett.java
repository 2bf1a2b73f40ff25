package dev.sparsa.profile.metric;

import java.util.Arrays;
import java.util.List;

/**
 * CETT (ReLU² Wins; DESIGN.md §4). Neuron i's output magnitude is m_i = |h_i|·‖d_i‖₂; for a threshold ε the
 * cumulative error of tail truncation is CETT(ε) = ‖Σ_{i: m_i &lt; ε} h_i d_i‖₂ / ‖Σ_i h_i d_i‖₂.
 *
 * <p>{@link #scan} sorts one token's m ascending and computes CETT after truncating the k smallest, for every
 * k = 0..F, in O(F·D). Thresholds can only separate distinct magnitudes, so with ties only the k at the end of a
 * run of equal m are reachable. The <em>per-token</em> sparsity for target c is k/F with k the largest reachable
 * k whose CETT ≤ c (an exhaustive scan, so it is exact even where CETT is not monotone in k). The
 * <em>per-layer</em> ε_ℓ(c) is the ε found by bisection where the mean CETT over calibration tokens crosses c.
 * A token with Σ h_i d_i = 0 has CETT 0 for every ε (nothing to lose), so its sparsity is 1.
 */
public final class Cett {
    private Cett() {
    }

    /**
     * One token's scan.
     *
     * @param sortedM m ascending, length F
     * @param cett    cett[k] = CETT after removing the k smallest m, length F + 1 (cett[0] = 0, cett[F] = 1)
     */
    public record Scan(float[] sortedM, float[] cett) {

        public int f() {
            return sortedM.length;
        }

        /** Whether a threshold can remove exactly the k smallest (k at a boundary between distinct m). */
        public boolean reachable(int k) {
            return k == 0 || k == sortedM.length || sortedM[k - 1] < sortedM[k];
        }

        /** The largest reachable k with cett[k] ≤ c. */
        public int largestK(double c) {
            for (int k = sortedM.length; k > 0; k--) {
                if (cett[k] <= c && reachable(k)) {
                    return k;
                }
            }
            return 0;
        }

        /** Per-token CETT sparsity at target c. */
        public double sparsity(double c) {
            return (double) largestK(c) / sortedM.length;
        }

        /** Number of neurons with m_i &lt; ε. */
        public int countBelow(double eps) {
            int lo = 0;
            int hi = sortedM.length;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (sortedM[mid] < eps) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            return lo;
        }

        /** CETT(ε) of this token. */
        public double cettAt(double eps) {
            return cett[countBelow(eps)];
        }
    }

    /** Fills m_i = |h_i|·‖d_i‖ for one token. */
    public static void magnitudes(float[] h, int hOff, float[] norms, float[] out, int outOff, int f) {
        for (int i = 0; i < f; i++) {
            out[outOff + i] = Math.abs(h[hOff + i]) * norms[i];
        }
    }

    /**
     * Scans one token: h = {@code h[hOff .. hOff+F)}, m = {@code mags[mOff ..]}, down F × D (row i = d_i).
     */
    public static Scan scan(float[] h, int hOff, float[] mags, int mOff, float[] down, int f, int d) {
        long[] keys = new long[f];
        for (int i = 0; i < f; i++) {
            // m ≥ 0, so its IEEE bits order like the values; the index rides in the low 32 bits.
            keys[i] = ((long) Float.floatToRawIntBits(mags[mOff + i] + 0.0f) << 32) | i;
        }
        Arrays.sort(keys);
        float[] sorted = new float[f];
        double[] r = new double[d];
        double[] norm = new double[f + 1];
        for (int k = 0; k < f; k++) {
            int i = (int) keys[k];
            sorted[k] = mags[mOff + i];
            double a = h[hOff + i];
            double s = 0;
            if (a != 0) {
                int base = i * d;
                for (int j = 0; j < d; j++) {
                    double v = r[j] + a * down[base + j];
                    r[j] = v;
                    s += v * v;
                }
            } else {
                for (int j = 0; j < d; j++) {
                    s += r[j] * r[j];
                }
            }
            norm[k + 1] = Math.sqrt(s);
        }
        float[] cett = new float[f + 1];
        double total = norm[f];
        for (int k = 0; k <= f; k++) {
            cett[k] = total == 0 ? 0f : (float) (norm[k] / total);
        }
        if (total != 0) {
            cett[f] = 1f;
        }
        return new Scan(sorted, cett);
    }

    /** Mean CETT(ε) over the tokens of {@code samples}. */
    public static double meanCett(List<Scan> samples, double eps) {
        double s = 0;
        for (Scan sc : samples) {
            s += sc.cettAt(eps);
        }
        return s / samples.size();
    }

    /**
     * The per-layer threshold ε_ℓ(c): bisection on ε ∈ [0, max m] for the largest ε whose mean CETT over
     * {@code samples} is ≤ c (assuming the mean is non-decreasing in ε, which it is up to sampling noise).
     * Returns 0 when even the smallest positive ε exceeds c, and a value above every m when c ≥ 1.
     */
    public static double calibrate(List<Scan> samples, double c) {
        if (samples.isEmpty()) {
            throw new IllegalArgumentException("CETT calibration needs at least one token");
        }
        double max = 0;
        for (Scan s : samples) {
            max = Math.max(max, s.sortedM()[s.f() - 1]);
        }
        double hi = Math.nextUp(max) * 2 + Double.MIN_NORMAL;
        if (meanCett(samples, hi) <= c) {
            return hi;
        }
        double lo = 0;
        for (int it = 0; it < 100 && lo < hi; it++) {
            double mid = 0.5 * (lo + hi);
            if (mid <= lo || mid >= hi) {
                break;
            }
            if (meanCett(samples, mid) <= c) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
