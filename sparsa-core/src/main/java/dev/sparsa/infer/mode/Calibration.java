package dev.sparsa.infer.mode;

import dev.sparsa.infer.Predictor;
import dev.sparsa.tensor.DType;
import dev.sparsa.infer.SparseStats;

import java.util.List;

/**
 * One calibration of a sparse mode for one model (docs/sparse-modes.md; stored by {@link CalibrationFile}). Fields a
 * method does not use are NaN, null or empty.
 *
 * @param mode       the mode it serves (cats, teal, topk, predicted)
 * @param model      the model it was made for
 * @param source     where the calibration tokens came from
 * @param target     target sparsity in (0, 1) (cats, teal, topk; predicted on a SiLU/GELU model: the CATS target of
 *                   its labels; NaN for a predictor of a ReLU-family model)
 * @param recall     target recall of a predictor in (0, 1], else NaN
 * @param allocation teal: {@code uniform} or {@code greedy}; else null
 * @param predictor  predicted: the predictor's form and training; else null
 * @param gaussianZ  topk: the paper's z = Φ⁻¹(1 − k/F) for the target; else NaN
 * @param layers     one entry per layer
 * @param predictors predicted: one trained predictor per layer; else null
 * @param importance attribution: per layer the F neuron weights w_i = E[cor-GxO_i] / E[|act(g_i)|]; else null
 */
public record Calibration(SparseMode mode, ModelShape model, Source source, double target, double recall,
                          String allocation, PredictorSpec predictor, double gaussianZ, List<Layer> layers,
                          List<Predictor> predictors, List<float[]> importance) {

    /** The current file version; readers refuse newer ones. */
    public static final int VERSION = 2;

    public Calibration {
        layers = List.copyOf(layers);
        predictors = predictors == null ? null : List.copyOf(predictors);
        importance = importance == null ? null : List.copyOf(importance);
    }

    /** A calibration without per-neuron importance (every mode but attribution). */
    public Calibration(SparseMode mode, ModelShape model, Source source, double target, double recall,
                       String allocation, PredictorSpec predictor, double gaussianZ, List<Layer> layers,
                       List<Predictor> predictors) {
        this(mode, model, source, target, recall, allocation, predictor, gaussianZ, layers, predictors, null);
    }

    /** Attribution: the neurons a token keeps out of {@code f} at the target, f − ⌊target·f⌋. */
    public int attributionKeep(int f) {
        return f - (int) Math.floor(target * f);
    }

    /**
     * @param corpus    corpus name (brown-train, or the --text file)
     * @param tokens    calibration tokens run
     * @param ctx       tokens per window
     * @param seed      seed of every random choice (predictor training)
     * @param created   ISO-8601 time of the calibration
     */
    public record Source(String corpus, long tokens, int ctx, long seed, String created) {
    }

    /**
     * @param kind      lowrank (Deja Vu) or mlp (PowerInfer)
     * @param rank      hidden width r
     * @param labels    {@code nonzero} (ReLU family: act(g) ≠ 0) or {@code cats} (|act(g)| ≥ the layer's threshold)
     * @param epochs    training epochs
     * @param lr        AdamW learning rate
     * @param heldOut   share of the calibration tokens held out to choose τ and measure recall / precision
     * @param dtype     the dtype the predictor's W1 and W2 run in ({@link Predictor#as}; the file keeps the trained
     *                  F32 weights, τ was chosen on the converted predictor's scores); F32 in version-1 files
     */
    public record PredictorSpec(Predictor.Kind kind, int rank, String labels, int epochs, double lr, double heldOut,
                                DType dtype) {
    }

    /**
     * Per-layer parameters and what calibration measured on the dense activations.
     *
     * @param threshold      cats: t on |act(g)|; predicted with cats labels: the label threshold; else NaN
     * @param z              topk: calibrated z of θ = mean(g) + std(g)·z; else NaN
     * @param sparsity       share of neurons dropped on the calibration tokens (cats, topk: with this layer's
     *                       parameter; teal: the parameter-weighted sparsity of its projections; predicted: 1 −
     *                       candidate share on the held-out tokens)
     * @param gaussianSparsity topk: the share the paper's Gaussian z would drop; else NaN
     * @param tealThreshold  teal: input thresholds by {@link SparseStats.Site} (q, k, v, o, gate, up, down); else null
     * @param tealSparsity   teal: target input sparsity by site; else null
     * @param tau            predicted: threshold on the predictor's logits; else NaN
     * @param recall         predicted: recall on the held-out tokens; else NaN
     * @param precision      predicted: precision on the held-out tokens; else NaN
     */
    public record Layer(float threshold, double z, double sparsity, double gaussianSparsity, float[] tealThreshold,
                        double[] tealSparsity, float tau, double recall, double precision) {

        public static Layer cats(float t, double sparsity) {
            return new Layer(t, Double.NaN, sparsity, Double.NaN, null, null, Float.NaN, Double.NaN, Double.NaN);
        }

        public static Layer topk(double z, double sparsity, double gaussianSparsity) {
            return new Layer(Float.NaN, z, sparsity, gaussianSparsity, null, null, Float.NaN, Double.NaN, Double.NaN);
        }

        public static Layer teal(float[] t, double[] s, double effective) {
            return new Layer(Float.NaN, Double.NaN, effective, Double.NaN, t.clone(), s.clone(), Float.NaN, Double.NaN,
                    Double.NaN);
        }

        /** Attribution: only the share dropped on the calibration tokens (the weights are the file's tensors). */
        public static Layer attribution(double sparsity) {
            return new Layer(Float.NaN, Double.NaN, sparsity, Double.NaN, null, null, Float.NaN, Double.NaN,
                    Double.NaN);
        }

        public static Layer predicted(float labelThreshold, float tau, double recall, double precision,
                                      double sparsity) {
            return new Layer(labelThreshold, Double.NaN, sparsity, Double.NaN, null, null, tau, recall, precision);
        }
    }

    /** Mean of the layers' {@link Layer#sparsity()}. */
    public double meanSparsity() {
        return layers.stream().mapToDouble(Layer::sparsity).average().orElse(Double.NaN);
    }
}
