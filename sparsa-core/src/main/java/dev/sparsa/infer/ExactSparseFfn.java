package dev.sparsa.infer;

import dev.sparsa.model.Activation;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.tensor.DType;

/**
 * Exact-sparse gated FFN for ReLU-family activations (docs/ARCHITECTURE.md §7): the gate is computed densely, then only the
 * active neurons I = {i : h_i ≠ 0} are touched: {@code up_i = W_up[i,:]·x} for i ∈ I and
 * {@code y = Σ_{i∈I} h_i d_i} from a transposed down projection (one contiguous row per neuron). Equals
 * {@link DenseFfn} up to float summation order for float weights.
 *
 * <p>The transposed down projection keeps the dtype of a float source (lossless). A quantized source (Q8_0, Q4_0)
 * is dequantized and re-quantized to Q8_0 along the other axis (1.06 bytes per weight instead of 4 for F32): each
 * weight of d_i then carries the Q8_0 rounding error of its new 32-value block, at most half a step
 * (max |block| / 254), so y differs from the dense result by at most Σ_i |h_i| · max|block_i| / 254 per output
 * (relative error ~0.2–0.4%, below the error the source quantization already has). Use
 * {@link #ExactSparseFfn(FfnWeights, Activation, DType)} with F32 for the exact (4 bytes per weight) variant; the
 * hidden size must be a multiple of 32 for Q8_0. The copy lives in an automatic arena, freed with the kernel; the
 * layout (neuron bundles by default) and its memory cost are described in {@link GateSparseFfn}.
 *
 * <p>This is {@link GateSparseFfn} with the rule {@link NeuronRule.NonZero} (the {@code exact} mode).
 */
public final class ExactSparseFfn extends GateSparseFfn {
    public ExactSparseFfn(FfnWeights weights, Activation act) {
        this(weights, act, downTypeFor(weights));
    }

    /** With an explicit dtype for the down columns (e.g. F32: exact for quantized sources). */
    public ExactSparseFfn(FfnWeights weights, Activation act, DType downTType) {
        super(weights, act, new NeuronRule.NonZero(), downTType);
    }

    /** With an explicit dtype for the down columns and an explicit layout ({@link FfnLayout}). */
    public ExactSparseFfn(FfnWeights weights, Activation act, DType downTType, FfnLayout layout) {
        super(weights, act, new NeuronRule.NonZero(), downTType, layout);
    }
}
