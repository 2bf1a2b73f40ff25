package dev.sparsa.train;

/**
 * What a {@link Method} sees after an optimizer step: the step number, the parameters (values, gradients), the
 * optimizer (its moments, for methods that reset them) and the last micro-batch's activations.
 *
 * @param step     the step just taken (1-based)
 * @param steps    the run's total
 * @param backprop the engine of the last micro-batch ({@link Backprop#state()} holds its activations)
 */
public record TrainContext(int step, int steps, LlamaParams params, AdamW optimizer, Backprop backprop,
                           Backprop.Loss loss) {
}
