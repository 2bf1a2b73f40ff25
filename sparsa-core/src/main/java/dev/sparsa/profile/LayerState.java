package dev.sparsa.profile;

import dev.sparsa.profile.metric.Affinity;
import dev.sparsa.profile.metric.CettMetric;
import dev.sparsa.profile.metric.DeadNeurons;
import dev.sparsa.profile.metric.Dormant;
import dev.sparsa.profile.metric.LayerContext;
import dev.sparsa.profile.metric.LayerWindow;
import dev.sparsa.profile.metric.PqIndex;
import dev.sparsa.profile.metric.PredictorSamples;
import dev.sparsa.profile.metric.StatTopK;
import dev.sparsa.profile.metric.ZeroSparsity;

/**
 * One layer's metrics in the measuring pass: every sparsity definition, fed each window of that layer in window
 * order (by one thread at a time), then read out as the layer's result.
 */
final class LayerState {
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

    /** The layer's results; {@code trained} is its predictor (null when predictivity was skipped). */
    ProfileResults.Layer result(int layer, PredictorSamples.Trained trained) {
        return new ProfileResults.Layer(layer, zero.result(), cett.result(), topk.result(), ctx.activeEpsilon(),
                dead.result(), dormant.result(), pq.result(), affinity.result(),
                trained == null ? null : trained.result());
    }
}
