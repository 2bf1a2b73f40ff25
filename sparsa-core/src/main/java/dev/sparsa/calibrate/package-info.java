/**
 * Calibrating the sparse modes on real activations ({@link dev.sparsa.calibrate.Calibrator}): exact quantiles of
 * activation magnitudes over a corpus ({@code Histogram}), TEAL's block-wise greedy allocation
 * ({@code TealGreedy}) and predictor training with Deja Vu's weighted BCE ({@code PredictorTrainer}). Sits on
 * {@code eval} (the protocol's windows) and {@code infer} (the modes' kernels). See docs/sparse-modes.md.
 */
package dev.sparsa.calibrate;
