package dev.sparsa.profile;

import dev.sparsa.profile.metric.Affinity;
import dev.sparsa.profile.metric.CettMetric;
import dev.sparsa.profile.metric.DeadNeurons;
import dev.sparsa.profile.metric.Dist;
import dev.sparsa.profile.metric.Dormant;
import dev.sparsa.profile.metric.PredictorSamples;
import dev.sparsa.profile.metric.StatTopK;

import java.util.List;

/**
 * The one schema of {@code results.json} written by {@code sparsa profile} (documented field by field in
 * docs/profile-results.md). Everything the report shows comes from here. Fractions are in [0, 1]; "tokens" counts
 * content tokens, "positions" every position the model tapped (special tokens included).
 *
 * @param schema        {@value #SCHEMA}
 * @param run           what was profiled and how
 * @param dense         dense quality of the model on the profiled text (decoders only; null for encoders)
 * @param layers        per-layer metrics, layer 0 first
 * @param overall       means of the per-layer metrics over layers
 * @param qualitySparsity PPL-p% (decoders) or the embedding-cosine analogue (encoders)
 * @param predictivity  quality when only predicted neurons are computed, all layers at once
 * @param notes         definitions in force and anything skipped, in words
 */
public record ProfileResults(String schema, Run run, Dense dense, List<Layer> layers, Overall overall,
                             QualitySparsity qualitySparsity, Predictivity predictivity, List<String> notes) {

    public static final String SCHEMA = "sparsa.profile/1";

    /**
     * @param model              model name
     * @param kind               {@code decoder} or {@code encoder}
     * @param activation         FFN activation
     * @param numLayers          L
     * @param hiddenSize         D
     * @param intermediateSize   F
     * @param contextLength      content tokens per window
     * @param corpus             corpus name (e.g. {@code brown-valid} or the text file's name)
     * @param corpusBytes        UTF-8 bytes of the cleaned corpus text
     * @param tokens             content tokens profiled
     * @param bytes              UTF-8 bytes of the text those tokens cover
     * @param positions          positions tapped per layer (special tokens included)
     * @param windows            windows run
     * @param calibrationTokens  positions used to calibrate the per-layer ε
     * @param cettTargets        CETT targets c reported
     * @param activeDefinition   what "active" means for dead-neuron, affinity and predictor metrics
     * @param seed               seed of every random choice (predictor init and batch order)
     * @param threads            worker threads
     * @param seconds            wall time of the whole profile
     * @param profileTokensPerSecond content tokens per second of the measuring pass (forward + taps + metrics)
     */
    public record Run(String model, String kind, String activation, int numLayers, int hiddenSize,
                      int intermediateSize, int contextLength, String corpus, long corpusBytes, long tokens,
                      long bytes, long positions, int windows, long calibrationTokens, double[] cettTargets,
                      String activeDefinition, long seed, int threads, double seconds,
                      double profileTokensPerSecond) {
    }

    /**
     * @param nll          mean NLL per predicted token (nats)
     * @param ppl          exp(nll)
     * @param bitsPerByte  total NLL / ln 2 / bytes covered
     * @param predicted    tokens predicted
     */
    public record Dense(double nll, double ppl, double bitsPerByte, long predicted) {
    }

    /**
     * @param activeEpsilon ε that defines "active" for this layer (0 for ReLU family: h ≠ 0)
     */
    public record Layer(int layer, Dist zeroSparsity, CettMetric.Result cett, List<StatTopK.Result> statTopK,
                        double activeEpsilon, DeadNeurons.Result deadNeurons, List<Dormant.Result> dormant,
                        Dist pqIndex, Affinity.Result affinity, PredictorSamples.Result predictor) {
    }

    /** Layer means of the headline numbers. */
    public record Overall(double zeroSparsity, List<CettOverall> cett, double statTopKAgreement, double deadRate,
                          int neverActive, double pqIndex, double reuseLag1, double density,
                          double predictorRecall, double predictorPrecision) {
    }

    /** Mean per-token and calibrated sparsity at target c, over layers. */
    public record CettOverall(double c, double perToken, double calibrated) {
    }

    /**
     * PPL-p% (decoders) / cosine-p% (encoders): thresholds ε_ℓ(c) from a shared CETT target c, bisection on c.
     *
     * @param metric      {@code ppl} or {@code cosine}
     * @param dense       dense PPL, or 1 for cosine (dense vs itself)
     * @param evalTokens  content tokens of the evaluation windows
     * @param points      every (c, sparsity, quality) evaluated, sorted by c
     * @param targets     one per p
     */
    public record QualitySparsity(String metric, double dense, long evalTokens, List<Point> points,
                                  List<Target> targets) {
    }

    /**
     * @param c           shared CETT target
     * @param sparsity    fraction of (layer, position, neuron) entries zeroed
     * @param quality     PPL, or mean cosine similarity to the dense embedding
     * @param degradation PPL / dense PPL − 1, or 1 − mean cosine
     */
    public record Point(double c, double sparsity, double quality, double degradation) {
    }

    /**
     * @param p        target degradation in percent
     * @param reached  whether the bisection bracketed the target
     * @param point    the largest evaluated c whose degradation is ≤ p%
     * @param iterations evaluations spent on this target
     */
    public record Target(double p, boolean reached, Point point, int iterations) {
    }

    /**
     * @param metric           {@code ppl} or {@code cosine}
     * @param evalTokens       content tokens of the held-out windows
     * @param dense            dense quality on them
     * @param predicted        quality when each layer computes only the neurons its predictor selects
     * @param computedFraction fraction of neurons computed
     */
    public record Predictivity(String metric, long evalTokens, double dense, double predicted,
                               double computedFraction) {
    }
}
