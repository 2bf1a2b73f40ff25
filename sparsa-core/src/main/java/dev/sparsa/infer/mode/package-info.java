/**
 * The {@code --sparse} modes ({@link dev.sparsa.infer.mode.SparseMode}): their calibration
 * ({@link dev.sparsa.infer.mode.Calibration}, stored and validated by {@link dev.sparsa.infer.mode.CalibrationFile}
 * for one model, {@link dev.sparsa.infer.mode.ModelShape}) and the one place a mode becomes kernels
 * ({@link dev.sparsa.infer.mode.SparseModels}). See docs/sparse-modes.md.
 */
package dev.sparsa.infer.mode;
