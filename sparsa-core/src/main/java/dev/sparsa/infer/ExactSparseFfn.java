package dev.sparsa.infer;

import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.Arena;
import java.util.Arrays;

/**
 * Exact-sparse gated FFN for ReLU-family activations (DESIGN.md §6): the gate is computed densely, then only the
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
 * hidden size must be a multiple of 32 for Q8_0. The copy lives in an automatic arena, freed with the kernel.
 */
public final class ExactSparseFfn extends SparseFfnBase {
    public ExactSparseFfn(FfnWeights weights, Activation act) {
        this(weights, act, downTypeFor(weights));
    }

    /** With an explicit dtype for the transposed down projection (e.g. F32: exact for quantized sources). */
    public ExactSparseFfn(FfnWeights weights, Activation act, DType downTType) {
        super(weights, act, "exact-sparse", downTType, Arena.ofAuto());
    }

    @Override
    public void forward(float[] x, int batch, int pos0, float[] y, ActivationTap tap, Parallel par) {
        if (batch == 1) {
            forwardOne(x, pos0, y, tap, par);
            return;
        }
        int d = w.hiddenSize();
        int f = w.intermediateSize();
        float[] gate = new float[batch * f];
        Kernels.matmul(w.gate(), x, batch, gate, par);             // gate = W_gate x (dense)
        boolean tapped = tap.wants(w.layer());
        float[] xb = new float[d];
        float[] gb = new float[f];
        float[] a = new float[f];
        float[] up = new float[f];
        float[] h = new float[f];
        float[] yb = new float[d];
        int[] active = new int[f];
        float[] coef = new float[f];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(x, b * d, xb, 0, d);
            System.arraycopy(gate, b * f, gb, 0, f);
            int n = 0;
            for (int i = 0; i < f; i++) {
                a[i] = act.apply(gb[i]);                           // a = act(gate)
                if (a[i] != 0f) {
                    active[n++] = i;                               // I = {i : a_i ≠ 0}
                }
            }
            Arrays.fill(up, 0f);
            Kernels.matvecRows(w.up(), active, n, xb, up, par);    // up_i = W_up[i,:]·x, i ∈ I
            for (int i = 0; i < f; i++) {
                h[i] = a[i] * up[i];                               // h = a ⊙ up (0 outside I)
            }
            if (tapped) {
                tap.onFfn(w.layer(), pos0 + b, xb, gb, a, h);
            }
            n = collectActive(h, f, active, coef);                 // the tap may have zeroed (or set) entries
            Arrays.fill(yb, 0f);
            Kernels.axpyRows(downT, active, coef, n, yb, par);     // y = Σ_{i∈I} h_i d_i
            System.arraycopy(yb, 0, y, b * d, d);
        }
    }

    /**
     * Decode (one token): gate, activation and the up rows of the active neurons in one parallel pass over the
     * neurons (each chunk computes {@code g_i = W_gate[i,:]·x}, {@code a_i = act(g_i)} and, where a_i ≠ 0,
     * {@code up_i = W_up[i,:]·x}, then {@code h_i = a_i·up_i}), then {@code y = Σ_{i∈I} h_i d_i}: two hand-offs to
     * the workers instead of three, and no serial pass between gate and up. Each value is computed by the same
     * kernel as in the batched path, so the result is bit-identical to it.
     */
    private void forwardOne(float[] x, int pos0, float[] y, ActivationTap tap, Parallel par) {
        int d = w.hiddenSize();
        int f = w.intermediateSize();
        Tensor gateW = w.gate();
        Tensor upW = w.up();
        float[] g = new float[f];
        float[] a = new float[f];
        float[] h = new float[f];
        par.forRange(f, 16, (from, to) -> {
            Kernels.matvecRange(gateW, from, to, x, g);            // g = W_gate x (rows [from, to))
            for (int i = from; i < to; i++) {
                float ai = act.apply(g[i]);                        // a = act(g)
                a[i] = ai;
                float upi = ai != 0f ? Kernels.dotRow(upW, i, x, 0) : 0f; // up_i = W_up[i,:]·x, i ∈ I
                h[i] = ai * upi;                                   // h = a ⊙ up (0 outside I)
            }
        });
        if (tap.wants(w.layer())) {
            tap.onFfn(w.layer(), pos0, Arrays.copyOf(x, d), g, a, h);
        }
        int[] active = new int[f];
        float[] coef = new float[f];
        int n = collectActive(h, f, active, coef);                 // the tap may have zeroed (or set) entries
        Arrays.fill(y, 0, d, 0f);
        Kernels.axpyRows(downT, active, coef, n, y, par);          // y = Σ_{i∈I} h_i d_i
    }
}
