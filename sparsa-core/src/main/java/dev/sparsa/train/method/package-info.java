/**
 * The training methods, one class each behind {@link dev.sparsa.train.Method}: {@code Dense} (plain LM training),
 * {@code ActivationSwap} (relu, relu2, drelu), {@code Relufy} (ReLU Strikes Back, two stages), {@code ProSparse}
 * (ReLU substitution, sine-staged L1 on the FFN activations, FATReLU threshold shifting); {@code Methods} finds them
 * by name. The neuron-level methods: {@code Redo} (recycle τ-dormant FFN neurons), and the FFN weight pruning
 * family on {@code PruningRounds} (rounds of E steps, {@code FfnMasks} held after every step, optional rewinding):
 * {@code IterativePruning} (fixed share per round by a {@code Pruner}: magnitude or Wanda), {@code Ap}
 * (Activate-while-Pruning on top of it) and {@code Sap} (PQ Index-driven amounts). {@code Lte} (Learn To be
 * Efficient: experts, sigmoid routers, efficiency loss, two stages; docs/lte.md) is also the trainer's
 * {@code Backprop.FfnGate}. docs/ARCHITECTURE.md §2 says what
 * maps to what for the methods published for CNNs and RL agents. The continual-learning methods behind {@link
 * dev.sparsa.train.Continual}: {@code Clnp} (prune inactive FFN neurons, freeze the used ones) and {@code SparCl}
 * (TDM weight masks, DGM gradient masks, DDR), driven by {@code experiment.cl} (docs/continual-learning.md).
 * A new method is a class here, its test, and one
 * line in {@code Methods} (or, for the neuron-level ones, the experiment that drives it).
 */
package dev.sparsa.train.method;
