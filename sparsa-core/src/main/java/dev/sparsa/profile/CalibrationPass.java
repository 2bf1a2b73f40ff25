package dev.sparsa.profile;

import dev.sparsa.profile.metric.CettCalibrator;
import dev.sparsa.profile.metric.LayerContext;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Phase 1 of a profile run: the first windows (≥ calibrationTokens positions) give each layer's CETT scans, from
 * which ε_ℓ(c) is calibrated for every target c and for the "active" definition; the layers' metric states are set
 * up with them.
 */
final class CalibrationPass {
    private CalibrationPass() {
    }

    /**
     * @param calib      each layer's calibrator (ε_ℓ(c) for any c, reused by the quality sweep)
     * @param states     each layer's metric state for the measuring pass
     * @param positions  positions the calibration saw
     * @param activeDef  what "active" means for this model, in words (a note of the results)
     * @param cettStride every how many positions the per-token CETT search runs
     */
    record Result(CettCalibrator[] calib, LayerState[] states, long positions, String activeDef, int cettStride) {
    }

    static Result run(ProfileSetup s, Windows win, Taps.Capture cap) {
        ProfileOptions opt = s.opt();
        List<int[]> ws = win.windows();
        CettCalibrator[] calib = new CettCalibrator[s.layers()];
        for (int l = 0; l < s.layers(); l++) {
            calib[l] = new CettCalibrator(s.downD()[l], opt.calibrationTokens());
        }
        s.progress().phase("calibrate", Math.min(opt.calibrationTokens(), win.tokens()), "tok");
        long calibPositions = 0;
        long done = 0;
        for (int w = 0; w < ws.size() && calibPositions < opt.calibrationTokens(); w++) {
            cap.reset();
            s.model().forward(ws.get(w), cap);
            calibPositions += cap.positions[0];
            int wi = w;
            s.par().forRange(s.layers(), 1, (from, to) -> {
                for (int l = from; l < to; l++) {
                    calib[l].accept(s.window(cap, l, wi, null));
                }
            });
            done += ws.get(w).length;
            s.progress().progress(done);
        }
        s.progress().progress(Math.min(opt.calibrationTokens(), win.tokens())); // done (counted in positions)
        double[] targets = opt.cettTargets().clone();
        Arrays.sort(targets);
        int stride = cettStride(opt, win, cap.positions[0]);
        LayerState[] st = new LayerState[s.layers()];
        for (int l = 0; l < s.layers(); l++) {
            double[] eps = calib[l].epsilons(targets);
            double activeEps = s.relu() ? 0 : calib[l].epsilon(opt.activeCett());
            st[l] = new LayerState(new LayerContext(l, s.f(), s.d(), s.downD()[l], s.norms()[l], targets, eps,
                    s.relu(), activeEps), opt.predictorTokens(), stride);
        }
        String act = s.model().activation();
        String activeDef = s.relu()
                ? "active = h_i != 0 (ReLU-family activation " + act + ")"
                : String.format(Locale.ROOT, "active = m_i = |h_i|*||d_i|| >= eps_l(CETT %.2f), the per-layer "
                + "calibrated CETT threshold (activation %s is not ReLU-family, so exact zeros are rare)",
                opt.activeCett(), act);
        return new Result(calib, st, calibPositions, activeDef, stride);
    }

    /** Positions per window the model taps (content + special tokens), from a one-window dry count. */
    private static int cettStride(ProfileOptions opt, Windows win, long positionsPerWindow) {
        long total = positionsPerWindow * win.windows().size();
        return (int) Math.max(1, (total + opt.cettTokens() - 1) / opt.cettTokens());
    }
}
