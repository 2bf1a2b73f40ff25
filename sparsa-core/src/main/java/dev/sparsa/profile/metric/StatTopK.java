package dev.sparsa.profile.metric;


import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Statistical top-k (Spark Transformer; docs/ARCHITECTURE.md §6): keep the entries of h above
 * θ = mean(h) + std(h)·Φ⁻¹(1 − k/F) — linear time, no sort — and compare with the exact top-k (the k largest h_i).
 * Agreement = |S_stat ∩ S_exact| / k; size ratio = |S_stat| / k.
 */
public final class StatTopK implements LayerMetric<List<StatTopK.Result>> {

    /** k/F fractions measured. */
    public static final double[] FRACTIONS = {0.05, 0.1, 0.2};

    public record Result(double kFraction, int k, Dist agreement, Dist sizeRatio) {
    }

    private final Dist.Acc[] agree = new Dist.Acc[FRACTIONS.length];
    private final Dist.Acc[] size = new Dist.Acc[FRACTIONS.length];
    private int f;

    public StatTopK() {
        for (int i = 0; i < FRACTIONS.length; i++) {
            agree[i] = Dist.Acc.unit();
            size[i] = new Dist.Acc(0, 3, 30);
        }
    }

    /** θ for one token. */
    public static double threshold(float[] h, int off, int f, int k) {
        double s = 0;
        for (int i = 0; i < f; i++) {
            s += h[off + i];
        }
        double mean = s / f;
        double ss = 0;
        for (int i = 0; i < f; i++) {
            double dlt = h[off + i] - mean;
            ss += dlt * dlt;
        }
        return mean + Math.sqrt(ss / f) * InverseNormal.of(1 - (double) k / f);
    }

    public static int k(double fraction, int f) {
        return Math.max(1, (int) Math.round(fraction * f));
    }

    @Override
    public void accept(LayerWindow w) {
        f = w.f();
        float[] sorted = new float[f];
        for (int t = 0; t < w.tokens(); t++) {
            int off = t * f;
            System.arraycopy(w.h(), off, sorted, 0, f);
            Arrays.sort(sorted);
            for (int j = 0; j < FRACTIONS.length; j++) {
                int k = k(FRACTIONS[j], f);
                double theta = threshold(w.h(), off, f, k);
                float kth = sorted[f - k];
                int sel = 0;
                int both = 0;
                for (int i = 0; i < f; i++) {
                    float v = w.h()[off + i];
                    if (v > theta) {
                        sel++;
                        if (v >= kth) {
                            both++;
                        }
                    }
                }
                agree[j].add((double) Math.min(both, k) / k);
                size[j].add((double) sel / k);
            }
        }
    }

    @Override
    public List<Result> result() {
        List<Result> r = new ArrayList<>();
        for (int j = 0; j < FRACTIONS.length; j++) {
            r.add(new Result(FRACTIONS[j], f == 0 ? 0 : k(FRACTIONS[j], f), agree[j].build(), size[j].build()));
        }
        return r;
    }
}
