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
 * Gate-first sparse gated FFN (docs/ARCHITECTURE.md §7): the gate {@code g = W_gate x} is computed densely, a
 * {@link NeuronRule} picks the kept neurons I of each token (exact: a_i ≠ 0; CATS: |a_i| ≥ t; statistical top-k:
 * g_i &gt; θ(g)), and only their up rows and down columns are read: {@code up_i = W_up[i,:]·x} for i ∈ I and
 * {@code y = Σ_{i∈I} h_i d_i} from a transposed down projection (one contiguous row d_i per neuron). The output is
 * that of {@link DenseFfn} with {@code h_i = 0} outside I, up to float summation order.
 *
 * <p>The transposed down projection keeps the dtype of a float source (lossless); a quantized source is
 * re-quantized to Q8_0 along the other axis (see {@link ExactSparseFfn} for the error bound). The copy lives in an
 * automatic arena, freed with the kernel: it costs the size of W_down once more (Q8_0: 1.06 bytes per weight).
 */
public sealed class GateSparseFfn extends SparseFfnBase permits ExactSparseFfn {
    private final NeuronRule rule;

    /** The kernel for {@code rule}; {@link NeuronRule.NonZero} needs a ReLU-family activation. */
    public GateSparseFfn(FfnWeights weights, Activation act, NeuronRule rule) {
        this(weights, act, rule, downTypeFor(weights));
    }

    /** With an explicit dtype for the transposed down projection (e.g. F32: exact for quantized sources). */
    public GateSparseFfn(FfnWeights weights, Activation act, NeuronRule rule, DType downTType) {
        super(checked(weights, act, rule), act, downTType, Arena.ofAuto());
        this.rule = rule;
    }

    private static FfnWeights checked(FfnWeights w, Activation act, NeuronRule rule) {
        if (rule instanceof NeuronRule.NonZero) {
            requireZeroBelow(w, act, kind(rule));
        }
        return w;
    }

    static String kind(NeuronRule rule) {
        return switch (rule) {
            case NeuronRule.NonZero z -> "exact-sparse";
            case NeuronRule.Magnitude m -> "cats";
            case NeuronRule.StatTopK s -> "topk";
        };
    }

    /** The rule this kernel applies. */
    public NeuronRule rule() {
        return rule;
    }

    @Override
    public void forward(float[] x, int batch, int pos0, float[] y, FfnActivations acts, ActivationTap tap,
                        Parallel par) {
        Scratch s = scratch(acts, Scratch.class, batch, w);
        if (batch == 1 && rule.elementwise()) {
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
        Kernels.matmul(s.gemm, w.gate(), x, batch, gate, par);     // g = W_gate x (dense)
        boolean tapped = tap.wants(w.layer());
        for (int b = 0; b < batch; b++) {
            int o = b * f;
            int xo = b * d;
            rule.select(act, gate, o, f, a);                       // a_i = act(g_i) for i ∈ I, else 0
            int n = 0;
            for (int i = 0; i < f; i++) {
                up[o + i] = 0f;
                if (a[o + i] != 0f) {
                    active[n++] = i;
                }
            }
            int count = n;
            par.forRange(count, 16, (from, to) -> {                // up_i = W_up[i,:]·x, i ∈ I
                for (int k = from; k < to; k++) {
                    up[o + active[k]] = Kernels.dotRow(upW, active[k], x, xo);
                }
            });
            for (int i = 0; i < f; i++) {
                h[o + i] = a[o + i] * act.up(up[o + i]);           // h = a ⊙ up' (0 outside I)
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
     * Decode (one token) with an elementwise rule: gate, decision and the up rows of the kept neurons in one parallel
     * pass over the neurons (each chunk computes {@code g_i = W_gate[i,:]·x}, {@code a_i = act(g_i)}, keeps i when
     * {@code |a_i| ≥ t} and then reads {@code up_i = W_up[i,:]·x}), then {@code y = Σ_{i∈I} h_i d_i}: two hand-offs
     * to the workers instead of three. Each value is computed by the same kernel as in the batched path, so the
     * result is bit-identical to it.
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
        float t = rule.magnitudeThreshold();
        par.forRange(f, 16, (from, to) -> {
            Kernels.matvecRange(gateW, from, to, x, g);            // g = W_gate x (rows [from, to))
            for (int i = from; i < to; i++) {
                float ai = act.apply(g[i]);                        // a = act(g)
                ai = Math.abs(ai) >= t ? ai : 0f;                  // i ∈ I iff |a_i| ≥ t (exact: a_i ≠ 0)
                a[i] = ai;
                float upi = ai != 0f ? Kernels.dotRow(upW, i, x, 0) : 0f; // up_i = W_up[i,:]·x, i ∈ I
                up[i] = upi;
                h[i] = ai * act.up(upi);                           // h = a ⊙ up' (0 outside I)
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
