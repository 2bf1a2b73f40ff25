package dev.sparsa.profile.metric;

import java.util.Arrays;

/**
 * A distribution summary: mean, spread, exact quantiles and a fixed-range histogram.
 *
 * @param count     values counted (NaNs are left out and counted in {@code skipped})
 * @param skipped   NaN values left out (e.g. PQ Index of an all-zero vector, which is undefined)
 * @param mean      arithmetic mean (NaN when count = 0)
 * @param std       population standard deviation
 * @param min       smallest value
 * @param max       largest value
 * @param quantiles the values at {@link #QUANTILE_LEVELS}: 5, 25, 50, 75, 95 %
 * @param histogram counts in equal bins over [lo, hi]
 */
public record Dist(long count, long skipped, double mean, double std, double min, double max, double[] quantiles,
                   Histogram histogram) {

    public static final double[] QUANTILE_LEVELS = {0.05, 0.25, 0.5, 0.75, 0.95};

    /** Counts in {@code counts.length} equal bins over [lo, hi]; the last bin includes hi. */
    public record Histogram(double lo, double hi, long[] counts) {
    }

    /** Collects values; keeps them all (one double per token per layer) for exact quantiles. */
    public static final class Acc {
        private double[] v = new double[256];
        private int n;
        private long skipped;
        private final double lo;
        private final double hi;
        private final int bins;

        public Acc(double lo, double hi, int bins) {
            this.lo = lo;
            this.hi = hi;
            this.bins = bins;
        }

        /** For fractions in [0, 1] with 20 bins. */
        public static Acc unit() {
            return new Acc(0, 1, 20);
        }

        public void add(double x) {
            if (Double.isNaN(x)) {
                skipped++;
                return;
            }
            if (n == v.length) {
                v = Arrays.copyOf(v, n * 2);
            }
            v[n++] = x;
        }

        public Dist build() {
            long[] counts = new long[bins];
            if (n == 0) {
                return new Dist(0, skipped, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
                        new double[QUANTILE_LEVELS.length], new Histogram(lo, hi, counts));
            }
            double[] s = Arrays.copyOf(v, n);
            Arrays.sort(s);
            double sum = 0;
            for (double x : s) {
                sum += x;
            }
            double mean = sum / n;
            double ss = 0;
            for (double x : s) {
                ss += (x - mean) * (x - mean);
            }
            double[] q = new double[QUANTILE_LEVELS.length];
            for (int i = 0; i < q.length; i++) {
                q[i] = quantile(s, QUANTILE_LEVELS[i]);
            }
            for (double x : s) {
                int b = (int) Math.floor((x - lo) / (hi - lo) * bins);
                counts[Math.clamp(b, 0, bins - 1)]++;
            }
            return new Dist(n, skipped, mean, Math.sqrt(ss / n), s[0], s[n - 1], q, new Histogram(lo, hi, counts));
        }

        /** Linear interpolation between order statistics (numpy's default "linear" method). */
        static double quantile(double[] sorted, double p) {
            double pos = p * (sorted.length - 1);
            int i = (int) Math.floor(pos);
            if (i >= sorted.length - 1) {
                return sorted[sorted.length - 1];
            }
            double frac = pos - i;
            return sorted[i] + frac * (sorted[i + 1] - sorted[i]);
        }
    }
}
