package dev.sparsa.experiment.cl;

import java.util.List;
import java.util.Map;

/**
 * The {@code results.json} of {@code sparsa experiment clnp|sparcl} (schema {@value #SCHEMA}): the baselines
 * (sequential fine-tuning, joint training, replay) and the method, each run's accuracy matrix in bits/byte, the
 * continual-learning metrics ({@link ClMetrics}) and the counted training multiply-adds ({@link Flops}).
 *
 * @param experiment {@code clnp} or {@code sparcl}
 * @param startBitsPerByte each task's validation bits/byte of the starting (fresh) weights, b_j of FWT
 */
public record ClResults(String schema, String experiment, Setup setup, double[] startBitsPerByte, List<Run> runs,
                        double seconds, List<String> notes) {

    public static final String SCHEMA = "sparsa.experiment.cl/1";

    /**
     * @param tasks             task names in training order
     * @param taskGenres        each task's genres ("a+b+c"), or the file of a given text
     * @param trainWindows      training windows (of seq + 1 tokens) each task's pool holds
     * @param validTokens       validation tokens of each task
     * @param replayRows        buffer rows added to every batch of the replay runs (from the second task on)
     * @param bufferPerTask     windows each finished task leaves in the replay buffer
     * @param methodOptions     the method's options as given
     */
    public record Setup(String model, String modelSource, String activation, int numLayers, int hiddenSize,
                        int intermediateSize, int vocabSize, long parameters, List<String> tasks,
                        List<String> taskGenres, int[] trainWindows, long[] validTokens, int epochs, int batch,
                        int replayRows, int bufferPerTask, int seq, float lr, int warmup, float weightDecay,
                        double initStd, long seed, boolean quick, int threads, Map<String, String> methodOptions) {
    }

    /**
     * @param id              {@code sequential}, {@code joint}, {@code replay}, {@code clnp} or {@code sparcl}
     * @param stages          the training stages in order (one per task; joint: one)
     * @param bitsPerByte     R[stage][task]: each task's validation bits/byte after each stage (a method with
     *                        task-specific networks, CLNP: task-aware, task j with its own network)
     * @param agnosticBitsPerByte the same without the task's identity: every task with the one network of all the
     *                        neurons any task uses (CLNP); null when the method evaluates one network for every
     *                        task already (the baselines, SparCL: R is task-agnostic)
     * @param agnosticMetrics the metrics of {@code agnosticBitsPerByte}; null with it
     * @param stageEndStep    the global step each stage ends at
     * @param ce              training-batch CE at every step (nats)
     * @param stageFlops      counted training multiply-adds of each stage (incl. DDR's scoring passes)
     * @param flops           their sum
     * @param perTask         the method's diagnostics, a value per task (CLNP: free neurons, reuse...; SparCL:
     *                        windows kept by DDR...)
     */
    public record Run(String id, String description, List<String> stages, double[][] bitsPerByte, ClMetrics metrics,
                      double[][] agnosticBitsPerByte, ClMetrics agnosticMetrics, int steps, int[] stageEndStep, double[] ce, long[] stageFlops, long flops,
                      Map<String, double[]> perTask, double seconds) {
    }
}
