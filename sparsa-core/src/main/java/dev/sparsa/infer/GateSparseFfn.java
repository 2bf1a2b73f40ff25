package dev.sparsa.infer;

import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnActivations;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.NeuronBundles;
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
 * <p>The down columns keep the dtype of a float source (lossless); a quantized source is re-quantized to Q8_0
 * along the other axis (see {@link ExactSparseFfn} for the error bound).
 *
 * <p><b>Layout</b> ({@link FfnLayout}). By default {@link FfnLayout#BUNDLED}: W_gate stays row-major as stored (a
 * gate-first rule needs g_i of every neuron, so the gate is one dense stream), and each neuron's up row and down
 * column are one record ({@link NeuronBundles}), so an active neuron is one contiguous read. Memory: the records are
 * a copy at load, |W_up| + |W_down^T| (Q8_0 source at LLaMA-7B shape: 2 × 47.9 MB per layer), in an automatic
 * arena freed with the kernel; the mmap'd W_up and W_down are no longer read. {@link FfnLayout#SPLIT} (the
 * §1 kernel) reads W_up as stored and keeps only W_down^T (|W_down^T| extra).
 *
 * <p><b>Passes</b> (bundled). A decoded token with an elementwise rule is one parallel pass over {@code SLICES}
 * fixed neuron slices: per slice the gate rows ({@code g = W_gate x}), the decision, the up rows of the kept neurons
 * and {@code h_i d_i} into the slice's partial output; then y = Σ of the partials in slice order. With a tap (which
 * may change h before the down projection) the down accumulation is a second pass over the same slices, same bits.
 * A batch (prefill chunk, batched decode) computes the gate as one matmul, applies the rule per token, then goes
 * token by token (threads split the tokens): the token's kept up rows four records side by side, h, and the down
 * columns of its nonzero h into its own row of y ({@link #bundledBatch}). Every path is independent of the thread
 * count.
 */
public sealed class GateSparseFfn extends SparseFfnBase permits ExactSparseFfn {
    private final NeuronRule rule;

    /** The kernel for {@code rule}; {@link NeuronRule.NonZero} needs a ReLU-family activation. */
    public GateSparseFfn(FfnWeights weights, Activation act, NeuronRule rule) {
        this(weights, act, rule, downTypeFor(weights));
    }

    /** With an explicit dtype for the down columns (e.g. F32: exact for quantized sources). */
    public GateSparseFfn(FfnWeights weights, Activation act, NeuronRule rule, DType downTType) {
        this(weights, act, rule, downTType, FfnLayout.BUNDLED);
    }

    /** With an explicit dtype for the down columns and an explicit layout. */
    public GateSparseFfn(FfnWeights weights, Activation act, NeuronRule rule, DType downTType, FfnLayout layout) {
        super(checked(weights, act, rule), act, downTType, layout, false, Arena.ofAuto());
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
            case NeuronRule.Attributed a -> "attribution";
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
        if (layout == FfnLayout.BUNDLED) {
            if (batch == 1) {
                fusedOne(x, pos0, y, s, tap, par);
            } else {
                bundledBatch(x, batch, pos0, y, s, tap, par);
            }
            return;
        }
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
        selectAll(gate, batch, f, a, par);                         // a_i = act(g_i) for i ∈ I_b, else 0
        if (denseRest(x, batch, pos0, y, s, tap, par)) {
            return;
        }
        boolean tapped = tap.wants(w.layer());
        for (int b = 0; b < batch; b++) {
            int o = b * f;
            int xo = b * d;
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
            act.applyRange(g, from, a, from, to - from);           // a = act(g)
            for (int i = from; i < to; i++) {
                float ai = a[i];
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

    /**
     * Bundled decode: per slice {@code g = W_gate x} over the slice's rows, {@code a_i = act(g_i)} kept iff
     * {@code |a_i| ≥ t}, {@code up_i = W_up[i,:]·x} from the record, {@code h_i = a_i·up'_i}, and (without a tap)
     * {@code part_s += h_i d_i} right after, four neurons at a time; then {@code y = Σ_s part_s}. A rule over the whole
     * row (statistical top-k, attribution) cannot decide inside a slice: the gate and the rule run first, and the
     * slice pass reads the kept neurons' records only (two parallel passes, not the batch path's three).
     */
    private void fusedOne(float[] x, int pos0, float[] y, Scratch s, ActivationTap tap, Parallel par) {
        int f = w.intermediateSize();
        Tensor gateW = w.gate();
        NeuronBundles nb = bundles;
        float[] g = s.gate;
        float[] a = s.act;
        float[] up = s.up;
        float[] h = s.h;
        int[] active = s.active;
        float[] coef = s.coef;
        float[][] parts = s.parts;
        boolean whole = !rule.elementwise();
        float t = whole ? 0f : rule.magnitudeThreshold();
        boolean tapped = tap.wants(w.layer());
        if (whole) {
            Kernels.matvec(gateW, x, g, par);                      // g = W_gate x (dense)
            rule.select(act, g, 0, f, a);                          // a_i = act(g_i) for i ∈ I, else 0
        }
        par.forRange(SLICES, 1, (s0, s1) -> {
            for (int sl = s0; sl < s1; sl++) {
                int from = sliceStart(sl, f);
                int to = sliceStart(sl + 1, f);
                if (!whole) {
                    Kernels.matvecRange(gateW, from, to, x, g);    // g = W_gate x (the slice's rows)
                    act.applyRange(g, from, a, from, to - from);   // a = act(g)
                }
                float[] p = parts[sl];
                if (!tapped) {
                    Arrays.fill(p, 0f);
                }
                int m = from;                                      // I ∩ slice in active[from, m)
                for (int i = from; i < to; i++) {
                    float ai = a[i];
                    ai = whole || Math.abs(ai) >= t ? ai : 0f;     // i ∈ I iff |a_i| ≥ t (exact: a_i ≠ 0)
                    a[i] = ai;
                    if (ai != 0f) {
                        active[m++] = i;
                    } else {
                        up[i] = 0f;
                        h[i] = 0f;
                    }
                }
                int n = from;                                      // {i ∈ I: h_i ≠ 0} compacted into active[from, n)
                int done = from;
                for (int k = from; k < m; k += 4) {
                    int c = Math.min(4, m - k);
                    int i0 = active[k];
                    int i1 = c > 1 ? active[k + 1] : i0;
                    int i2 = c > 2 ? active[k + 2] : i0;
                    int i3 = c > 3 ? active[k + 3] : i0;
                    if (c == 4) {                                  // up_i = W_up[i,:]·x, four records side by side
                        nb.dotUpRows4(i0, i1, i2, i3, x, 0, up, i0, i1, i2, i3);
                    } else {
                        for (int j = 0; j < c; j++) {
                            int i = active[k + j];
                            up[i] = nb.dotUp(i, x, 0);
                        }
                    }
                    for (int j = 0; j < c; j++) {
                        int i = j == 0 ? i0 : j == 1 ? i1 : j == 2 ? i2 : i3;
                        float hi = a[i] * act.up(up[i]);           // h = a ⊙ up' (0 outside I)
                        h[i] = hi;
                        if (hi != 0f) {
                            active[n] = i;                         // n ≤ k + j: an entry already read
                            coef[n++] = hi;
                        }
                    }
                    if (!tapped && n - done >= 4) {                // y_s += Σ h_i d_i, while the records are hot
                        downList(active, coef, done, n, p);
                        done = n;
                    }
                }
                if (!tapped) {
                    downList(active, coef, done, n, p);
                }
            }
        });
        if (tapped) {
            tap.onFfn(w.layer(), pos0, x, 0, g, a, h, 0);
            downSlices(h, 0, y, 0, s, par);                        // the tap may have zeroed (or set) entries
            return;
        }
        reduce(parts, y, 0, par);                                  // y = Σ_s part_s
    }

    /**
     * Bundled batch (any rule): gate as one matmul, the rule per token, then token by token: the token's kept neurons
     * listed ({@link #byToken}), their up rows read four records side by side ({@link NeuronBundles#dotUpRows4}, the
     * one-token kernel, bit-identical to one dot each), h, and the down columns of the token's nonzero h
     * ({@link #downBatch}). Reading each kept row once for the (on average 4) tokens that keep it, neuron by neuron,
     * scans the batch's a, up and h at a stride of F per token and was slower (bench-ffn --batch 128, 90%: up 11.4 ms
     * against 8.9 ms a layer). Threads split the tokens (each token's list in parts for 2-3 tokens).
     */
    private void bundledBatch(float[] x, int batch, int pos0, float[] y, Scratch s, ActivationTap tap,
                              Parallel par) {
        int d = w.hiddenSize();
        int f = w.intermediateSize();
        NeuronBundles nb = bundles;
        float[] gate = s.gate;
        float[] a = s.act;
        float[] up = s.up;
        float[] h = s.h;
        int[] rows = s.rowNeurons;
        int[] count = s.rowCount;
        Kernels.matmul(s.gemm, w.gate(), x, batch, gate, par);     // g = W_gate x (dense)
        selectAll(gate, batch, f, a, par);                         // a_i = act(g_i) for i ∈ I_b, else 0
        if (denseRest(x, batch, pos0, y, s, tap, par)) {
            return;
        }
        byToken(a, batch, f, rows, count, par);                    // I_b in rows[b·F ..)
        int parts = partsPerToken(batch, par.threads());
        if (parts > 1) {                                           // a few rows: cleared before their parts run
            Arrays.fill(up, 0, batch * f, 0f);
            Arrays.fill(h, 0, batch * f, 0f);
        }
        par.forRange(batch * parts, 1, (u0, u1) -> {
            for (int u = u0; u < u1; u++) {
                int b = u / parts;
                int p = u % parts;
                int o = b * f;
                int n = count[b];
                int k0 = o + listStart(p, parts, n);
                int k1 = o + listStart(p + 1, parts, n);
                if (parts == 1) {
                    Arrays.fill(up, o, o + f, 0f);                 // 0 outside I_b
                    Arrays.fill(h, o, o + f, 0f);
                }
                nb.dotUpList(rows, k0, k1, x, b * d, up, o);       // up_i = W_up[i,:]·x_b, i ∈ I_b, four records
                for (int k = k0; k < k1; k++) {
                    int oi = o + rows[k];
                    h[oi] = a[oi] * act.up(up[oi]);                // h = a ⊙ up' (0 outside I_b)
                }
            }
        });
        if (tap.wants(w.layer())) {
            for (int b = 0; b < batch; b++) {
                tap.onFfn(w.layer(), pos0 + b, x, b * d, gate, a, h, b * f);
            }
        }
        downBatch(h, batch, y, s, par);                            // y_b = Σ_{i: h_{b,i} ≠ 0} h_{b,i} d_i
    }

    /**
     * Batches from which the per-token elementwise passes (the rule, the dense route's mask) are split between threads:
     * prefill chunks; a few decode rows stay on the calling thread, where a fork costs more than the pass.
     */
    static final int PARALLEL_ROWS = 32;

    /** {@link NeuronRule#select} of every token of the batch (each row is independent). */
    private void selectAll(float[] gate, int batch, int f, float[] a, Parallel par) {
        if (batch < PARALLEL_ROWS) {
            for (int b = 0; b < batch; b++) {
                rule.select(act, gate, b * f, f, a);
            }
            return;
        }
        par.forRange(batch, 1, (b0, b1) -> {
            for (int b = b0; b < b1; b++) {
                rule.select(act, gate, b * f, f, a);
            }
        });
    }

    /** Batches of at least this many tokens may take the dense route of {@link #denseRest}. */
    static final int DENSE_BATCH = 8;
    /** ... when at least this share of the batch's (token, neuron) pairs is kept. */
    static final double DENSE_SHARE = 0.3;

    /**
     * A batch whose kept sets cover much of the layer (a prefill chunk at CATS's 50%): up and down as dense GEMMs,
     * {@code up = W_up x}, {@code h = a ⊙ up'} (0 outside each I_b), {@code y = W_down h}. A GEMM reads each weight row
     * once for the whole chunk, while the sparse route reads a kept row once per four tokens that keep it, so with a
     * third of the neurons kept per token over 8 or more tokens the dense products are faster (measured: CATS prefill
     * at TinyLlama shape 0.37x dense before). The same h as the sparse route; y within float summation order. Returns
     * false (nothing done) for smaller or sparser batches.
     */
    private boolean denseRest(float[] x, int batch, int pos0, float[] y, Scratch s, ActivationTap tap, Parallel par) {
        int f = w.intermediateSize();
        int d = w.hiddenSize();
        float[] a = s.act;
        if (batch < DENSE_BATCH) {
            return false;
        }
        int[] keptPerToken = s.rowCount;                         // scratch: no allocation per call
        par.forRange(batch, PARALLEL_ROWS, (b0, b1) -> {
            for (int b = b0; b < b1; b++) {
                int n = 0;
                for (int o = b * f; o < (b + 1) * f; o++) {
                    n += a[o] != 0f ? 1 : 0;
                }
                keptPerToken[b] = n;
            }
        });
        long kept = 0;
        for (int b = 0; b < batch; b++) {
            kept += keptPerToken[b];
        }
        if (kept < DENSE_SHARE * batch * f) {
            return false;
        }
        float[] up = s.up;
        float[] h = s.h;
        Kernels.matmul(s.gemm, w.up(), x, batch, up, par);         // up = W_up x (dense)
        par.forRange(batch, PARALLEL_ROWS, (b0, b1) -> {
            for (int o = b0 * f; o < b1 * f; o++) {
                if (a[o] == 0f) {
                    up[o] = 0f;
                    h[o] = 0f;
                } else {
                    h[o] = a[o] * act.up(up[o]);                   // h = a ⊙ up' (0 outside I_b)
                }
            }
        });
        if (tap.wants(w.layer())) {
            for (int b = 0; b < batch; b++) {
                tap.onFfn(w.layer(), pos0 + b, x, b * d, s.gate, a, h, b * f);
            }
        }
        Kernels.matmul(s.gemm, w.down(), h, batch, y, par);        // y = W_down h
        return true;
    }
}
