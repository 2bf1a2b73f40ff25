package dev.sparsa.model;

import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Tensor;

/**
 * One gated FFN block's weights, HF layout ({@code [out, in]}): gate and up are F × D, down is D × F, so neuron i
 * reads row i of gate and up and writes column d_i of down.
 */
public record FfnWeights(int layer, Tensor gate, Tensor up, Tensor down) {

    public int hiddenSize() {
        return gate.cols();
    }

    public int intermediateSize() {
        return gate.rows();
    }

    /** ‖d_i‖₂ for every neuron i: the L2 norms of down's columns (CETT: m_i = |h_i| · ‖d_i‖₂). */
    public float[] downColumnNorms() {
        return Kernels.columnNorms(down);
    }
}
