package dev.sparsa.infer;

import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.FfnActivations;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.model.LteRouters;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.NeuronBundles;
import dev.sparsa.tensor.Parallel;

import java.lang.foreign.Arena;
import java.util.Arrays;

/**
 * LTE's expert-granular sparse FFN (the {@code lte} mode, docs/lte.md): per token the router picks the experts,
 * {@code z_e = x·W_r,e}, expert e computed iff {@code σ(z_e) > τ} ({@link LteRouters#selected}), and only their
 * neurons are read. Expert e is the contiguous neurons [e·S, (e+1)·S), stored as neuron bundles
 * ({@link NeuronBundles} with the gate row first: [gate row | up row | down column] per neuron), so one expert is one
 * contiguous read of S records, the structured sparsity LTE trains for. Any activation (SiLU included): the skipped
 * neurons are decided by the router, not by zeros.
 *
 * <p>One token: the router (N·D multiply-adds, scalar, ascending j, as training computes it), then one parallel pass
 * over the experts (gate, up and act ⊙ up of the selected ones; the others 0 in act and h), the tap, and the down
 * projection over the fixed neuron slices of {@link SparseFfnBase} (ascending i within a slice, slices summed in
 * order), so the bits do not depend on the thread count. A batch runs its tokens one after another (each token has
 * its own experts). Output equals {@code DenseFfn} with the unselected experts' h set to 0, up to summation order
 * (and the Q8_0 rounding of the down columns for quantized sources, as {@link ExactSparseFfn}).
 */
public final class LteFfn extends SparseFfnBase {
    private final float[] router;
    private final int expertSize;
    private final int experts;
    private final float tau;

    /** Layer {@code weights.layer()} of {@code routers}; down columns as {@link SparseFfnBase#downTypeFor}. */
    public LteFfn(FfnWeights weights, Activation act, LteRouters routers) {
        this(weights, act, routers.router(weights.layer()), routers.expertSize(), routers.tau(), downTypeFor(weights));
    }

    /**
     * @param router     [N, D] row-major, N = F / expertSize
     * @param downTType  dtype of the stored down columns (F32: exact for quantized sources)
     */
    public LteFfn(FfnWeights weights, Activation act, float[] router, int expertSize, float tau, DType downTType) {
        super(check(weights, router, expertSize), act, downTType, FfnLayout.BUNDLED, true, Arena.ofAuto());
        this.router = router.clone();
        this.expertSize = expertSize;
        this.experts = weights.intermediateSize() / expertSize;
        this.tau = tau;
    }

    private static FfnWeights check(FfnWeights w, float[] router, int s) {
        if (s < 1 || w.intermediateSize() % s != 0) {
            throw new IllegalArgumentException("layer " + w.layer() + ": expert size " + s + " must divide F = "
                    + w.intermediateSize());
        }
        if (router.length != w.intermediateSize() / s * w.hiddenSize()) {
            throw new IllegalArgumentException("layer " + w.layer() + ": router of " + router.length + " values, expected "
                    + "N·D = " + w.intermediateSize() / s * w.hiddenSize());
        }
        return w;
    }

    /** The {@code lte} mode's factory over {@code routers}. */
    public static FfnKernel.Factory factory(LteRouters routers) {
        return (w, act) -> new LteFfn(w, act, routers);
    }

    public int expertSize() {
        return expertSize;
    }

    public int experts() {
        return experts;
    }

    public float tau() {
        return tau;
    }

    /** Router logits and the selection of the current token. */
    static final class LteScratch extends Scratch {
        final float[] z;
        final boolean[] sel;

        LteScratch(int capacity, int f, int d, int n) {
            super(capacity, f, d);
            z = new float[n];
            sel = new boolean[n];
        }
    }

    @Override
    public FfnActivations newActivations(int capacity) {
        return new LteScratch(capacity, w.intermediateSize(), w.hiddenSize(), experts);
    }

    @Override
    public void forward(float[] x, int batch, int pos0, float[] y, FfnActivations acts, ActivationTap tap,
                        Parallel par) {
        LteScratch sc = scratch(acts, LteScratch.class, batch, w);
        int d = w.hiddenSize();
        int f = w.intermediateSize();
        int s = expertSize;
        float[] gate = sc.gate;
        float[] up = sc.up;
        float[] a = sc.act;
        float[] h = sc.h;
        NeuronBundles nb = bundles;
        boolean tapped = tap.wants(w.layer());
        for (int b = 0; b < batch; b++) {
            int xo = b * d;
            int o = b * f;
            LteRouters.logits(router, experts, d, x, xo, sc.z, 0);                // z_e = x·W_r,e
            for (int e = 0; e < experts; e++) {
                sc.sel[e] = LteRouters.selected(sc.z[e], tau);                       // σ(z_e) > τ
            }
            par.forRange(experts, 1, (e0, e1) -> {
                for (int e = e0; e < e1; e++) {
                    int from = o + e * s;
                    int to = from + s;
                    if (!sc.sel[e]) {
                        Arrays.fill(gate, from, to, 0f);
                        Arrays.fill(up, from, to, 0f);
                        Arrays.fill(a, from, to, 0f);
                        Arrays.fill(h, from, to, 0f);
                        continue;
                    }
                    for (int i = e * s; i < (e + 1) * s; i++) {
                        gate[o + i] = nb.dotGate(i, x, xo);                          // gate_i = W_gate[i]·x
                        up[o + i] = nb.dotUp(i, x, xo);                              // up_i = W_up[i]·x
                    }
                    act.gated(gate, up, a, h, from, to);                             // h = act(gate) ⊙ up
                }
            });
            if (tapped) {
                tap.onFfn(w.layer(), pos0 + b, x, xo, gate, a, h, o);
            }
            downSlices(h, o, y, xo, sc, par);                                        // y = Σ_{i∈E} h_i d_i
        }
    }

    /** Multiply-adds of one token: the router (N·D) and, per selected expert, S·(gate + up + down) = 3·S·D. */
    public static long flops(int selectedExperts, int experts, int expertSize, int d) {
        return (long) experts * d + 3L * selectedExperts * expertSize * d;
    }
}
