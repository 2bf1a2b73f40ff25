package dev.sparsa.infer;

import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnActivations;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.Arena;
import java.util.Arrays;

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
    public void forward(float[] x, int batch, int pos0, float[] y, FfnActivations acts, ActivationTap tap,
                        Parallel par) {
        Scratch s = scratch(acts, Scratch.class, batch, w);
        if (batch == 1) {
            forwardOne(x, pos0, y, s, tap, par);
            return;
        }
        int d = w.hiddenSize();
        int f = w.intermediateSize();
        float[] gate = s.gate;
        float[] a = s.act;
        float[] up = s.up;
        float[] h = s.h;
        int[] active = s.active;
        float[] coef = s.coef;
        float[] yb = s.yRow;
        Tensor upW = w.up();
        Kernels.matmul(s.gemm, w.gate(), x, batch, gate, par);     // gate = W_gate x (dense)
        boolean tapped = tap.wants(w.layer());
        for (int b = 0; b < batch; b++) {
            int o = b * f;
            int xo = b * d;
            int n = 0;
            for (int i = 0; i < f; i++) {
                float ai = act.apply(gate[o + i]);                 // a = act(gate)
                a[o + i] = ai;
                up[o + i] = 0f;
                if (ai != 0f) {
                    active[n++] = i;                               // I = {i : a_i ≠ 0}
                }
            }
            int count = n;
            par.forRange(count, 16, (from, to) -> {                // up_i = W_up[i,:]·x, i ∈ I
                for (int k = from; k < to; k++) {
                    up[o + active[k]] = Kernels.dotRow(upW, active[k], x, xo);
                }
            });
            for (int i = 0; i < f; i++) {
                h[o + i] = a[o + i] * act.up(up[o + i]);           // h = a ⊙ up (0 outside I)
            }
            if (tapped) {
                tap.onFfn(w.layer(), pos0 + b, x, xo, gate, a, h, o);
            }
            n = collectActive(h, o, f, active, coef);              // the tap may have zeroed (or set) entries
            Arrays.fill(yb, 0f);
            Kernels.axpyRows(downT, active, coef, n, yb, par);     // y = Σ_{i∈I} h_i d_i
            System.arraycopy(yb, 0, y, xo, d);
        }
    }

    /**
     * Decode (one token): gate, activation and the up rows of the active neurons in one parallel pass over the
     * neurons (each chunk computes {@code g_i = W_gate[i,:]·x}, {@code a_i = act(g_i)} and, where a_i ≠ 0,
     * {@code up_i = W_up[i,:]·x}, then {@code h_i = a_i·up_i}), then {@code y = Σ_{i∈I} h_i d_i}: two hand-offs to
     * the workers instead of three, and no serial pass between gate and up. Each value is computed by the same
     * kernel as in the batched path, so the result is bit-identical to it.
     */
    private void forwardOne(float[] x, int pos0, float[] y, Scratch s, ActivationTap tap, Parallel par) {
        int d = w.hiddenSize();
        int f = w.intermediateSize();
        Tensor gateW = w.gate();
        Tensor upW = w.up();
        float[] g = s.gate;
        float[] a = s.act;
        float[] up = s.up;
        float[] h = s.h;
        par.forRange(f, 16, (from, to) -> {
            Kernels.matvecRange(gateW, from, to, x, g);            // g = W_gate x (rows [from, to))
            for (int i = from; i < to; i++) {
                float ai = act.apply(g[i]);                        // a = act(g)
                a[i] = ai;
                float upi = ai != 0f ? Kernels.dotRow(upW, i, x, 0) : 0f; // up_i = W_up[i,:]·x, i ∈ I
                up[i] = upi;
                h[i] = ai * act.up(upi);                           // h = a ⊙ up (0 outside I)
            }
        });
        if (tap.wants(w.layer())) {
            tap.onFfn(w.layer(), pos0, x, 0, g, a, h, 0);
        }
        int n = collectActive(h, 0, f, s.active, s.coef);          // the tap may have zeroed (or set) entries
        Arrays.fill(y, 0, d, 0f);
        Kernels.axpyRows(downT, s.active, s.coef, n, y, par);      // y = Σ_{i∈I} h_i d_i
    }
}
