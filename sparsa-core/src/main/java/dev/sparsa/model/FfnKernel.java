package dev.sparsa.model;

import dev.sparsa.tensor.Parallel;

/**
 * How one layer's gated FFN is computed: {@code y = W_down · (act(W_gate x) ⊙ W_up x)}.
 * Implementations: {@link DenseFfn} (reference, and the one the trainer differentiates),
 * {@code dev.sparsa.infer.ExactSparseFfn} (skips neurons with h = 0), {@code dev.sparsa.infer.PredictedSparseFfn};
 * other sparse kernels plug in the same way. A model builds one kernel per layer through a {@link Factory} and
 * never looks inside.
 *
 * <p>Contract: the kernel writes gate, act and h of every row into {@code acts} (entries a kernel skipped are 0 in
 * act and h; up where it computed it), calls {@code tap.onFfn(layer, pos0 + b, x, b·D, gate, act, h, b·F)} for each
 * row b before the down projection when {@code tap.wants(layer)}, and uses the tap's possibly modified h for the down
 * projection. Results must not depend on the thread count.
 */
public interface FfnKernel {

    /** Builds the kernel of one layer; {@code DenseFfn::new} is the default. */
    @FunctionalInterface
    interface Factory {
        FfnKernel create(FfnWeights weights, Activation act);
    }

    FfnWeights weights();

    Activation activation();

    /**
     * {@code y[b·D ..] = FFN(x[b·D ..])} for the {@code batch} rows at positions {@code pos0 ..}; x and y are
     * batch × D, row-major, and must not alias. {@code acts} receives the intermediates (capacity ≥ batch).
     */
    void forward(float[] x, int batch, int pos0, float[] y, FfnActivations acts, ActivationTap tap, Parallel par);

    /**
     * Intermediates (and this kernel's scratch) for forwards of up to {@code capacity} rows; allocated once by the
     * caller's workspace and passed to every {@link #forward} of kernels of the same kind and width.
     */
    default FfnActivations newActivations(int capacity) {
        return new FfnActivations(capacity, weights().intermediateSize());
    }

    /** ‖d_i‖₂, the norms of the down projection's columns (length F), for CETT. Computed once, then cached. */
    float[] downColumnNorms();

    default int layer() {
        return weights().layer();
    }
}
