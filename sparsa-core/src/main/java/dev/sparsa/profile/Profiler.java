package dev.sparsa.profile;

import dev.sparsa.SparsaException;
import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.profile.metric.Affinity;
import dev.sparsa.profile.metric.Cett;
import dev.sparsa.profile.metric.CettCalibrator;
import dev.sparsa.profile.metric.CettMetric;
import dev.sparsa.profile.metric.DeadNeurons;
import dev.sparsa.profile.metric.Dormant;
import dev.sparsa.profile.metric.LayerContext;
import dev.sparsa.profile.metric.LayerWindow;
import dev.sparsa.profile.metric.LowRankPredictor;
import dev.sparsa.profile.metric.PqIndex;
import dev.sparsa.profile.metric.PredictorSamples;
import dev.sparsa.profile.metric.StatTopK;
import dev.sparsa.profile.metric.ZeroSparsity;
import dev.sparsa.tensor.Parallel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;

/**
 * Runs a {@link ProfiledModel} over token windows and measures every sparsity definition of DESIGN.md §4.
 *
 * <ol>
 *   <li>Calibration: the first windows (≥ calibrationTokens positions) give each layer's CETT scans, from which
 *       ε_ℓ(c) is calibrated for every target c and for the "active" definition.</li>
 *   <li>Measurement: every window, dense, with all layer metrics; metrics of different layers run in parallel
 *       (each layer's state is touched by one thread at a time, in window order, so the results do not depend on
 *       the thread count).</li>
 *   <li>Predictivity: per-layer low-rank predictors trained on even windows, scored on odd windows, then the
 *       odd windows are rerun computing only predicted neurons.</li>
 *   <li>Quality vs sparsity: PPL-p% (decoders) or cosine-p% (encoders) by bisection on a shared CETT target.</li>
 * </ol>
 */
public final class Profiler {
    private final ProfiledModel model;
    private final ProfileOptions opt;
    private final Parallel par;
    private final ProgressListener progress;
    private final int layers;
    private final int d;
    private final int f;
    private final float[][] down;
    private final double[][] downD;
    private final float[][] norms;
    private final boolean relu;

    public Profiler(ProfiledModel model, ProfileOptions opt, Parallel par, ProgressListener progress) {
        this.model = model;
        this.opt = opt;
        this.par = par;
        this.progress = progress;
        this.layers = model.numLayers();
        this.d = model.hiddenSize();
        this.f = model.intermediateSize();
        if (layers < 1 || d < 1 || f < 1) {
            throw new SparsaException.UsageException(model.name() + ": model reports no FFN layers");
        }
        down = new float[layers][];
        downD = new double[layers][];
        norms = new float[layers][];
        for (int l = 0; l < layers; l++) {
            down[l] = model.downColumns(l);
            if (down[l].length != f * d) {
                throw new SparsaException.UsageException(model.name() + ": down columns of layer " + l + " have "
                        + down[l].length + " values, expected F×D = " + (long) f * d);
            }
            norms[l] = LayerContext.columnNorms(down[l], f, d);
            downD[l] = Cett.toDouble(down[l]);
        }
        // "active" = h_i ≠ 0 when act is exactly 0 below some point (ReLU family; the FATReLU threshold does not matter)
        relu = Activation.of(model.activation(), 0f).zeroBelow();
    }

    /** Per-layer metric state of the measuring pass. */
    private static final class LayerState {
        final LayerContext ctx;
        final ZeroSparsity zero = new ZeroSparsity();
        final CettMetric cett;
        final StatTopK topk = new StatTopK();
        final DeadNeurons dead = new DeadNeurons();
        final Dormant dormant = new Dormant();
        final PqIndex pq = new PqIndex();
        final Affinity affinity = new Affinity();
        final PredictorSamples samples;

        LayerState(LayerContext ctx, int predictorTokens, int cettStride) {
            this.ctx = ctx;
            this.cett = new CettMetric(ctx, cettStride);
            this.samples = new PredictorSamples(predictorTokens);
        }

        void accept(LayerWindow w) {
            zero.accept(w);
            cett.accept(w);
            topk.accept(w);
            dead.accept(w);
            dormant.accept(w);
            pq.accept(w);
            affinity.accept(w);
            samples.accept(w);
        }
    }

    /** Result of the calibration pass. */
    private record Calibration(CettCalibrator[] calib, LayerState[] states, long positions, String activeDef,
                               int cettStride) {
    }

    /** Result of the measuring pass. */
    private record Measurement(Object[] denseOut, long positions, double seconds) {
    }

    /** Positions per window the model taps (content + special tokens), from a one-window dry count. */
    private int cettStride(Windows win, long positionsPerWindow) {
        long total = positionsPerWindow * win.windows().size();
        return (int) Math.max(1, (total + opt.cettTokens() - 1) / opt.cettTokens());
    }

    private Calibration calibrate(Windows win, Taps.Capture cap) {
        List<int[]> ws = win.windows();
        CettCalibrator[] calib = new CettCalibrator[layers];
        for (int l = 0; l < layers; l++) {
            calib[l] = new CettCalibrator(downD[l], opt.calibrationTokens());
        }
        progress.phase("calibrate", Math.min(opt.calibrationTokens(), win.tokens()), "tok");
        long calibPositions = 0;
        long done = 0;
        for (int w = 0; w < ws.size() && calibPositions < opt.calibrationTokens(); w++) {
            cap.reset();
            model.forward(ws.get(w), cap);
            calibPositions += cap.positions[0];
            int wi = w;
            par.forRange(layers, 1, (from, to) -> {
                for (int l = from; l < to; l++) {
                    calib[l].accept(window(cap, l, wi, null));
                }
            });
            done += ws.get(w).length;
            progress.progress(done);
        }
        progress.progress(Math.min(opt.calibrationTokens(), win.tokens())); // done (counted in positions)
        double[] targets = opt.cettTargets().clone();
        Arrays.sort(targets);
        int stride = cettStride(win, cap.positions[0]);
        LayerState[] st = new LayerState[layers];
        for (int l = 0; l < layers; l++) {
            double[] eps = calib[l].epsilons(targets);
            double activeEps = relu ? 0 : calib[l].epsilon(opt.activeCett());
            st[l] = new LayerState(new LayerContext(l, f, d, downD[l], norms[l], targets, eps, relu, activeEps),
                    opt.predictorTokens(), stride);
        }
        String activeDef = relu
                ? "active = h_i != 0 (ReLU-family activation " + model.activation() + ")"
                : String.format(Locale.ROOT, "active = m_i = |h_i|*||d_i|| >= eps_l(CETT %.2f), the per-layer "
                + "calibrated CETT threshold (activation %s is not ReLU-family, so exact zeros are rare)",
                opt.activeCett(), model.activation());
        return new Calibration(calib, st, calibPositions, activeDef, stride);
    }

    private Measurement measure(Windows win, Taps.Capture cap, LayerState[] st) {
        List<int[]> ws = win.windows();
        progress.phase("profile", win.tokens(), "tok");
        long tm0 = System.nanoTime();
        long positions = 0;
        long done = 0;
        Object[] denseOut = new Object[ws.size()];
        for (int w = 0; w < ws.size(); w++) {
            cap.reset();
            denseOut[w] = model.forward(ws.get(w), cap);
            positions += cap.positions[0];
            int wi = w;
            par.forRange(layers, 1, (from, to) -> {
                for (int l = from; l < to; l++) {
                    st[l].accept(window(cap, l, wi, st[l].ctx));
                }
            });
            done += ws.get(w).length;
            progress.progress(done);
        }
        return new Measurement(denseOut, positions, (System.nanoTime() - tm0) / 1e9);
    }

    /** A tap that copies x and h of every layer and position, as the measuring pass does (for benchmarks). */
    public static ActivationTap captureTap(ProfiledModel m) {
        return new Taps.Capture(m.numLayers(), m.hiddenSize(), m.intermediateSize(), m.contextLength() + 4);
    }

    /**
     * For benchmarks: calibration, then the measuring pass (forward + capture tap + every per-layer metric);
     * returns content tokens per second of the measuring pass.
     */
    public double measuringPassThroughput(Windows win) {
        Taps.Capture cap = new Taps.Capture(layers, d, f, win.contextLength() + 4);
        Calibration c = calibrate(win, cap);
        Measurement m = measure(win, cap, c.states());
        progress.finish();
        return win.tokens() / m.seconds();
    }

    public ProfileResults run(Windows win, String corpusName, long corpusBytes) {
        long t0 = System.nanoTime();
        List<String> notes = new ArrayList<>();
        List<int[]> ws = win.windows();
        Taps.Capture cap = new Taps.Capture(layers, d, f, win.contextLength() + 4);

        // ---- 1. calibration
        Calibration c = calibrate(win, cap);
        CettCalibrator[] calib = c.calib();
        LayerState[] st = c.states();
        long calibPositions = c.positions();
        String activeDef = c.activeDef();
        double[] targets = st[0].ctx.cettTargets();
        notes.add(activeDef);

        // ---- 2. measurement
        Measurement meas = measure(win, cap, st);
        Object[] denseOut = meas.denseOut();
        long positions = meas.positions();
        double measureSeconds = meas.seconds();

        ProfileResults.Dense dense = null;
        if (model.isDecoder()) {
            double s = 0;
            long n = 0;
            for (Object o : denseOut) {
                for (double v : ((ProfiledModel.Output.Nll) o).nll()) {
                    s += v;
                    n++;
                }
            }
            dense = new ProfileResults.Dense(s / n, Math.exp(s / n),
                    win.bytes() > 0 ? s / Math.log(2) / win.bytes() : Double.NaN, n);
        } else {
            notes.add("perplexity and bits-per-byte skipped: " + model.name() + " is an encoder (no next-token "
                    + "loss); PPL-p% is replaced by its embedding-cosine analogue");
        }

        // ---- 3. predictivity
        progress.phase("predictors", layers, "layer");
        PredictorSamples.Trained[] trained = new PredictorSamples.Trained[layers];
        long[] layersDone = {0};
        par.forRange(layers, 1, (from, to) -> {
            for (int l = from; l < to; l++) {
                trained[l] = st[l].samples.train(opt.predictorRank(), opt.predictorEpochs(), opt.seed() + l);
                synchronized (layersDone) {
                    progress.progress(++layersDone[0]);
                }
            }
        });
        ProfileResults.Predictivity predictivity = null;
        List<Integer> oddWindows = new ArrayList<>();
        long oddTokens = 0;
        for (int w = 1; w < ws.size() && (oddTokens == 0 || oddTokens + ws.get(w).length <= opt.evalTokens());
             w += 2) {
            oddWindows.add(w);
            oddTokens += ws.get(w).length;
        }
        if (trained[0] == null || oddWindows.isEmpty()) {
            notes.add("predictivity skipped: it needs at least two windows (one to train, one held out)");
        } else {
            LowRankPredictor[] preds = new LowRankPredictor[layers];
            for (int l = 0; l < layers; l++) {
                preds[l] = trained[l].predictor();
            }
            Taps.Predicted tap = new Taps.Predicted(preds, f);
            progress.phase("predicted FFN", oddTokens, "tok");
            Object[] outs = new Object[ws.size()];
            long pd = 0;
            for (int w : oddWindows) {
                outs[w] = model.forward(ws.get(w), tap);
                pd += ws.get(w).length;
                progress.progress(pd);
            }
            Quality q = quality(denseOut, outs, oddWindows);
            predictivity = new ProfileResults.Predictivity(q.metric, oddTokens, q.dense, q.value,
                    tap.computedFraction());
        }

        // ---- 4. PPL-p% / cosine-p%
        List<Integer> evalWindows = new ArrayList<>();
        long evalTokens = 0;
        for (int w = 0; w < ws.size() && (evalTokens == 0 || evalTokens + ws.get(w).length <= opt.evalTokens());
             w++) {
            evalWindows.add(w);
            evalTokens += ws.get(w).length;
        }
        ProfileResults.QualitySparsity qs = qualitySparsity(calib, denseOut, evalWindows, evalTokens, ws);

        // ---- assemble
        List<ProfileResults.Layer> out = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            LayerState s = st[l];
            out.add(new ProfileResults.Layer(l, s.zero.result(), s.cett.result(), s.topk.result(),
                    s.ctx.activeEpsilon(), s.dead.result(), s.dormant.result(), s.pq.result(), s.affinity.result(),
                    trained[l] == null ? null : trained[l].result()));
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        ProfileResults.Run run = new ProfileResults.Run(model.name(), model.isDecoder() ? "decoder" : "encoder",
                model.activation(), layers, d, f, win.contextLength(), corpusName, corpusBytes, win.tokens(),
                win.bytes(), positions, ws.size(), calibPositions, targets, activeDef, opt.seed(), par.threads(),
                seconds, win.tokens() / measureSeconds);
        notes.add("CETT per-token: exhaustive search over each token's sorted magnitudes, on "
                + (c.cettStride() == 1 ? "every position" : "every " + c.cettStride() + "th position (the search costs "
                + "O(F*D) per token; --cett-tokens raises the cap)") + "; per-layer: eps_l(c) = the largest threshold "
                + "whose mean CETT over the first " + calibPositions + " positions is <= c, then applied to every "
                + "position");
        notes.add("hot-set coverage is in-sample: the hot set is chosen on the same tokens it is scored on");
        progress.finish();
        return new ProfileResults(ProfileResults.SCHEMA, run, dense, out, overall(out), qs, predictivity, notes);
    }

    private LayerWindow window(Taps.Capture cap, int l, int w, LayerContext ctx) {
        int t = cap.positions[l];
        float[] h = cap.h[l];
        float[] mags = new float[t * f];
        for (int p = 0; p < t; p++) {
            Cett.magnitudes(h, p * f, norms[l], mags, p * f, f);
        }
        boolean[] active = new boolean[t * f];
        if (ctx != null) {
            for (int i = 0; i < t * f; i++) {
                active[i] = relu ? h[i] != 0f : mags[i] >= ctx.activeEpsilon();
            }
        }
        return new LayerWindow(l, t, f, d, cap.x[l], h, mags, active, w);
    }

    private record Quality(String metric, double dense, double value) {
    }

    /** Quality of {@code outs} vs the dense outputs over {@code windows}: PPL, or mean cosine to dense. */
    private Quality quality(Object[] dense, Object[] outs, List<Integer> windows) {
        if (model.isDecoder()) {
            double sd = 0;
            double so = 0;
            long n = 0;
            for (int w : windows) {
                double[] a = ((ProfiledModel.Output.Nll) dense[w]).nll();
                double[] b = ((ProfiledModel.Output.Nll) outs[w]).nll();
                for (int i = 0; i < a.length; i++) {
                    sd += a[i];
                    so += b[i];
                    n++;
                }
            }
            return new Quality("ppl", Math.exp(sd / n), Math.exp(so / n));
        }
        double s = 0;
        for (int w : windows) {
            s += cosine(((ProfiledModel.Output.Embedding) dense[w]).vector(),
                    ((ProfiledModel.Output.Embedding) outs[w]).vector());
        }
        return new Quality("cosine", 1.0, s / windows.size());
    }

    static double cosine(float[] a, float[] b) {
        double ab = 0;
        double aa = 0;
        double bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return aa == 0 || bb == 0 ? 0 : ab / Math.sqrt(aa * bb);
    }

    /**
     * The grid of shared CETT targets evaluated before bisection (brackets for every p); widened up to c = 0.95 when
     * the largest p is not reached on it.
     */
    static final double[] GRID = {0.05, 0.1, 0.2, 0.35};

    private ProfileResults.QualitySparsity qualitySparsity(CettCalibrator[] calib, Object[] denseOut,
                                                           List<Integer> evalWindows, long evalTokens,
                                                           List<int[]> ws) {
        TreeMap<Double, ProfileResults.Point> memo = new TreeMap<>();
        long steps = GRID.length + (long) opt.qualityPercents().length * opt.bisectionSteps();
        progress.phase("quality vs sparsity", steps, "eval");
        long[] evals = {0};
        java.util.function.DoubleFunction<ProfileResults.Point> eval = c -> memo.computeIfAbsent(c, cc -> {
            double[] eps = new double[layers];
            for (int l = 0; l < layers; l++) {
                eps[l] = calib[l].epsilon(cc);
            }
            Taps.Threshold tap = new Taps.Threshold(eps, norms);
            Object[] outs = new Object[ws.size()];
            for (int w : evalWindows) {
                outs[w] = model.forward(ws.get(w), tap);
            }
            Quality q = quality(denseOut, outs, evalWindows);
            double deg = q.metric.equals("ppl") ? q.value / q.dense - 1 : 1 - q.value;
            progress.progress(Math.min(steps, ++evals[0]));
            return new ProfileResults.Point(cc, tap.sparsity(), q.value, deg);
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
        double denseQ = quality(denseOut, denseOut, evalWindows).dense;
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
        String metric = model.isDecoder() ? "ppl" : "cosine";
        List<ProfileResults.Point> points = new ArrayList<>(memo.values());
        points.sort(Comparator.comparingDouble(ProfileResults.Point::c));
        return new ProfileResults.QualitySparsity(metric, denseQ, evalTokens, points, targets);
    }

    private static ProfileResults.Overall overall(List<ProfileResults.Layer> ls) {
        int n = ls.size();
        double zero = 0;
        double topk = 0;
        double dead = 0;
        int never = 0;
        double pq = 0;
        int pqN = 0;
        double reuse = 0;
        double density = 0;
        double rec = 0;
        double prec = 0;
        int predN = 0;
        int nt = ls.getFirst().cett().targets().size();
        double[] per = new double[nt];
        double[] cal = new double[nt];
        for (ProfileResults.Layer l : ls) {
            zero += l.zeroSparsity().mean();
            for (StatTopK.Result r : l.statTopK()) {
                if (r.kFraction() == 0.1) {
                    topk += r.agreement().mean();
                }
            }
            dead += l.deadNeurons().rate().mean();
            never += l.deadNeurons().neverActive();
            if (!Double.isNaN(l.pqIndex().mean())) {
                pq += l.pqIndex().mean();
                pqN++;
            }
            reuse += l.affinity().reuse().getFirst().reuse();
            density += l.affinity().density();
            for (int i = 0; i < nt; i++) {
                per[i] += l.cett().targets().get(i).perToken().mean();
                cal[i] += l.cett().targets().get(i).calibrated().mean();
            }
            if (l.predictor() != null) {
                rec += l.predictor().recall();
                prec += l.predictor().precision();
                predN++;
            }
        }
        List<ProfileResults.CettOverall> co = new ArrayList<>();
        for (int i = 0; i < nt; i++) {
            co.add(new ProfileResults.CettOverall(ls.getFirst().cett().targets().get(i).c(), per[i] / n, cal[i] / n));
        }
        return new ProfileResults.Overall(zero / n, co, topk / n, dead / n, never, pqN == 0 ? Double.NaN : pq / pqN,
                reuse / n, density / n, predN == 0 ? Double.NaN : rec / predN, predN == 0 ? Double.NaN : prec / predN);
    }

    /** For benchmarks: runs the windows with {@code tap} and returns content tokens per second. */
    public static double throughput(ProfiledModel model, List<int[]> windows, ActivationTap tap) {
        long t0 = System.nanoTime();
        long n = 0;
        for (int[] w : windows) {
            model.forward(w, tap);
            n += w.length;
        }
        return n / ((System.nanoTime() - t0) / 1e9);
    }
}
