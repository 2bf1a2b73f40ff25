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
 * <p>One token: the router (N·D multiply-adds, {@link LteRouters#logits}, as training computes it), then one parallel pass
 * over the experts (gate, up and act ⊙ up of the selected ones; the others 0 in act and h), the tap, and the down
 * projection over the fixed neuron slices of {@link SparseFfnBase} (ascending i within a slice, slices summed in
 * order), so the bits do not depend on the thread count. A batch reads each selected expert's weights once for
 * the tokens that selected it (the union of the tokens' experts, each token masked to its own; {@link #batched}).
 * Output equals {@code DenseFfn} with the unselected experts' h set to 0, up to summation order
 * (and the Q8_0 rounding of the down columns for quantized sources, as {@link ExactSparseFfn}).
 */
public final class LteFfn extends SparseFfnBase {
    private final float[] router;
    private final int expertSize;
    private final int experts;
    private final float tau;
    private final Selection replay;

    /**
     * A fixed expert selection in place of the router's ({@code bench --modes}' replay of a trained model's experts on
     * weights without trained routers): whether the token at position {@code pos} computes expert {@code e}.
     */
    @FunctionalInterface
    public interface Selection {
        boolean selected(int pos, int expert);
    }

    /** Layer {@code weights.layer()} of {@code routers}; down columns as {@link SparseFfnBase#downTypeFor}. */
    public LteFfn(FfnWeights weights, Activation act, LteRouters routers) {
        this(weights, act, routers.router(weights.layer()), routers.expertSize(), routers.tau(), downTypeFor(weights));
    }

    /**
     * @param router     [N, D] row-major, N = F / expertSize
     * @param downTType  dtype of the stored down columns (F32: exact for quantized sources)
     */
    public LteFfn(FfnWeights weights, Activation act, float[] router, int expertSize, float tau, DType downTType) {
        this(weights, act, router, expertSize, tau, downTType, null);
    }

    /**
     * @param replay the selection to use instead of {@code σ(z_e) > τ} (null: the router's); the router logits are
     *               still computed (their cost is real), their decision is not used
     */
    public LteFfn(FfnWeights weights, Activation act, float[] router, int expertSize, float tau, DType downTType,
                  Selection replay) {
        super(check(weights, router, expertSize), act, downTType, FfnLayout.BUNDLED, true, Arena.ofAuto());
        this.router = router.clone();
        this.expertSize = expertSize;
        this.experts = weights.intermediateSize() / expertSize;
        this.tau = tau;
        this.replay = replay;
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

    /**
     * Kernels that replay a selection ({@code bench --modes} on weights without trained routers): experts of
     * {@code expertSize}, a router drawn N(0, 1/D) per layer from {@code seed} (computed every token, as a trained
     * one would be, its decision unused), layer ℓ selecting by {@code perLayer.apply(ℓ)}; down columns as
     * {@link SparseFfnBase#downTypeFor}.
     */
    public static FfnKernel.Factory replay(int expertSize, long seed,
                                           java.util.function.IntFunction<Selection> perLayer) {
        return (w, act) -> {
            int n = w.intermediateSize() / expertSize;
            int d = w.hiddenSize();
            java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed + w.layer());
            float[] r = new float[n * d];
            for (int i = 0; i < r.length; i++) {
                r[i] = (float) (rnd.nextGaussian() / Math.sqrt(d));
            }
            return new LteFfn(w, act, r, expertSize, 0.5f, downTypeFor(w), perLayer.apply(w.layer()));
        };
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

    /** Bytes of the router read per token (F32, N·D). */
    public long routerBytes() {
        return 4L * router.length;
    }

    /**
     * Router logits and the selection of the current token; for a batch the tokens selecting each expert
     * ({@code tokens[e·capacity ..)}, {@code count[e]} of them, ascending).
     */
    static final class LteScratch extends Scratch {
        final float[] z;
        final boolean[] sel;
        final int capacity;
        final int[] count;
        final int[] tokens;

        LteScratch(int capacity, int f, int d, int n) {
            super(capacity, f, d);
            z = new float[n];
            sel = new boolean[n];
            this.capacity = capacity;
            count = new int[n];
            tokens = capacity > 1 ? new int[capacity * n] : new int[0];
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
        if (batch == 1) {
            one(x, pos0, y, sc, tap, par);
        } else {
            batched(x, batch, pos0, y, sc, tap, par);
        }
    }

    /** One token: router, the selected experts' gate, up and act ⊙ up in one parallel pass, tap, down slices. */
    private void one(float[] x, int pos0, float[] y, LteScratch sc, ActivationTap tap, Parallel par) {
        int d = w.hiddenSize();
        int s = expertSize;
        float[] gate = sc.gate;
        float[] up = sc.up;
        float[] a = sc.act;
        float[] h = sc.h;
        NeuronBundles nb = bundles;
        LteRouters.logits(router, experts, d, x, 0, sc.z, 0);                    // z_e = x·W_r,e
        for (int e = 0; e < experts; e++) {
            sc.sel[e] = replay != null ? replay.selected(pos0, e) : LteRouters.selected(sc.z[e], tau);   // σ(z_e) > τ
        }
        par.forRange(experts, 1, (e0, e1) -> {
            for (int e = e0; e < e1; e++) {
                int from = e * s;
                int to = from + s;
                if (!sc.sel[e]) {
                    Arrays.fill(gate, from, to, 0f);
                    Arrays.fill(up, from, to, 0f);
                    Arrays.fill(a, from, to, 0f);
                    Arrays.fill(h, from, to, 0f);
                    continue;
                }
                for (int i = from; i < to; i++) {
                    gate[i] = nb.dotGate(i, x, 0);                                   // gate_i = W_gate[i]·x
                    up[i] = nb.dotUp(i, x, 0);                                       // up_i = W_up[i]·x
                }
                act.gated(gate, up, a, h, from, to);                                 // h = act(gate) ⊙ up
            }
        });
        if (tap.wants(w.layer())) {
            tap.onFfn(w.layer(), pos0, x, 0, gate, a, h, 0);
        }
        downSlices(h, 0, y, 0, sc, par);                                             // y = Σ_{i∈E} h_i d_i
    }

    /**
     * A batch (prefill chunk, batched decode): the router and the selection E_b per token, then one parallel pass
     * over the union ∪_b E_b of the selected experts: each neuron's gate and up rows are read once per four of the
     * tokens that selected its expert ({@link NeuronBundles#dotGate4}, {@link NeuronBundles#dotUp4}), the other
     * tokens' gate, up, act and h are 0 there; then each token's down columns of its nonzero h into its own row of y
     * ({@link #downBatch}). Each token's h is bit-identical to the one-token path (the same E_b, the same dots), so
     * y_b equals it up to the order of the down sums; the result does not depend on the thread count.
     */
    private void batched(float[] x, int batch, int pos0, float[] y, LteScratch sc, ActivationTap tap, Parallel par) {
        int d = w.hiddenSize();
        int f = w.intermediateSize();
        int s = expertSize;
        int cap = sc.capacity;
        float[] gate = sc.gate;
        float[] up = sc.up;
        float[] a = sc.act;
        float[] h = sc.h;
        int[] count = sc.count;
        int[] tokens = sc.tokens;
        NeuronBundles nb = bundles;
        Arrays.fill(count, 0);
        for (int b = 0; b < batch; b++) {
            LteRouters.logits(router, experts, d, x, b * d, sc.z, 0);               // z_{b,e} = x_b·W_r,e
            for (int e = 0; e < experts; e++) {
                if (replay != null ? replay.selected(pos0 + b, e)
                        : LteRouters.selected(sc.z[e], tau)) {                       // E_b = {e : σ(z_{b,e}) > τ}
                    tokens[e * cap + count[e]++] = b;
                }
            }
        }
        par.forRange(experts, 1, (e0, e1) -> {
            for (int e = e0; e < e1; e++) {
                int from = e * s;
                int to = from + s;
                for (int b = 0; b < batch; b++) {                                    // 0 unless e ∈ E_b
                    Arrays.fill(gate, b * f + from, b * f + to, 0f);
                    Arrays.fill(up, b * f + from, b * f + to, 0f);
                    Arrays.fill(a, b * f + from, b * f + to, 0f);
                    Arrays.fill(h, b * f + from, b * f + to, 0f);
                }
                int m = count[e];
                if (m == 0) {
                    continue;
                }
                int[] tk = tokens;
                int t0 = e * cap;
                for (int i = from; i < to; i++) {
                    int k = 0;
                    for (; k + 4 <= m; k += 4) {                                     // four tokens per read of a row
                        int b0 = tk[t0 + k];
                        int b1 = tk[t0 + k + 1];
                        int b2 = tk[t0 + k + 2];
                        int b3 = tk[t0 + k + 3];
                        nb.dotGate4(i, x, b0 * d, b1 * d, b2 * d, b3 * d, gate, b0 * f + i, b1 * f + i, b2 * f + i,
                                b3 * f + i);                                         // gate_{b,i} = W_gate[i]·x_b
                        nb.dotUp4(i, x, b0 * d, b1 * d, b2 * d, b3 * d, up, b0 * f + i, b1 * f + i, b2 * f + i,
                                b3 * f + i);                                         // up_{b,i} = W_up[i]·x_b
                    }
                    for (; k < m; k++) {
                        int b = tk[t0 + k];
                        gate[b * f + i] = nb.dotGate(i, x, b * d);
                        up[b * f + i] = nb.dotUp(i, x, b * d);
                    }
                }
                for (int k = 0; k < m; k++) {
                    int o = tk[t0 + k] * f;
                    act.gated(gate, up, a, h, o + from, o + to);                     // h_b = act(gate_b) ⊙ up_b
                }
            }
        });
        if (tap.wants(w.layer())) {
            for (int b = 0; b < batch; b++) {
                tap.onFfn(w.layer(), pos0 + b, x, b * d, gate, a, h, b * f);
            }
        }
        downBatch(h, batch, y, sc, par);                          // y_b = Σ_{i: h_{b,i} ≠ 0} h_{b,i} d_i
    }

    /** Multiply-adds of one token: the router (N·D) and, per selected expert, S·(gate + up + down) = 3·S·D. */
    public static long flops(int selectedExperts, int experts, int expertSize, int d) {
        return (long) experts * d + 3L * selectedExperts * expertSize * d;
    }
}
