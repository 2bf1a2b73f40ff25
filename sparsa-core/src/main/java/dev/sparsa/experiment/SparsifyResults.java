package dev.sparsa.experiment;

import java.util.List;
import java.util.Map;

/**
 * The {@code results.json} of {@code sparsa experiment sparsify} (schema {@value #SCHEMA}, documented field by field
 * in docs/experiment-sparsify.md). Fractions are in [0, 1]; bits/byte and CE are on the validation windows of
 * {@link Setup}; every Δ is relative to the dense starting model's bits/byte ({@code bpb / dense − 1}).
 *
 * @param schema  {@value #SCHEMA}
 * @param setup   the model, the data and the options every run shares
 * @param dense   the starting model, evaluated as it is (no training)
 * @param runs    one per method (group {@code method}) and per extra λ scale of the ProSparse sweep (group
 *                {@code sweep}), in the order they ran
 * @param seconds wall time of the whole experiment (runs taken from an earlier, resumed invocation count their own)
 * @param notes   definitions in force, in words
 */
public record SparsifyResults(String schema, Setup setup, Eval dense, List<Run> runs, double seconds,
                              List<String> notes) {

    public static final String SCHEMA = "sparsa.experiment.sparsify/1";

    /**
     * @param model           the starting model's name (its folder's name)
     * @param modelSource     how it was obtained: {@code given} (--model) or {@code cached-pretrain} (--quick)
     * @param parameters      trainable scalars
     * @param contextLength   tokens per validation window (= seq)
     * @param validTokens     tokens predicted by the validation windows
     * @param validBytes      UTF-8 bytes they stand for (the bits/byte denominator)
     * @param lambdas         ProSparse's λ at the end of each stage at scale 1
     * @param lambdaScales    the sweep's factors on {@code lambdas}
     * @param distill         α of the {@code prosparse+distill} run
     * @param tolerance       the largest bits/byte rise the auto threshold accepts
     */
    public record Setup(String model, String modelSource, long parameters, String architecture, String activation,
                        int numLayers, int hiddenSize, int intermediateSize, int vocabSize, String trainCorpus,
                        long trainTokens, String validCorpus, long validTokens, long validBytes, int contextLength,
                        boolean quick, List<String> methods, int steps, int stageSteps, float[] lambdas,
                        double[] lambdaScales, float distill, double tolerance, int batch, int microBatches, int seq,
                        float lr, int warmup, String schedule, float weightDecay, float clip, long seed, int threads) {
    }

    /**
     * One evaluation on the validation windows.
     *
     * @param threshold        FATReLU T (0: the trained activation as it is)
     * @param sparsity         zero fraction of act(gate) over all layers and positions
     * @param sparsityPerLayer the same per layer
     * @param delta            bits/byte relative to the dense starting model's, minus 1
     */
    public record Eval(float threshold, double bitsPerByte, double ce, double sparsity, double[] sparsityPerLayer,
                       double delta, double seconds) {
    }

    /**
     * @param id            unique name: the method, {@code prosparse+distill}, or {@code prosparse-x0.5} for a sweep
     *                      point
     * @param method        the trainer's method
     * @param group         {@code method} or {@code sweep}
     * @param lambdaScale   factor on the λ schedule (ProSparse runs; null for the others)
     * @param lambdas       the λ schedule used (empty when the method has none)
     * @param distill       α of self-distillation from the starting model (0: none)
     * @param activation    the trained model's activation (before threshold shifting)
     * @param thresholdRule how {@code chosen}'s T was set: {@code prosparse-auto} (ProSparse step 3),
     *                      {@code post-hoc-auto} (the same search applied after a ReLU method) or {@code none}
     * @param atZero        the trained model at T = 0
     * @param chosen        the trained model at the chosen T (= atZero when the rule is none or no T qualified)
     * @param trainSeconds  wall time of the training steps (and ProSparse's own threshold search)
     * @param seconds       wall time of the whole run (training + every evaluation)
     * @param curve         the training curve, one entry per step
     * @param methodSummary what the method reports (stages, λ, threshold grid...)
     */
    public record Run(String id, String method, String group, Double lambdaScale, float[] lambdas, float distill,
                      int steps, String activation, String thresholdRule, Eval atZero, Eval chosen,
                      double trainSeconds, double seconds, Curve curve, Map<String, Object> methodSummary) {
    }

    /**
     * Per optimizer step: training-batch CE (nats), KL to the teacher (0 without distillation), the L1 term, λ, and
     * the zero fraction of act(gate) on the training batch (mean of layers).
     */
    public record Curve(int[] step, double[] ce, double[] kl, double[] l1, double[] lambda, double[] sparsity) {
    }

    /** The run of this id, or null. */
    public Run run(String id) {
        for (Run r : runs) {
            if (r.id().equals(id)) {
                return r;
            }
        }
        return null;
    }
}
