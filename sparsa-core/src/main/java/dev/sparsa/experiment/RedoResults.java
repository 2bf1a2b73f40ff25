package dev.sparsa.experiment;

import java.util.List;

/**
 * The {@code results.json} of {@code sparsa experiment redo} (schema {@value #SCHEMA}). Ratios are in [0, 1];
 * bits/byte are on each genre's validation windows.
 *
 * @param runs {@code baseline} (no recycling) and {@code redo}, same initial weights and batches
 */
public record RedoResults(String schema, Setup setup, List<Run> runs, double seconds, List<String> notes) {

    public static final String SCHEMA = "sparsa.experiment.redo/1";

    /**
     * @param genres           the phases in training order (Brown genre letters, or the names of the given texts)
     * @param genreTrainTokens training tokens of each phase (after the per-phase cap)
     * @param genreValidTokens validation tokens of each phase's genre
     * @param phaseEndStep     the step at which each phase's chunks are used up (the evaluation points)
     * @param taus             the τ of the dormant ratios reported
     * @param redoTau          the τ ReDo recycles at
     */
    public record Setup(String model, String modelSource, String activation, int numLayers, int hiddenSize,
                        int intermediateSize, int vocabSize, long parameters, List<String> genres,
                        List<String> genreTitles, int[] genreTrainTokens, long[] genreValidTokens, int steps,
                        int[] phaseEndStep, double[] taus, int redoEvery, double redoTau, double initStd, int batch,
                        int seq, float lr, int warmup, float weightDecay, long seed, boolean quick, int threads) {
    }

    /**
     * @param step             every optimizer step
     * @param ce               training-batch CE at each step (nats)
     * @param dormant          [τ][step]: τ-dormant share of the FFN neurons on the step's last micro-batch (mean
     *                         over layers), measured before that step's recycling
     * @param dormantPerLayer  [τ][layer] at the last step
     * @param recycledStep     the steps ReDo recycled at (empty for the baseline)
     * @param recycledCount    neurons recycled there (all layers)
     * @param phaseBitsPerByte [phase][genre]: every genre's validation bits/byte at the end of each phase
     * @param finalBitsPerByte [genre]: at the end (= the last phase's row)
     */
    public record Run(String id, int steps, int[] step, double[] ce, double[][] dormant, double[][] dormantPerLayer,
                      int[] recycledStep, int[] recycledCount, double[][] phaseBitsPerByte,
                      double[] finalBitsPerByte, double meanFinalBitsPerByte, double seconds) {
    }
}
