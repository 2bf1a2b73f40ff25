/**
 * Experiments: reproducible runs of the project's methods whose figures go into EXPERIMENTS.md and the reports
 * ({@code sparsa experiment NAME}, {@code sparsa demo}). {@link dev.sparsa.experiment.SparsifyExperiment} trains
 * every sparsification method from one dense model and evaluates them alike ({@link
 * dev.sparsa.experiment.SparsifyResults}); {@link dev.sparsa.experiment.DenseLlamaCache} pretrains and caches the
 * small dense Llamas the demo and the quick variants start from.
 *
 * <p>The top layer of sparsa-core: depends on {@code train}, {@code eval}, {@code profile}, {@code perf},
 * {@code model} and {@code io}; nothing in the core depends on it.
 */
package dev.sparsa.experiment;
