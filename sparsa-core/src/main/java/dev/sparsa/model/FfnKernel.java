package dev.sparsa.model;

import dev.sparsa.tensor.Parallel;

/**
 * How one layer's gated FFN is computed (DESIGN.md §6): {@code y = W_down · (act(W_gate x) ⊙ W_up x)}.
 * Implementations: {@link DenseFfn} (reference), {@code dev.sparsa.infer.ExactSparseFfn} (skips neurons with h = 0);
 * predicted / top-k / threshold kernels plug in the same way. A model builds one kernel per layer through a
 * {@link Factory} and never looks inside.
 *
 * <p>Contract: for each token b the kernel calls {@code tap.onFfn(layer, pos0 + b, x_b, gate, act, h)} with full
 * length-F arrays (entries a kernel skipped are 0 in act and h) before the down projection when
 * {@code tap.wants(layer)}, and uses the tap's possibly modified h for the down projection. Results must not depend
 * on the thread count.
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
     * {@code y[b·D ..] = FFN(x[b·D ..])} for the {@code batch} tokens at positions {@code pos0 ..}; x and y are
     * batch × D, row-major, and must not alias.
     */
    void forward(float[] x, int batch, int pos0, float[] y, ActivationTap tap, Parallel par);

    /** ‖d_i‖₂, the norms of the down projection's columns (length F), for CETT. Computed once, then cached. */
    float[] downColumnNorms();

    default int layer() {
        return weights().layer();
    }
}
