package dev.sparsa.train;

import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.spec.ModelConfig;

import java.util.Map;

/**
 * A sparsification (or plain training) method, as the trainer drives it: which model the student is, what it adds
 * to the loss, how that changes over the steps, and what it does at the end. One class per method under
 * {@code dev.sparsa.train.method}; adding a method is that class, its test and one line in {@code method.Methods}.
 *
 * <p>Everything a method holds between steps must come back from {@link #state()} / {@link #restore} so that a
 * resumed run continues to the same bits.
 */
public interface Method {

    /** The name on the command line. */
    String name();

    /** The config the student trains with, from the starting model's (e.g. ReLU in place of SiLU). */
    ModelConfig studentConfig(ModelConfig start);

    /** Steps of the run, from the user's {@code --steps} (a staged method decides itself; null when not given). */
    default int steps(Integer requested) {
        if (requested == null) {
            throw new dev.sparsa.SparsaException.UsageException(name() + " needs --steps");
        }
        return requested;
    }

    /** λ of the L1 term {@code λ · (1/L) Σ_ℓ mean|a_ℓ|} at step s (1-based); 0 for none. */
    default float l1(int step) {
        return 0f;
    }

    /** The config from step s on; a method that changes the architecture mid-run returns a new one. */
    default ModelConfig configAt(int step, ModelConfig current) {
        return current;
    }

    /**
     * A gate on every layer's FFN intermediate that the trainer's forward and backward run (LTE's routers), for the
     * parameters {@code p} the run trains; null for none. Called whenever the trainer builds its engine (after
     * {@link #restore} on resume).
     */
    default Backprop.FfnGate ffnGate(LlamaParams p) {
        return null;
    }

    /**
     * The model the trainer validates after step {@code step} of {@code steps} (in the loop, and the final validation
     * with step = steps): the method's gate as it applies at that step, so the in-loop figures are the loss of the
     * function being trained and the final one what inference reports for the saved model (LTE: the soft scores in
     * stage 1, the routers' hard selection, {@code --sparse lte}, in stage 2 and at the end). Default: the dense FFN.
     */
    default LlamaModel validationModel(LlamaWeights w, int step, int steps) {
        return LlamaModel.of(w, DenseFfn::new);
    }

    /**
     * Called after the backward and before the optimizer step (the gradients are complete): a method that masks
     * gradients (frozen weights, a gradient mask) zeroes them here. {@link TrainContext#loss()} is this step's.
     */
    default void beforeOptimizerStep(TrainContext ctx) {
    }

    /** Called after each optimizer step with the trainer's state. */
    default void afterStep(TrainContext ctx) {
    }

    /** After the last step: the config the model is saved with (e.g. a FATReLU threshold chosen on validation). */
    default ModelConfig finish(Finish ctx) {
        return ctx.config();
    }

    /** What a checkpoint must keep of this method (string key/values). */
    default Map<String, String> state() {
        return Map.of();
    }

    /** Restores {@link #state()} on resume. */
    default void restore(Map<String, String> state) {
    }

    /** The options that make two runs of this method the same run (compared on resume). */
    default Map<String, String> options() {
        return Map.of();
    }

    /** What the method reports in the results (chosen threshold, λ schedule...). */
    default Map<String, Object> summary() {
        return Map.of();
    }

    /** What {@link #finish} can use: the trained weights and a validation measure. */
    interface Finish {
        ModelConfig config();

        LlamaParams params();

        /** Validation bits per byte of the trained weights under config {@code c}. */
        double bitsPerByte(ModelConfig c);

        /** Positive values of act(gate) over a validation sample (to place thresholds). */
        float[] positiveActivations(ModelConfig c);

        /** A line for the log. */
        void say(String message);
    }
}
