/**
 * The training methods, one class each behind {@link dev.sparsa.train.Method}: {@code Dense} (plain LM training),
 * {@code ActivationSwap} (relu, relu2, drelu), {@code Relufy} (ReLU Strikes Back, two stages), {@code ProSparse}
 * (ReLU substitution, sine-staged L1 on the FFN activations, FATReLU threshold shifting); {@code Methods} finds them
 * by name. A new method is a class here, its test, and one line in {@code Methods}.
 */
package dev.sparsa.train.method;
