package dev.sparsa.profile.metric;


/**
 * PQ Index (SAP; docs/ARCHITECTURE.md §6) of each token's h: I(w) = 1 − d^{1/q − 1/p}·‖w‖_p / ‖w‖_q with p = 0.5, q = 1;
 * 0 for a constant-magnitude vector, 1 − 1/d for a one-hot vector. Undefined (NaN, counted as skipped) for w = 0.
 */
public final class PqIndex implements LayerMetric<Dist> {
    public static final double P = 0.5;
    public static final double Q = 1.0;

    private final Dist.Acc acc = Dist.Acc.unit();

    /** I(w) for {@code w[off .. off+n)} and 0 &lt; p &lt; q. */
    public static double of(float[] w, int off, int n, double p, double q) {
        if (!(p > 0 && p < q)) {
            throw new IllegalArgumentException("PQ Index needs 0 < p < q, got p=" + p + " q=" + q);
        }
        double max = 0;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, Math.abs(w[off + i]));
        }
        if (max == 0) {
            return Double.NaN;
        }
        double sp = 0;
        double sq = 0;
        for (int i = 0; i < n; i++) {
            double a = Math.abs(w[off + i]) / max; // scale-free, avoids under/overflow
            sp += Math.pow(a, p);
            sq += Math.pow(a, q);
        }
        double np = Math.pow(sp, 1 / p);
        double nq = Math.pow(sq, 1 / q);
        return 1 - Math.pow(n, 1 / q - 1 / p) * np / nq;
    }

    @Override
    public void accept(LayerWindow w) {
        for (int t = 0; t < w.tokens(); t++) {
            acc.add(of(w.h(), t * w.f(), w.f(), P, Q));
        }
    }

    @Override
    public Dist result() {
        return acc.build();
    }
}
