package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.infer.SparseStats;
import dev.sparsa.infer.mode.SparseMode;
import dev.sparsa.infer.mode.SparseModels;
import dev.sparsa.io.ModelFiles;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * {@code --sparse MODE} and {@code --calibration FILE}, shared by every command that runs a decoder (eval, generate,
 * bench, profile, serve, bench-serve): the mode's kernels come from {@link SparseModels}, the calibration from the
 * file {@code sparsa calibrate} wrote beside the model unless {@code --calibration} names one.
 */
public final class SparseOption {
    @Option(names = "--sparse", defaultValue = "dense", paramLabel = "MODE",
            description = "FFN / projection mode: dense; exact (ReLU-family models: skip neurons whose activation is "
                    + "0, output equals dense); cats, teal, topk or predicted (calibrated: they read the calibration "
                    + "sparsa calibrate wrote beside the model, or --calibration); lte (a model trained by sparsa experiment lte: "
                    + "its routers, lte_routers.safetensors in the model folder, pick experts). See docs/sparse-modes.md, "
                    + "docs/lte.md. "
                    + "Default: ${DEFAULT-VALUE}.")
    public String sparse = "dense";

    @Option(names = "--calibration", paramLabel = "FILE",
            description = "Calibration file of the --sparse mode (default: sparsa-calibration-MODE.safetensors beside"
                    + " the model).")
    public Path calibration;

    /** The mode; a one-line usage error for an unknown name or a --calibration the mode does not read. */
    public SparseMode mode() {
        SparseMode m = SparseMode.of(sparse);
        if (calibration != null && !m.calibrated()) {
            throw new SparsaException.UsageException("--calibration is for the calibrated modes (cats, teal, topk, "
                    + "predicted), not --sparse " + m.key());
        }
        return m;
    }

    /** Loads {@code files} in the mode ({@code stats} may be null). */
    public SparseModels.Loaded load(ModelFiles files, SparseStats stats) {
        return SparseModels.load(files, mode(), calibration, stats);
    }
}
