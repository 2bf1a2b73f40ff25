package dev.sparsa.model.llama;

import dev.sparsa.tensor.Gemm;
import dev.sparsa.tensor.Parallel;

/**
 * How one layer computes its attention projections from their inputs, when they are not the dense ones: the seam
 * for input-sparse modes such as TEAL (docs/sparse-modes.md), which zero small entries of xn and att and skip the
 * weight columns they meet. {@link LlamaBlock#layer} and {@link BatchDecode} call it in place of their own dense
 * projections when the model has one for the layer ({@link LlamaModel#of(LlamaWeights,
 * dev.sparsa.model.FfnKernel.Factory, Factory)}); a dense model has none and runs its usual code, unchanged.
 *
 * <p>Contract: rows are row-major; biases are added by the implementation; results must not depend on the thread
 * count. {@code gemm} is the workspace's engine for batched products.
 */
public interface AttnProjections {

    /** Builds the projections of one layer (null: that layer keeps the dense code). */
    @FunctionalInterface
    interface Factory {
        AttnProjections create(LlamaWeights.Layer layer);
    }

    /** {@code q, k, v = xn W_qᵀ (+b_q), xn W_kᵀ (+b_k), xn W_vᵀ (+b_v)} for {@code rows} rows of {@code xn}. */
    void qkv(float[] xn, int rows, float[] q, float[] k, float[] v, Gemm gemm, Parallel par);

    /** {@code out = att W_oᵀ (+b_o)} for {@code rows} rows of {@code att} (heads concatenated). */
    void o(float[] att, int rows, float[] out, Gemm gemm, Parallel par);
}
