package dev.sparsa.train;

import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.Evaluator;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;

import java.lang.foreign.Arena;

/**
 * A continual-learning method: a {@link Method} (its L1 term and step hooks, {@link #beforeOptimizerStep} for
 * gradient masks, {@link #afterStep} for weight masks) that also sees the task boundaries of a task sequence
 * ({@code dev.sparsa.experiment.cl}): what it does when a task starts and ends (CLNP prunes and freezes), the weights
 * each task is evaluated with (CLNP: that task's sub-network), the share of a task's training windows to drop before
 * an epoch (SparCL's DDR), and the non-zero weights and computed gradient entries of each matrix (the FLOP count).
 *
 * <p>The sequence loop creates a fresh {@link AdamW} per task; a method holds its state itself, and gives it between
 * tasks through {@link #state()} / {@link #restore} (the experiment's per-stage checkpoint: a run resumed after task k
 * continues to the same bits; what {@link #startTask} makes again from the weights need not be kept).
 */
public interface Continual extends Method {

    /**
     * A task boundary.
     *
     * @param index the task (0-based) in the sequence
     * @param count the tasks in the sequence
     * @param valid the task's validation windows
     */
    record Task(int index, int count, String name, LlamaParams params, EvalWindows valid, Parallel par,
                Trainer.Listener log) {
        /** Validation bits/byte of {@code w} on this task (the evaluation protocol, dense FFN kernel). */
        public double bitsPerByte(LlamaWeights w) {
            return new Evaluator(LlamaModel.of(w, DenseFfn::new), par).evaluate(valid).bitsPerByte();
        }
    }

    @Override
    default ModelConfig studentConfig(ModelConfig start) {
        return start;
    }

    /** Before the first step of a task. */
    default void startTask(Task t) {
    }

    /** After the last step of a task, before the task's evaluations. */
    default void endTask(Task t) {
    }

    /**
     * The weights task {@code task} is evaluated with now: {@code p.weights()} by default; a method that isolates
     * tasks returns a copy (allocated in {@code arena}).
     */
    default LlamaWeights weightsFor(int task, LlamaParams p, Arena arena) {
        return p.weights();
    }

    /**
     * The network every task is evaluated with when the task is not known (task-agnostic evaluation), for a method
     * whose {@link #weightsFor} gives each task its own network (CLNP: all the neurons any task claimed); null for a
     * method that evaluates one network for every task already (the default).
     */
    default LlamaWeights agnosticWeights(LlamaParams p, Arena arena) {
        return null;
    }

    /** Share of the current task's remaining training windows to drop, easiest first, before epoch e (0-based). */
    default double removeShare(int task, int epoch) {
        return 0;
    }

    /** Non-zero entries of the weight {@code name} that the forward multiplies; -1: all of them. */
    default long weightNonZeros(String name) {
        return -1;
    }

    /** Gradient entries of the weight {@code name} computed at the step just taken; -1: all of them. */
    default long gradientNonZeros(String name) {
        return -1;
    }

    /** Doubles as comma-separated shortest round-trip strings (for {@link #state()}). */
    static String doubles(double[] v) {
        StringBuilder b = new StringBuilder();
        for (double x : v) {
            b.append(b.isEmpty() ? "" : ",").append(x);
        }
        return b.toString();
    }

    /** The inverse of {@link #doubles(double[])}. */
    static double[] doubles(String s) {
        return s.isEmpty() ? new double[0] : java.util.Arrays.stream(s.split(",")).mapToDouble(Double::parseDouble)
                .toArray();
    }

    /** Per-task diagnostics for the results (a value per task, by name). */
    default java.util.Map<String, double[]> perTask() {
        return java.util.Map.of();
    }
}
