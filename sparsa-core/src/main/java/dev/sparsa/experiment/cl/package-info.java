/**
 * Continual learning on a sequence of Brown genre-group tasks ({@code sparsa experiment clnp|sparcl}): the task
 * sequence ({@link dev.sparsa.experiment.cl.TaskSequence}), the runs of one experiment (the baselines sequential,
 * joint and replay beside the method, {@link dev.sparsa.experiment.cl.ClExperiment}), the accuracy matrix and its
 * metrics ({@link dev.sparsa.experiment.cl.ClMetrics}: average final bits/byte, forgetting, BWT, FWT) and the counted
 * training multiply-adds ({@link dev.sparsa.experiment.cl.Flops}), a run's state after each stage for a
 * mid-sequence {@code --resume} ({@code StageCheckpoint}). The methods are {@link dev.sparsa.train.Continual}
 * classes under {@code dev.sparsa.train.method} ({@link dev.sparsa.train.method.Clnp}, {@link
 * dev.sparsa.train.method.SparCl}).
 */
package dev.sparsa.experiment.cl;
