package dev.sparsa.experiment;

import java.util.List;

/**
 * The results of {@code sparsa experiment lte} (results.json, schema {@value #SCHEMA}): LTE at several efficiency
 * coefficients η, each evaluated at several thresholds τ, and ProSparse at several λ, each at several FATReLU
 * thresholds, all from one dense model with the same data and steps; FFN multiply-adds counted per token on
 * brown-valid; LTE against ProSparse at equal computed share.
 */
public record LteResults(String schema, Setup setup, double denseBitsPerByte, List<Run> runs, List<Point> points,
                         List<Comparison> comparisons, double seconds) {
    public static final String SCHEMA = "sparsa-experiment-lte/1";

    public record Setup(String model, String modelSource, String activation, int numLayers, int hiddenSize,
                        int intermediateSize, int expertSize, int experts, int stage1Steps, int stage2Steps,
                        int prosparseSteps, int batch, int seq, float lr, float routerLr, float separability,
                        double[] etas, double[] taus, double[] lambdas, long validTokens, boolean quick,
                        String savedModel) {
    }

    /**
     * One training run: its curves (per step: CE; for LTE also the stage, the efficiency + separability loss and the
     * share of experts selected on the training batch).
     */
    public record Run(String id, String method, double coefficient, int[] step, double[] ce, int[] stage,
                      double[] lteLoss, double[] selectedShare, double seconds) {
    }

    /**
     * One evaluated configuration: bits/byte on brown-valid and the FFN multiply-adds per token counted on it
     * (LTE: router N·D + 3·S·D per selected expert; ProSparse: the dense gate D·F + 2·D per neuron with act ≠ 0;
     * {@code flopsShare} = that / the dense FFN's 3·D·F); {@code computedShare} = the share of FFN neurons whose up
     * and down are computed.
     */
    public record Point(String run, String method, double coefficient, double threshold, double bitsPerByte,
                        double flopsPerToken, double flopsShare, double computedShare) {
    }

    /**
     * An LTE point against ProSparse's Pareto curve interpolated linearly at the same share, two ways: the same FFN
     * FLOPs (ProSparse under its exact-sparse kernel, which computes the gate densely) and the same share of neurons
     * computed (as if a predictor skipped ProSparse's gate too); NaN where the share is outside ProSparse's range.
     */
    public record Comparison(String run, double threshold, double flopsShare, double computedShare,
                             double lteBitsPerByte, double prosparseAtFlops, double deltaAtFlops,
                             double prosparseAtComputed, double deltaAtComputed) {
    }
}
