package dev.sparsa.profile;

import dev.sparsa.model.ActivationTap;
import dev.sparsa.profile.metric.StatTopK;
import dev.sparsa.tensor.Parallel;

import java.util.ArrayList;
import java.util.List;

/**
 * Runs a {@link ProfiledModel} over token windows and measures every sparsity definition of docs/ARCHITECTURE.md
 * §6, in four passes, a class each, over one {@link ProfileSetup}:
 *
 * <ol>
 *   <li>{@link CalibrationPass}: the first windows (≥ calibrationTokens positions) give each layer's CETT scans,
 *       from which ε_ℓ(c) is calibrated for every target c and for the "active" definition.</li>
 *   <li>{@link MeasuringPass}: every window, dense, with all layer metrics; metrics of different layers run in
 *       parallel (each layer's state is touched by one thread at a time, in window order, so the results do not
 *       depend on the thread count).</li>
 *   <li>{@link PredictivityPass}: per-layer low-rank predictors trained on even windows, scored on odd windows, then
 *       the odd windows are rerun computing only predicted neurons.</li>
 *   <li>{@link QualitySweep}: PPL-p% (decoders) or cosine-p% (encoders) by bisection on a shared CETT target.</li>
 * </ol>
 */
public final class Profiler {
    private final ProfileSetup s;

    public Profiler(ProfiledModel model, ProfileOptions opt, Parallel par, ProgressListener progress) {
        this.s = ProfileSetup.of(model, opt, par, progress);
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
        Taps.Capture cap = s.capture(win);
        CalibrationPass.Result c = CalibrationPass.run(s, win, cap);
        MeasuringPass.Result m = MeasuringPass.run(s, win, cap, c.states());
        s.progress().finish();
        return win.tokens() / m.seconds();
    }

    public ProfileResults run(Windows win, String corpusName, long corpusBytes) {
        long t0 = System.nanoTime();
        ProfiledModel model = s.model();
        List<String> notes = new ArrayList<>();
        Taps.Capture cap = s.capture(win);

        CalibrationPass.Result c = CalibrationPass.run(s, win, cap);                      // 1. calibration
        LayerState[] st = c.states();
        notes.add(c.activeDef());

        MeasuringPass.Result meas = MeasuringPass.run(s, win, cap, st);                  // 2. measurement
        ProfileResults.Dense dense = null;
        if (model.isDecoder()) {
            dense = denseLoss(meas.dense(), win);
        } else {
            notes.add("perplexity and bits-per-byte skipped: " + model.name() + " is an encoder (no next-token "
                    + "loss); PPL-p% is replaced by its embedding-cosine analogue");
        }

        PredictivityPass.Result pred = PredictivityPass.run(s, win, st, meas.dense());    // 3. predictivity
        if (pred.skipped() != null) {
            notes.add(pred.skipped());
        }

        ProfileResults.QualitySparsity qs = QualitySweep.run(s, win, c.calib(), meas.dense()); // 4. PPL-p%

        List<ProfileResults.Layer> out = new ArrayList<>();
        for (int l = 0; l < s.layers(); l++) {
            out.add(st[l].result(l, pred.trained()[l]));
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        ProfileResults.Run run = new ProfileResults.Run(model.name(), model.isDecoder() ? "decoder" : "encoder",
                model.activation(), s.layers(), s.d(), s.f(), win.contextLength(), corpusName, corpusBytes,
                win.tokens(), win.bytes(), meas.positions(), win.windows().size(), c.positions(),
                st[0].ctx.cettTargets(), c.activeDef(), s.opt().seed(), s.par().threads(), seconds,
                win.tokens() / meas.seconds());
        notes.add("CETT per-token: exhaustive search over each token's sorted magnitudes, on "
                + (c.cettStride() == 1 ? "every position" : "every " + c.cettStride() + "th position (the search costs "
                + "O(F*D) per token; --cett-tokens raises the cap)") + "; per-layer: eps_l(c) = the largest threshold "
                + "whose mean CETT over the first " + c.positions() + " positions is <= c, then applied to every "
                + "position");
        notes.add("hot-set coverage is in-sample: the hot set is chosen on the same tokens it is scored on");
        s.progress().finish();
        return new ProfileResults(ProfileResults.SCHEMA, run, dense, out, overall(out), qs, pred.predictivity(),
                notes);
    }

    /** A decoder's dense loss over all windows: mean NLL, perplexity and bits per byte of the text. */
    private static ProfileResults.Dense denseLoss(WindowOutputs dense, Windows win) {
        double s = 0;
        long n = 0;
        for (int w = 0; w < win.windows().size(); w++) {
            for (double v : dense.nll(w)) {
                s += v;
                n++;
            }
        }
        return new ProfileResults.Dense(s / n, Math.exp(s / n),
                win.bytes() > 0 ? s / Math.log(2) / win.bytes() : Double.NaN, n);
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
