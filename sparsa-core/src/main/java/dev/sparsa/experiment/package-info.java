/**
 * Experiments: reproducible runs of the project's methods whose figures go into EXPERIMENTS.md and the reports
 * ({@code sparsa experiment NAME}, {@code sparsa demo}). {@link dev.sparsa.experiment.SparsifyExperiment} trains
 * every sparsification method from one dense model and evaluates them alike ({@link
 * dev.sparsa.experiment.SparsifyResults}); the neuron-level experiments: {@link dev.sparsa.experiment.RedoExperiment}
 * (ReDo on a stream of Brown genres), {@link dev.sparsa.experiment.PruneExperiment} ({@code ap}: iterative pruning
 * with and without AP; {@code sap}: SAP against iterative magnitude pruning) and {@link
 * dev.sparsa.experiment.AttributionExperiment} (attribution vs magnitude sparse activation), and {@link
 * dev.sparsa.experiment.LteExperiment} (LTE against ProSparse, FLOPs counted), whose finished runs
 * {@link dev.sparsa.experiment.Runs} keeps in a {@link dev.sparsa.experiment.RunStore} for {@code --resume};
 * {@link dev.sparsa.experiment.DenseLlamaCache} pretrains and caches the small dense Llamas the demo and the quick
 * variants start from. Continual learning on a genre sequence ({@code clnp}, {@code sparcl}) is the sub-package
 * {@code experiment.cl}.
 *
 * <p>The top layer of sparsa-core: depends on {@code train}, {@code eval}, {@code profile}, {@code perf},
 * {@code infer}, {@code model} and {@code io}; nothing in the core depends on it.
 */
package dev.sparsa.experiment;
