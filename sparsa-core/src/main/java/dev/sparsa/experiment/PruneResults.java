package dev.sparsa.experiment;

import java.util.List;

/**
 * The {@code results.json} of {@code sparsa experiment ap} ({@value #AP}) and {@code sparsa experiment sap}
 * ({@value #SAP}): iterative pruning runs of the FFN weights from one starting model, each evaluated on the same
 * validation windows. Shares and ratios are in [0, 1]; Δ is bits/byte relative to the starting model.
 *
 * @param dense the starting model on the validation windows
 */
public record PruneResults(String schema, Setup setup, Eval dense, List<Run> runs, double seconds,
                           List<String> notes) {

    public static final String AP = "sparsa.experiment.ap/1";
    public static final String SAP = "sparsa.experiment.sap/1";

    /**
     * @param ffnWeights weights of the FFN matrices (what is pruned)
     * @param rounds     pruning rounds R (each run trains (R + 1)·E steps)
     * @param roundSteps E
     * @param rewind     whether each round rewinds to the starting weights (SAP, lottery ticket) or fine-tunes
     * @param method     what the runs' methods are, in words
     */
    public record Setup(String experiment, String model, String modelSource, String activation, int numLayers,
                        int hiddenSize, int intermediateSize, long ffnWeights, int rounds, int roundSteps,
                        boolean rewind, String method, int batch, int seq, float lr, int warmup, float weightDecay,
                        long seed, long validTokens, boolean quick, int threads) {
    }

    public record Eval(double bitsPerByte, double zeroSparsity, double delta) {
    }

    /**
     * @param id           e.g. {@code magnitude-70} / {@code ap-magnitude-70}, {@code sap}, {@code imp}
     * @param pruner       the base criterion ({@code magnitude}, {@code wanda})
     * @param target       the target pruned share (ap runs; 0 in sap, whose amount is adaptive)
     * @param perRound     the fixed per-round share (0 for SAP)
     * @param ap           AP's share of each round (0: none)
     * @param step         every optimizer step
     * @param ce           training-batch CE per step
     * @param deadRate     the dynamic dead-neuron rate per step: share of act(gate) entries that are 0 on the
     *                     step's training batch (mean of layers); 0 for a SiLU model
     * @param remaining    FFN weights remaining at each evaluation point (the end of each round's training, then
     *                     the end of the run)
     * @param bitsPerByte  validation bits/byte there
     * @param pqIndex      [round][matrix]: PQ Index (p = 0.5, q = 1) of each matrix's kept weights before the round's
     *                     prune
     * @param pqIndexMean  [round]: their mean
     * @param prunedByAp   [round]: weights AP pruned in the round (all layers)
     * @param final_       the end: bits/byte, validation dead-neuron rate, Δ
     */
    public record Run(String id, String pruner, double target, double perRound, double ap, int steps, int[] step,
                      double[] ce, double[] deadRate, double[] remaining, double[] bitsPerByte, double[][] pqIndex,
                      double[] pqIndexMean, long[] prunedByAp, Eval final_, double weightSparsity, double seconds) {
    }
}
