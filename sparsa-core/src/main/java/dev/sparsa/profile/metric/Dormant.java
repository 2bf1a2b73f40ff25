package dev.sparsa.profile.metric;

import java.util.ArrayList;
import java.util.List;

/**
 * τ-dormant ratio (ReDo; docs/ARCHITECTURE.md §6): s_i = E|h_i| / ((1/F) Σ_k E|h_k|) over the corpus; neuron i is dormant if
 * s_i ≤ τ. Reported for each τ as the fraction of dormant neurons.
 */
public final class Dormant implements LayerMetric<List<Dormant.Result>> {
    public static final double[] TAUS = {0, 0.025, 0.1};

    public record Result(double tau, double ratio, int dormant) {
    }

    private double[] sumAbs;
    private long tokens;

    @Override
    public void accept(LayerWindow w) {
        int f = w.f();
        if (sumAbs == null) {
            sumAbs = new double[f];
        }
        for (int t = 0; t < w.tokens(); t++) {
            for (int i = 0; i < f; i++) {
                sumAbs[i] += Math.abs(w.h()[t * f + i]);
            }
            tokens++;
        }
    }

    /** The scores s_i from per-neuron sums of |h_i| (any common scale cancels). */
    public static double[] scores(double[] sumAbs) {
        double mean = 0;
        for (double v : sumAbs) {
            mean += v;
        }
        mean /= sumAbs.length;
        double[] s = new double[sumAbs.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = mean == 0 ? 0 : sumAbs[i] / mean;
        }
        return s;
    }

    @Override
    public List<Result> result() {
        List<Result> r = new ArrayList<>();
        if (sumAbs == null) {
            return r;
        }
        double[] s = scores(sumAbs);
        for (double tau : TAUS) {
            int n = 0;
            for (double v : s) {
                if (v <= tau) {
                    n++;
                }
            }
            r.add(new Result(tau, (double) n / s.length, n));
        }
        return r;
    }
}
