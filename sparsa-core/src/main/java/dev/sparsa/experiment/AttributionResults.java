package dev.sparsa.experiment;

import java.util.List;

/**
 * The {@code results.json} of {@code sparsa experiment attribution} (schema {@value #SCHEMA}): a dense model's
 * quality when, per token and layer, only the FFN neurons with the highest score are kept, for each score and
 * sparsity.
 *
 * @param llama   the decoder part (bits/byte); null when not run
 * @param encoder the sentence-embedding encoder part (embedding cosine, e.g. all-MiniLM-L6-v2); null when not run
 *                (and in files written before it existed)
 * @param notes   what was measured and what was not
 */
public record AttributionResults(String schema, Setup setup, Sweep llama, Encoder encoder, double seconds,
                                 List<String> notes) {

    public static final String SCHEMA = "sparsa.experiment.attribution/1";

    /** @param labels what ∂L/∂h is taken against ({@code greedy}: the dense model's own predictions) */
    public record Setup(String model, String modelSource, String activation, int numLayers, int intermediateSize,
                        List<String> scores, double[] sparsities, String labels, int windows, int contextLength,
                        long validTokens, boolean quick, int threads) {
    }

    /**
     * The encoder sweep: quality is the mean cosine between each window's sparse and dense sentence embeddings.
     *
     * @param model        the encoder's name ({@code minilm} or a file name)
     * @param scores       the scores run (gxo has no counterpart for a vector output)
     * @param windows      windows run, each {@code windowTokens} tokens with the special tokens
     * @param projections  random directions per window whose backwards estimate ‖∂e/∂h_i‖
     */
    public record Encoder(String model, String activation, int numLayers, int intermediateSize, List<String> scores,
                          int windows, int windowTokens, long tokens, int projections, Sweep sweep) {
    }

    /**
     * @param measure     the quality measure ({@code bits/byte})
     * @param dense       quality of the dense model
     * @param quality     [score][sparsity]: bits/byte with the lowest-scored share deactivated
     * @param delta       [score][sparsity]: relative to dense
     * @param deactivated [sparsity]: the share of FFN neurons actually deactivated (⌊s·F⌋ / F per token)
     */
    public record Sweep(String measure, double dense, double[][] quality, double[][] delta, double[] deactivated,
                        double seconds) {
    }
}
