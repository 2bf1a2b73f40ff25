package dev.sparsa.calibrate;

/**
 * Counts of float values in 2^18 bins of their bit patterns, in value order: bin b holds the floats whose sortable
 * key (the IEEE bits, negatives flipped so that integer order is value order) has b as its top 18 bits, i.e. a sign,
 * the 8 exponent bits and 9 mantissa bits (bins 0.2% wide relative to the value). Quantiles are bin edges, so the
 * share of calibration values below a returned threshold is known exactly ({@link #below}) rather than estimated;
 * CATS and TEAL quantiles (targets such as 50%) are then within a bin's mass of the target. 2 MiB per histogram.
 */
final class Histogram {
    private static final int SHIFT = 14;
    private static final int BINS = 1 << (32 - SHIFT);

    private final long[] counts = new long[BINS];
    private long total;

    /** Sortable unsigned key of v: integer order equals float order (−0 before +0). */
    private static int key(float v) {
        int bits = Float.floatToRawIntBits(v);
        return bits ^ ((bits >> 31) | 0x80000000);
    }

    private static float value(int key) {
        int bits = key < 0 ? key ^ 0x80000000 : ~key;
        return Float.intBitsToFloat(bits);
    }

    /** Counts v (NaN is refused). */
    void add(float v) {
        if (Float.isNaN(v)) {
            throw new IllegalArgumentException("NaN activation in calibration");
        }
        counts[key(v) >>> SHIFT]++;
        total++;
    }

    /** Counts |v| for the {@code n} values from {@code off}. */
    void addAbs(float[] v, int off, int n) {
        for (int i = off; i < off + n; i++) {
            add(Math.abs(v[i]));
        }
    }

    long total() {
        return total;
    }

    /** The smallest float of bin b (its lower edge). */
    private static float edge(int b) {
        return value(b << SHIFT);
    }

    /**
     * The bin edge t whose share of values strictly below it is closest to {@code p} (the empirical p-quantile
     * {@code min{t : F(t) ≥ p}} rounded to a bin edge). For magnitudes the result is ≥ 0.
     */
    float quantile(double p) {
        if (total == 0) {
            throw new IllegalStateException("no calibration values");
        }
        double target = p * total;
        long cum = 0;
        int best = 0;
        double bestErr = Double.MAX_VALUE;
        for (int b = 0; b <= BINS; b++) {
            double err = Math.abs(cum - target);              // cum = values in bins < b = values < edge(b)
            if (err < bestErr) {
                bestErr = err;
                best = b;
            }
            if (b == BINS || cum > target) {
                break;
            }
            cum += counts[b];
        }
        return best == BINS ? Float.MAX_VALUE : edge(best);
    }

    /** Share of the counted values strictly below t (exact when t is a bin edge, as {@link #quantile} returns). */
    double below(float t) {
        if (total == 0) {
            return Double.NaN;
        }
        int kb = key(t) >>> SHIFT;
        long cum = 0;
        for (int b = 0; b < kb; b++) {
            cum += counts[b];
        }
        return (double) cum / total;
    }
}
