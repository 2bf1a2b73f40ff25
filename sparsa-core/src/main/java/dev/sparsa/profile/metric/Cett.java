package dev.sparsa.profile.metric;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;
import java.util.List;

/**
 * CETT (ReLU² Wins; docs/ARCHITECTURE.md §6). Neuron i's output magnitude is m_i = |h_i|·‖d_i‖₂; for a threshold ε the
 * cumulative error of tail truncation is CETT(ε) = ‖Σ_{i: m_i &lt; ε} h_i d_i‖₂ / ‖Σ_i h_i d_i‖₂.
 *
 * <p>{@link #scan} sorts one token's m ascending and computes CETT after truncating the k smallest, for every
 * k = 0..F, in O(F·D). Thresholds can only separate distinct magnitudes, so with ties only the k at the end of a
 * run of equal m are reachable. The <em>per-token</em> sparsity for target c is k/F with k the largest reachable
 * k whose CETT ≤ c (an exhaustive scan, so it is exact even where CETT is not monotone in k). The
 * <em>per-layer</em> ε_ℓ(c) is the largest ε whose mean CETT over the calibration tokens is ≤ c, also found
 * exhaustively ({@link MeanCurve}).
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

    /** The down columns in double precision, as {@link #scan} wants them (convert once per layer). */
    public static double[] toDouble(float[] down) {
        double[] d = new double[down.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = down[i];
        }
        return d;
    }

    /** {@link #scan(float[], int, float[], int, double[], int, int)} with float columns (converted per call). */
    public static Scan scan(float[] h, int hOff, float[] mags, int mOff, float[] down, int f, int d) {
        return scan(h, hOff, mags, mOff, toDouble(down), f, d);
    }

    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;

    /**
     * Scans one token: h = {@code h[hOff .. hOff+F)}, m = {@code mags[mOff ..]}, down F × D (row i = d_i), in double
     * precision. O(F·D): the residual r = Σ of the removed h_i d_i is updated and its norm taken once per neuron.
     */
    public static Scan scan(float[] h, int hOff, float[] mags, int mOff, double[] down, int f, int d) {
        long[] keys = new long[f];
        for (int i = 0; i < f; i++) {
            // m ≥ 0, so its IEEE bits order like the values; the index rides in the low 32 bits.
            keys[i] = ((long) Float.floatToRawIntBits(mags[mOff + i] + 0.0f) << 32) | i;
        }
        Arrays.sort(keys);
        float[] sorted = new float[f];
        double[] r = new double[d];
        double[] norm = new double[f + 1];
        int bound = S.loopBound(d);
        double[] lanes = new double[S.length()];
        for (int k = 0; k < f; k++) {
            int i = (int) keys[k];
            sorted[k] = mags[mOff + i];
            double a = h[hOff + i];
            if (a == 0) {
                norm[k + 1] = norm[k]; // r unchanged
                continue;
            }
            int base = i * d;
            DoubleVector acc = DoubleVector.zero(S);
            DoubleVector av = DoubleVector.broadcast(S, a);
            int j = 0;
            for (; j < bound; j += S.length()) {
                DoubleVector v = DoubleVector.fromArray(S, down, base + j).fma(av, DoubleVector.fromArray(S, r, j));
                v.intoArray(r, j);
                acc = v.fma(v, acc);
            }
            // Fixed-order lane sum: reduceLanes(ADD) leaves the order to the JIT, which would make results depend
            // on the compilation tier.
            acc.intoArray(lanes, 0);
            double s = 0;
            for (double x : lanes) {
                s += x;
            }
            for (; j < d; j++) {
                double v = r[j] + a * down[base + j];
                r[j] = v;
                s += v * v;
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
     * Mean CETT over a set of tokens as a step function of ε: {@code mean[j]} is the mean CETT when exactly the m below
     * {@code values[j]} are removed (ε ∈ (values[j−1], values[j]]); {@code all} is the mean with everything removed
     * (ε above every m). Built in O(N log N) for N = tokens × F by sweeping every token's sorted magnitudes at once.
     */
    public record MeanCurve(float[] values, double[] mean, double all) {

        /**
         * The per-layer threshold ε_ℓ(c): the largest ε whose mean CETT is ≤ c (an exhaustive search over the step
         * function, exact even where it is not monotone). Above every m (everything removed) only when c allows it.
         */
        public double largestEpsilon(double c) {
            if (all <= c) {
                return Math.nextUp(values.length == 0 ? 0f : values[values.length - 1]) * 2 + Double.MIN_NORMAL;
            }
            for (int j = values.length - 1; j >= 0; j--) {
                if (mean[j] <= c) {
                    return values[j];
                }
            }
            return 0; // unreachable: removing nothing has CETT 0
        }
    }

    public static MeanCurve meanCurve(List<Scan> samples) {
        if (samples.isEmpty()) {
            throw new IllegalArgumentException("CETT calibration needs at least one token");
        }
        int n = 0;
        for (Scan s : samples) {
            n += s.f();
        }
        long[] keys = new long[n];
        int p = 0;
        for (int t = 0; t < samples.size(); t++) {
            for (float m : samples.get(t).sortedM()) {
                keys[p++] = ((long) Float.floatToRawIntBits(m + 0.0f) << 32) | t;
            }
        }
        Arrays.sort(keys); // by m, then token: each token's entries come in its own ascending order
        int[] k = new int[samples.size()];
        float[] values = new float[n];
        double[] mean = new double[n];
        int groups = 0;
        double sum = 0;
        double tokens = samples.size();
        for (int i = 0; i < n; ) {
            float v = Float.intBitsToFloat((int) (keys[i] >>> 32));
            values[groups] = v;
            mean[groups] = sum / tokens;
            groups++;
            while (i < n && Float.intBitsToFloat((int) (keys[i] >>> 32)) == v) {
                int t = (int) keys[i];
                float[] c = samples.get(t).cett();
                sum += c[k[t] + 1] - c[k[t]];
                k[t]++;
                i++;
            }
        }
        return new MeanCurve(Arrays.copyOf(values, groups), Arrays.copyOf(mean, groups), sum / tokens);
    }

    /** ε_ℓ(c) from the tokens of {@code samples}: {@link MeanCurve#largestEpsilon}. */
    public static double calibrate(List<Scan> samples, double c) {
        return meanCurve(samples).largestEpsilon(c);
    }
}
