package dev.sparsa.profile;

import dev.sparsa.profile.metric.LowRankPredictor;
import dev.sparsa.profile.metric.PredictorSamples;

import java.util.ArrayList;
import java.util.List;

/**
 * Phase 3 of a profile run: a low-rank predictor per layer (x → active neurons) trained on the samples the measuring
 * pass kept from even windows, scored on odd windows (recall, precision: in each layer's result), then the odd
 * windows rerun computing only the predicted neurons, for the quality that costs.
 */
final class PredictivityPass {
    private PredictivityPass() {
    }

    /**
     * @param trained      each layer's trained predictor and its scores
     * @param predictivity the quality with predicted neurons only; null when skipped
     * @param skipped      why it was skipped (a note of the results), or null
     */
    record Result(PredictorSamples.Trained[] trained, ProfileResults.Predictivity predictivity, String skipped) {
    }

    static Result run(ProfileSetup s, Windows win, LayerState[] st, WindowOutputs dense) {
        ProfileOptions opt = s.opt();
        List<int[]> ws = win.windows();
        s.progress().phase("predictors", s.layers(), "layer");
        PredictorSamples.Trained[] trained = new PredictorSamples.Trained[s.layers()];
        long[] layersDone = {0};
        s.par().forRange(s.layers(), 1, (from, to) -> {
            for (int l = from; l < to; l++) {
                trained[l] = st[l].samples.train(opt.predictorRank(), opt.predictorEpochs(), opt.seed() + l);
                synchronized (layersDone) {
                    s.progress().progress(++layersDone[0]);
                }
            }
        });
        List<Integer> oddWindows = new ArrayList<>();
        long oddTokens = 0;
        for (int w = 1; w < ws.size() && (oddTokens == 0 || oddTokens + ws.get(w).length <= opt.evalTokens());
             w += 2) {
            oddWindows.add(w);
            oddTokens += ws.get(w).length;
        }
        if (trained[0] == null || oddWindows.isEmpty()) {
            return new Result(trained, null,
                    "predictivity skipped: it needs at least two windows (one to train, one held out)");
        }
        LowRankPredictor[] preds = new LowRankPredictor[s.layers()];
        for (int l = 0; l < s.layers(); l++) {
            preds[l] = trained[l].predictor();
        }
        Taps.Predicted tap = new Taps.Predicted(preds, s.f());
        s.progress().phase("predicted FFN", oddTokens, "tok");
        WindowOutputs outs = new WindowOutputs(ws.size());
        long pd = 0;
        for (int w : oddWindows) {
            outs.put(w, s.model().forward(ws.get(w), tap));
            pd += ws.get(w).length;
            s.progress().progress(pd);
        }
        WindowOutputs.Quality q = dense.quality(s.model().isDecoder(), outs, oddWindows);
        return new Result(trained, new ProfileResults.Predictivity(q.metric(), oddTokens, q.dense(), q.value(),
                tap.computedFraction()), null);
    }
}
