package dev.sparsa.infer.mode;

import dev.sparsa.SparsaException;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The {@code --sparse} modes of every command that runs a decoder (docs/sparse-modes.md). {@link #DENSE} and
 * {@link #EXACT} need nothing; the others read a calibration file that {@code sparsa calibrate --method M} writes.
 */
public enum SparseMode {
    /** Every neuron. */
    DENSE,
    /** ReLU family: skip neurons whose activation is exactly 0; output equals dense. */
    EXACT,
    /** CATS: per layer a threshold on |act(gate)|. */
    CATS,
    /** TEAL: per layer and projection a threshold on the magnitude of the projection's input. */
    TEAL,
    /** Statistical top-k (Spark Transformer) on the gate pre-activation. */
    TOPK,
    /** Deja Vu / PowerInfer: a trained predictor picks the neurons before the gate. */
    PREDICTED,
    /**
     * LTE (Learn To be Efficient): trained routers pick experts of contiguous neurons; the routers live in the model
     * folder ({@code lte_routers.safetensors}, written by {@code sparsa experiment lte}), not in a calibration file.
     */
    LTE,
    /**
     * Attribution (Song et al. 2024): per token the neurons of largest calibrated importance w_i·|act(g_i)|, w_i
     * the neuron's mean corrected GxO per unit |act| on the calibration corpus ({@code calibrate --method
     * attribution}).
     */
    ATTRIBUTION;

    /** The names, in the order help texts list them. */
    public static final List<String> NAMES = Arrays.stream(values()).map(SparseMode::key).toList();

    /** The mode's name on the command line. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The {@code sparsa calibrate --method} that makes this mode's file ({@code predictor} for predicted). */
    public String method() {
        return this == PREDICTED ? "predictor" : key();
    }

    /** Whether the mode needs a calibration file. */
    public boolean calibrated() {
        return this != DENSE && this != EXACT && this != LTE;
    }

    /** The mode named {@code name}; a usage error listing the modes otherwise. */
    public static SparseMode of(String name) {
        for (SparseMode m : values()) {
            if (m.key().equals(name)) {
                return m;
            }
        }
        throw new SparsaException.UsageException("--sparse must be one of " + String.join(", ", NAMES) + ", got "
                + name);
    }

    /** The mode whose calibration {@code method} makes; a usage error otherwise. */
    public static SparseMode ofMethod(String method) {
        for (SparseMode m : values()) {
            if (m.calibrated() && m.method().equals(method)) {
                return m;
            }
        }
        throw new SparsaException.UsageException("--method must be one of cats, teal, topk, predictor, attribution, got "
                + method);
    }
}
