package dev.sparsa.profile.metric;


import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Hardware affinity (docs/ARCHITECTURE.md §6). Reuse at lag L: for token t, |A_t ∩ A_{t−L}| / |A_t| within one window (tokens
 * with an empty A_t are left out); a random active set of the same density would give about the density. Hot-set
 * coverage: the fraction of all (token, active neuron) events that fall in the k most frequently active neurons,
 * a fixed hot set chosen on the same corpus (in-sample).
 */
public final class Affinity implements LayerMetric<Affinity.Result> {
    public static final int[] LAGS = {1, 2, 4, 8, 16, 32};
    public static final double[] HOT = {0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0};

    public record ReusePoint(int lag, double reuse, long pairs) {
    }

    public record CoveragePoint(double hotFraction, double coverage) {
    }

    /**
     * @param density    mean fraction of active neurons per token
     * @param reuseLag1  distribution of reuse between consecutive tokens
     * @param reuse      mean reuse per lag
     * @param coverage   hot-set coverage per hot-set size
     */
    public record Result(double density, Dist reuseLag1, List<ReusePoint> reuse, List<CoveragePoint> coverage) {
    }

    private final Dist.Acc lag1 = Dist.Acc.unit();
    private final double[] reuseSum = new double[LAGS.length];
    private final long[] reusePairs = new long[LAGS.length];
    private long[] counts;
    private double densitySum;
    private long tokens;

    @Override
    public void accept(LayerWindow w) {
        int f = w.f();
        if (counts == null) {
            counts = new long[f];
        }
        boolean[] a = w.active();
        int[] size = new int[w.tokens()];
        for (int t = 0; t < w.tokens(); t++) {
            int on = 0;
            for (int i = 0; i < f; i++) {
                if (a[t * f + i]) {
                    on++;
                    counts[i]++;
                }
            }
            size[t] = on;
            densitySum += (double) on / f;
            tokens++;
        }
        for (int li = 0; li < LAGS.length; li++) {
            int lag = LAGS[li];
            for (int t = lag; t < w.tokens(); t++) {
                if (size[t] == 0) {
                    continue;
                }
                int both = 0;
                int o = t * f;
                int p = (t - lag) * f;
                for (int i = 0; i < f; i++) {
                    if (a[o + i] && a[p + i]) {
                        both++;
                    }
                }
                double r = (double) both / size[t];
                reuseSum[li] += r;
                reusePairs[li]++;
                if (lag == 1) {
                    lag1.add(r);
                }
            }
        }
    }

    /** Coverage of the hottest ⌈fraction·F⌉ neurons given per-neuron activation counts. */
    public static double coverage(long[] counts, double fraction) {
        long[] s = counts.clone();
        Arrays.sort(s);
        int k = (int) Math.ceil(fraction * s.length);
        long total = 0;
        long top = 0;
        for (int i = 0; i < s.length; i++) {
            total += s[i];
            if (i >= s.length - k) {
                top += s[i];
            }
        }
        return total == 0 ? Double.NaN : (double) top / total;
    }

    @Override
    public Result result() {
        List<ReusePoint> reuse = new ArrayList<>();
        for (int li = 0; li < LAGS.length; li++) {
            reuse.add(new ReusePoint(LAGS[li], reusePairs[li] == 0 ? Double.NaN : reuseSum[li] / reusePairs[li],
                    reusePairs[li]));
        }
        List<CoveragePoint> cov = new ArrayList<>();
        for (double h : HOT) {
            cov.add(new CoveragePoint(h, counts == null ? Double.NaN : coverage(counts, h)));
        }
        return new Result(tokens == 0 ? Double.NaN : densitySum / tokens, lag1.build(), reuse, cov);
    }
}
