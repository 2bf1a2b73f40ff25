package dev.sparsa.profile;

import dev.sparsa.profile.metric.CettCalibrator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.TreeMap;
import java.util.function.DoubleFunction;

/**
 * Phase 4 of a profile run: quality against sparsity, PPL-p% (decoders) or cosine-p% (encoders). One CETT target c
 * shared by all layers sets each layer's calibrated threshold ε_ℓ(c); the eval windows run with h_i zeroed where
 * m_i &lt; ε_ℓ(c). A grid of c brackets every target p (widened towards c = 0.95 for models that tolerate more), then
 * bisection finds the largest c whose quality loss is ≤ p%.
 */
final class QualitySweep {
    private QualitySweep() {
    }

    /** The shared CETT targets evaluated before bisection (brackets for every p). */
    static final double[] GRID = {0.05, 0.1, 0.2, 0.35};

    static ProfileResults.QualitySparsity run(ProfileSetup s, Windows win, CettCalibrator[] calib,
                                              WindowOutputs dense) {
        ProfileOptions opt = s.opt();
        List<int[]> ws = win.windows();
        List<Integer> evalWindows = new ArrayList<>();
        long evalTokens = 0;
        for (int w = 0; w < ws.size() && (evalTokens == 0 || evalTokens + ws.get(w).length <= opt.evalTokens());
             w++) {
            evalWindows.add(w);
            evalTokens += ws.get(w).length;
        }
        boolean decoder = s.model().isDecoder();
        TreeMap<Double, ProfileResults.Point> memo = new TreeMap<>();
        long steps = GRID.length + (long) opt.qualityPercents().length * opt.bisectionSteps();
        s.progress().phase("quality vs sparsity", steps, "eval");
        long[] evals = {0};
        DoubleFunction<ProfileResults.Point> eval = c -> memo.computeIfAbsent(c, cc -> {
            double[] eps = new double[s.layers()];
            for (int l = 0; l < s.layers(); l++) {
                eps[l] = calib[l].epsilon(cc);
            }
            Taps.Threshold tap = new Taps.Threshold(eps, s.norms());
            WindowOutputs outs = new WindowOutputs(ws.size());
            for (int w : evalWindows) {
                outs.put(w, s.model().forward(ws.get(w), tap));
            }
            WindowOutputs.Quality q = dense.quality(decoder, outs, evalWindows);
            s.progress().progress(Math.min(steps, ++evals[0]));
            return new ProfileResults.Point(cc, tap.sparsity(), q.value(), q.degradation());
        });
        for (double c : GRID) {
            eval.apply(c);
        }
        // Models that tolerate more (e.g. already very sparse ones): widen the bracket towards c = 0.95.
        double maxGoal = Arrays.stream(opt.qualityPercents()).max().orElse(0) / 100;
        while (memo.lastEntry().getValue().degradation() <= maxGoal && memo.lastKey() < 0.95) {
            double c = Math.min(0.95, memo.lastKey() + (1 - memo.lastKey()) / 2);
            eval.apply(Math.rint(c * 1e4) / 1e4);
        }
        double denseQ = dense.quality(decoder, dense, evalWindows).dense();
        List<ProfileResults.Target> targets = new ArrayList<>();
        double[] ps = opt.qualityPercents().clone();
        Arrays.sort(ps);
        for (double p : ps) {
            double goal = p / 100;
            double lo = 0;
            double hi = Double.NaN;
            for (var e : memo.values()) { // ascending c: bracket between the last ≤ goal and the first > goal
                if (e.degradation() <= goal) {
                    if (Double.isNaN(hi)) {
                        lo = e.c();
                    }
                } else if (Double.isNaN(hi)) {
                    hi = e.c();
                }
            }
            int it = 0;
            if (!Double.isNaN(hi)) {
                for (; it < opt.bisectionSteps(); it++) {
                    double mid = 0.5 * (lo + hi);
                    if (eval.apply(mid).degradation() <= goal) {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
            }
            ProfileResults.Point best = lo == 0 ? new ProfileResults.Point(0, 0, denseQ, 0) : memo.get(lo);
            targets.add(new ProfileResults.Target(p, !Double.isNaN(hi), best, it));
        }
        String metric = decoder ? "ppl" : "cosine";
        List<ProfileResults.Point> points = new ArrayList<>(memo.values());
        points.sort(Comparator.comparingDouble(ProfileResults.Point::c));
        return new ProfileResults.QualitySparsity(metric, denseQ, evalTokens, points, targets);
    }
}
