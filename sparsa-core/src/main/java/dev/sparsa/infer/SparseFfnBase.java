package dev.sparsa.infer;

import dev.sparsa.SparsaException;
import dev.sparsa.model.Activation;
import dev.sparsa.model.FfnActivations;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.Arena;

/**
 * What the sparse gated FFN kernels share ({@link GateSparseFfn}, {@link PredictedSparseFfn}): the ReLU-family
 * check (for the kernels that need exact zeros), the weights and activation, the transposed down projection (one contiguous row d_i per neuron), the cached
 * down column norms and the collection of the active set from h. Each subclass keeps only how it finds the active
 * neurons (exact: dense gate; predicted: the predictor chooses candidates).
 */
abstract sealed class SparseFfnBase implements FfnKernel permits GateSparseFfn, PredictorFfn {
    final FfnWeights w;
    final Activation act;
    final Tensor downT;
    private volatile float[] downNorms;

    SparseFfnBase(FfnWeights weights, Activation act, DType downTType, Arena arena) {
        this.w = weights;
        this.act = act;
        this.downT = Kernels.transpose(weights.down(), downTType, arena);
    }

    /** {@code kind} names the kernel in the error message ("exact-sparse", "predicted-sparse"). */
    static void requireZeroBelow(FfnWeights weights, Activation act, String kind) {
        if (!act.zeroBelow()) {
            throw new SparsaException.UnsupportedException("layer " + weights.layer() + ": the " + kind + " FFN needs "
                    + "a ReLU-family activation (relu, relu2, fatrelu), the model uses " + act.kind().name().toLowerCase());
        }
    }

    /** The source dtype for float weights; Q8_0 for quantized ones (F32 when the hidden size is not a multiple of 32). */
    static DType downTypeFor(FfnWeights weights) {
        Tensor down = weights.down();
        DType src = down.dtype();
        if (!src.quantized()) {
            return src;
        }
        return down.rows() % DType.Q8_0.blockSize() == 0 ? DType.Q8_0 : DType.F32;
    }

    /**
     * Collects the neurons with h_i ≠ 0 of the row at {@code off} (in index order) into {@code active} and their h_i
     * into {@code coef}; returns their number. Run after the tap, which may have zeroed (or set) entries.
     */
    static int collectActive(float[] h, int off, int f, int[] active, float[] coef) {
        int n = 0;
        for (int i = 0; i < f; i++) {
            float hi = h[off + i];
            if (hi != 0f) {
                active[n] = i;
                coef[n++] = hi;
            }
        }
        return n;
    }

    /** The intermediates plus one row's scratch: the active list, its coefficients, the row's output. */
    static class Scratch extends FfnActivations {
        final int[] active;
        final float[] coef;
        final float[] yRow;

        Scratch(int capacity, int f, int d) {
            super(capacity, f);
            active = new int[f];
            coef = new float[f];
            yRow = new float[d];
        }
    }

    @Override
    public FfnActivations newActivations(int capacity) {
        return new Scratch(capacity, w.intermediateSize(), w.hiddenSize());
    }

    /** {@code acts} as this kernel's scratch; an error when the caller made it with another kernel. */
    static <S extends Scratch> S scratch(FfnActivations acts, Class<S> type, int batch, FfnWeights w) {
        acts.check(batch, w.intermediateSize());
        if (!type.isInstance(acts)) {
            throw new IllegalArgumentException("layer " + w.layer() + ": FFN activations were not made by this kernel"
                    + " (use FfnKernel.newActivations)");
        }
        return type.cast(acts);
    }

    @Override
    public FfnWeights weights() {
        return w;
    }

    @Override
    public Activation activation() {
        return act;
    }

    /** The down projection transposed, [F, D]: row i is d_i. */
    public Tensor downTransposed() {
        return downT;
    }

    @Override
    public float[] downColumnNorms() {
        float[] n = downNorms;
        if (n == null) {
            n = w.downColumnNorms();
            downNorms = n;
        }
        return n;
    }
}
