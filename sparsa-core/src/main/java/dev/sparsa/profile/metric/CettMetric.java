package dev.sparsa.profile.metric;


import java.util.ArrayList;
import java.util.List;

/**
 * Magnitude / CETT sparsity of one layer (see {@link Cett}): per-token search and per-layer calibrated ε, for each
 * target c, plus the CETT–sparsity curve (mean per-token sparsity over a grid of c).
 */
public final class CettMetric implements LayerMetric<CettMetric.Result> {

    /** The c grid of the CETT–sparsity curve. */
    public static final double[] CURVE = {0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7};

    /**
     * @param c                 CETT target
     * @param perToken          per-token search: distribution of the per-token sparsity
     * @param epsilon           per-layer calibrated ε_ℓ(c) (units of m = |h|·‖d‖)
     * @param calibrated        sparsity per token at ε_ℓ(c): fraction of m_i &lt; ε
     * @param calibratedCett    the CETT each token actually gets at ε_ℓ(c)
     */
    public record Target(double c, Dist perToken, double epsilon, Dist calibrated, Dist calibratedCett) {
    }

    /** A point of the CETT–sparsity curve: mean per-token sparsity at target c. */
    public record CurvePoint(double c, double sparsity) {
    }

    public record Result(List<Target> targets, List<CurvePoint> curve) {
    }

    private final LayerContext ctx;
    private final int stride;
    private long seen;
    private final Dist.Acc[] perToken;
    private final Dist.Acc[] calibrated;
    private final Dist.Acc[] calibratedCett;
    private final double[] curveSum = new double[CURVE.length];
    private long tokens;

    public CettMetric(LayerContext ctx) {
        this(ctx, 1);
    }

    /**
     * @param stride scan every stride-th position of the layer (the O(F·D) per-token search is the profiler's most
     *               expensive metric; the CLI subsamples on long runs and says so in the notes)
     */
    public CettMetric(LayerContext ctx, int stride) {
        this.ctx = ctx;
        this.stride = Math.max(1, stride);
        int n = ctx.cettTargets().length;
        perToken = new Dist.Acc[n];
        calibrated = new Dist.Acc[n];
        calibratedCett = new Dist.Acc[n];
        for (int i = 0; i < n; i++) {
            perToken[i] = Dist.Acc.unit();
            calibrated[i] = Dist.Acc.unit();
            calibratedCett[i] = Dist.Acc.unit();
        }
    }

    @Override
    public void accept(LayerWindow w) {
        int f = w.f();
        for (int t = 0; t < w.tokens(); t++) {
            if (seen++ % stride == 0) {
                acceptScan(Cett.scan(w.h(), t * f, w.mags(), t * f, ctx.down(), f, w.d()));
            }
        }
    }

    /** Feeds one token's scan (also used by tests). */
    public void acceptScan(Cett.Scan s) {
        double[] cs = ctx.cettTargets();
        for (int i = 0; i < cs.length; i++) {
            perToken[i].add(s.sparsity(cs[i]));
            int k = s.countBelow(ctx.epsilons()[i]);
            calibrated[i].add((double) k / s.f());
            calibratedCett[i].add(s.cett()[k]);
        }
        for (int j = 0; j < CURVE.length; j++) {
            curveSum[j] += s.sparsity(CURVE[j]);
        }
        tokens++;
    }

    @Override
    public Result result() {
        List<Target> ts = new ArrayList<>();
        for (int i = 0; i < ctx.cettTargets().length; i++) {
            ts.add(new Target(ctx.cettTargets()[i], perToken[i].build(), ctx.epsilons()[i], calibrated[i].build(),
                    calibratedCett[i].build()));
        }
        List<CurvePoint> curve = new ArrayList<>();
        for (int j = 0; j < CURVE.length; j++) {
            curve.add(new CurvePoint(CURVE[j], tokens == 0 ? Double.NaN : curveSum[j] / tokens));
        }
        return new Result(ts, curve);
    }
}
