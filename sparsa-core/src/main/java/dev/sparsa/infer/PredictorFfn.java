package dev.sparsa.infer;

import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.FfnActivations;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.NeuronBundles;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.Arena;
import java.util.Arrays;

/**
 * Predicted-sparse gated FFN (Deja Vu, Liu et al. 2023; PowerInfer, Song et al. 2023): a {@link Predictor} scores
 * every neuron from the FFN input x <i>before</i> the gate, the candidates are {@code C = {i : s_i ≥ τ}}, and only
 * their gate rows are read; of those, the neurons the label rule keeps ({@code act(g_i) ≠ 0} for the ReLU family, or
 * CATS's {@code |act(g_i)| ≥ t} for SiLU/GELU models) read their up rows and down columns:
 * <pre>
 *   C = {i : P(x)_i ≥ τ},  g_i = W_gate[i,:]·x (i ∈ C),  I = {i ∈ C : label keeps act(g_i)},  y = Σ_{i∈I} h_i d_i
 * </pre>
 * So the output is the label rule's own FFN ({@link GateSparseFfn} with that rule) minus the active neurons the
 * predictor missed: precision costs speed only, recall costs quality. τ is chosen at calibration for a target recall.
 * With a {@link SparseStats} the kernel also computes the dense gate to count recall and precision (slower: for
 * reports only).
 *
 * <p><b>Layout</b> ({@link FfnLayout}). By default {@link FfnLayout#BUNDLED} with the gate row inside the record:
 * this kernel reads the gate of the candidates only, so a candidate's gate row, up row and down column are one
 * contiguous read ({@link NeuronBundles}, PowerInfer-2's neuron clusters). Memory: a copy at load of |W_gate| +
 * |W_up| + |W_down^T|; the mmap'd originals are read only by the recall measurement. Per token: the predictor's
 * hidden layer, then one parallel pass over fixed neuron slices (the slice's predictor scores, candidate gate rows,
 * decision, up rows, {@code h_i d_i} into the slice's partial output), then y = Σ of the partials in slice order (the same bits for any thread count; see
 * {@link GateSparseFfn}). A batch (prefill chunk, batched decode) keeps each token's own candidates and kept set but
 * reads each neuron's record once for all the tokens that need it: gate row for the tokens whose candidates hold it,
 * up row for those that keep it, down column once for the union ({@link #bundledBatch}).
 */
public sealed class PredictorFfn extends SparseFfnBase permits PredictedSparseFfn {
    private final Predictor predictor;
    private final float tau;
    private final NeuronRule label;
    private final SparseStats stats;

    /**
     * @param label {@link NeuronRule.NonZero} (ReLU family) or a {@link NeuronRule.Magnitude} (CATS labels)
     * @param stats counts recall and precision when not null
     */
    public PredictorFfn(FfnWeights weights, Activation act, Predictor predictor, float tau, NeuronRule label,
                        SparseStats stats) {
        this(weights, act, predictor, tau, label, stats, Arena.ofAuto());
    }

    /** With an explicit layout ({@link FfnLayout}). */
    public PredictorFfn(FfnWeights weights, Activation act, Predictor predictor, float tau, NeuronRule label,
                        SparseStats stats, FfnLayout layout) {
        this(weights, act, predictor, tau, label, stats, layout, Arena.ofAuto());
    }

    PredictorFfn(FfnWeights weights, Activation act, Predictor predictor, float tau, NeuronRule label,
                 SparseStats stats, Arena arena) {
        this(weights, act, predictor, tau, label, stats, FfnLayout.BUNDLED, arena);
    }

    PredictorFfn(FfnWeights weights, Activation act, Predictor predictor, float tau, NeuronRule label,
                 SparseStats stats, FfnLayout layout, Arena arena) {
        super(checked(weights, act, predictor, label), act, downTypeFor(weights), layout, true, arena);
        this.predictor = predictor;
        this.tau = tau;
        this.label = label;
        this.stats = stats;
    }

    private static FfnWeights checked(FfnWeights w, Activation act, Predictor p, NeuronRule label) {
        if (!label.elementwise()) {
            throw new IllegalArgumentException("predicted FFN: the label rule must be elementwise, got " + label);
        }
        if (label instanceof NeuronRule.NonZero) {
            requireZeroBelow(w, act, "predicted-sparse");
        }
        if (p.inputs() != w.hiddenSize() || p.neurons() != w.intermediateSize()) {
            throw new IllegalArgumentException("layer " + w.layer() + ": predictor maps " + p.inputs() + " -> "
                    + p.neurons() + ", the FFN is " + w.hiddenSize() + " -> " + w.intermediateSize());
        }
        return w;
    }

    public Predictor predictor() {
        return predictor;
    }

    /** The threshold on predictor scores. */
    public float threshold() {
        return tau;
    }

    /** The rule that decides which candidates are active. */
    public NeuronRule label() {
        return label;
    }

    public int predictorRank() {
        return predictor.rank();
    }

    /** Bytes of the predictor read per token. */
    public long predictorBytes() {
        return predictor.bytes();
    }

    /** Scratch of the predicted kernel: the shared lists plus the predictor's scores and the candidates. */
    private static final class PredScratch extends Scratch {
        final float[] z;
        final float[] scores;
        final int[] cand;
        final float[] dense;
        final float[] batchScores;

        PredScratch(int capacity, int f, int d, int rank) {
            super(capacity, f, d);
            z = new float[rank];
            scores = new float[f];
            batchScores = capacity > 1 ? new float[capacity * f] : scores;
            cand = new int[f];
            dense = new float[f];
        }
    }

    @Override
    public FfnActivations newActivations(int capacity) {
        return new PredScratch(capacity, w.intermediateSize(), w.hiddenSize(), predictor.rank());
    }

    @Override
    public void forward(float[] x, int batch, int pos0, float[] y, FfnActivations acts, ActivationTap tap,
                        Parallel par) {
        PredScratch sc = scratch(acts, PredScratch.class, batch, w);
        if (layout == FfnLayout.BUNDLED) {
            if (batch == 1) {
                fusedOne(x, 0, pos0, y, sc, tap, par);
            } else {
                bundledBatch(x, batch, pos0, y, sc, tap, par);
            }
            return;
        }
        int d = w.hiddenSize();
        int f = w.intermediateSize();
        float[] s = sc.scores;
        float[] g = sc.gate;
        float[] a = sc.act;
        float[] up = sc.up;
        float[] h = sc.h;
        float[] yb = sc.yRow;
        int[] cand = sc.cand;
        int[] active = sc.active;
        float[] coef = sc.coef;
        Tensor gateW = w.gate();
        Tensor upW = w.up();
        float t = label.magnitudeThreshold();
        boolean tapped = tap.wants(w.layer());
        for (int b = 0; b < batch; b++) {
            int o = b * f;
            int xo = b * d;
            predictor.scores(x, xo, sc.z, s, par);                  // s = P(x)
            int nc = 0;
            for (int i = 0; i < f; i++) {
                if (s[i] >= tau) {
                    cand[nc++] = i;                                 // C = {i : s_i ≥ τ}
                }
            }
            Arrays.fill(g, o, o + f, 0f);
            Arrays.fill(a, o, o + f, 0f);
            Arrays.fill(up, o, o + f, 0f);
            Arrays.fill(h, o, o + f, 0f);
            int ncand = nc;
            par.forRange(ncand, 16, (from, to) -> {                 // g_i for i ∈ C only
                for (int k = from; k < to; k++) {
                    g[o + cand[k]] = Kernels.dotRow(gateW, cand[k], x, xo);
                }
            });
            int n = 0;
            for (int k = 0; k < ncand; k++) {
                int i = cand[k];
                float ai = act.apply(g[o + i]);
                if (Math.abs(ai) >= t) {
                    a[o + i] = ai;
                    active[n++] = i;                                // I = {i ∈ C : label keeps act(g_i)}
                }
            }
            if (stats != null) {
                measure(x, xo, t, n, ncand, par, sc.dense);
            }
            int count = n;
            par.forRange(count, 16, (from, to) -> {                 // up_i = W_up[i,:]·x, i ∈ I
                for (int k = from; k < to; k++) {
                    up[o + active[k]] = Kernels.dotRow(upW, active[k], x, xo);
                }
            });
            for (int k = 0; k < count; k++) {
                int i = active[k];
                h[o + i] = a[o + i] * act.up(up[o + i]);            // h = a ⊙ up' (0 outside I)
            }
            if (tapped) {
                tap.onFfn(w.layer(), pos0 + b, x, xo, g, a, h, o);
                n = collectActive(h, o, f, active, coef);           // the tap may have zeroed (or set) entries
            } else {
                for (int k = 0; k < n; k++) {
                    coef[k] = h[o + active[k]];
                }
            }
            Arrays.fill(yb, 0f);
            Kernels.axpyRows(downT, active, coef, n, yb, par);      // y = Σ_{i∈I} h_i d_i
            System.arraycopy(yb, 0, y, xo, d);
        }
    }

    /**
     * Token b, bundled: {@code s = P(x_b)}, then per slice: for each candidate ({@code s_i ≥ τ}) its gate row, the
     * label rule, for the kept ones the up row and (without a tap) {@code part_s += h_i d_i}, all from the record;
     * then {@code y_b = Σ_s part_s}.
     */
    private void fusedOne(float[] x, int b, int pos0, float[] y, PredScratch sc, ActivationTap tap, Parallel par) {
        int d = w.hiddenSize();
        int f = w.intermediateSize();
        int o = b * f;
        int xo = b * d;
        NeuronBundles nb = bundles;
        float[] s = sc.scores;
        float[] g = sc.gate;
        float[] a = sc.act;
        float[] up = sc.up;
        float[] h = sc.h;
        int[] active = sc.active;
        float[] coef = sc.coef;
        float[][] parts = sc.parts;
        float t = label.magnitudeThreshold();
        float thr = tau;
        boolean tapped = tap.wants(w.layer());
        float[] z = sc.z;
        Predictor pr = predictor;
        pr.hidden(x, xo, z, par);                                   // z = hidden layer of P(x)
        par.forRange(SLICES, 1, (s0, s1) -> {
            for (int sl = s0; sl < s1; sl++) {
                int from = sliceStart(sl, f);
                int to = sliceStart(sl + 1, f);
                pr.scoreRange(from, to, z, s);                      // s = P(x) on the slice's neurons
                float[] p = parts[sl];
                if (!tapped) {
                    Arrays.fill(p, 0f);
                }
                int m = from;                                       // C ∩ slice in active[from, m)
                for (int i = from; i < to; i++) {
                    if (s[i] >= thr) {                              // C = {i : s_i ≥ τ}
                        active[m++] = i;
                    } else {
                        g[o + i] = 0f;
                        a[o + i] = 0f;
                        up[o + i] = 0f;
                        h[o + i] = 0f;
                    }
                }
                int n = from;                                       // {i ∈ I: h_i ≠ 0} compacted into active[from, n)
                int done = from;
                for (int k = from; k < m; k += 4) {                 // four candidates' records side by side
                    int c = Math.min(4, m - k);
                    int i0 = active[k];
                    int i1 = c > 1 ? active[k + 1] : i0;
                    int i2 = c > 2 ? active[k + 2] : i0;
                    int i3 = c > 3 ? active[k + 3] : i0;
                    if (c == 4) {                                   // g_i for i ∈ C only
                        nb.dotGateRows4(i0, i1, i2, i3, x, xo, g, o + i0, o + i1, o + i2, o + i3);
                    } else {
                        for (int j = 0; j < c; j++) {
                            int i = active[k + j];
                            g[o + i] = nb.dotGate(i, x, xo);
                        }
                    }
                    int kept = 0;
                    for (int j = 0; j < c; j++) {
                        int i = j == 0 ? i0 : j == 1 ? i1 : j == 2 ? i2 : i3;
                        float ai = act.apply(g[o + i]);
                        ai = Math.abs(ai) >= t ? ai : 0f;           // I = {i ∈ C : label keeps act(g_i)}
                        a[o + i] = ai;
                        kept += ai != 0f ? 1 : 0;
                    }
                    if (kept == 4) {                                // up_i = W_up[i,:]·x, i ∈ I
                        nb.dotUpRows4(i0, i1, i2, i3, x, xo, up, o + i0, o + i1, o + i2, o + i3);
                    } else {
                        for (int j = 0; j < c; j++) {
                            int i = j == 0 ? i0 : j == 1 ? i1 : j == 2 ? i2 : i3;
                            up[o + i] = a[o + i] != 0f ? nb.dotUp(i, x, xo) : 0f;
                        }
                    }
                    for (int j = 0; j < c; j++) {
                        int i = j == 0 ? i0 : j == 1 ? i1 : j == 2 ? i2 : i3;
                        float hi = a[o + i] * act.up(up[o + i]);    // h = a ⊙ up' (0 outside I)
                        h[o + i] = hi;
                        if (hi != 0f) {
                            active[n] = i;                          // n ≤ k + j: an entry already read
                            coef[n++] = hi;
                        }
                    }
                    if (!tapped && n - done >= 4) {                 // y_s += Σ h_i d_i, while the records are hot
                        downList(active, coef, done, n, p);
                        done = n;
                    }
                }
                if (!tapped) {
                    downList(active, coef, done, n, p);
                }
            }
        });
        if (stats != null) {
            int nc = 0;
            int kept = 0;
            for (int i = 0; i < f; i++) {
                boolean c = s[i] >= thr;
                nc += c ? 1 : 0;
                kept += c && Math.abs(act.apply(g[o + i])) >= t ? 1 : 0;
            }
            measure(x, xo, t, kept, nc, par, sc.dense);
        }
        if (tapped) {
            tap.onFfn(w.layer(), pos0 + b, x, xo, g, a, h, o);
            downSlices(h, o, y, xo, sc, par);                       // the tap may have zeroed (or set) entries
            return;
        }
        reduce(parts, y, xo, par);                                  // y = Σ_s part_s
    }

    /**
     * Bundled batch (prefill chunk, batched decode): {@code s_b = P(x_b)} per token, then token by token (threads
     * split the tokens, each token's candidates in parts for 2-3 tokens): the candidates C_b listed, their gate rows
     * four records side by side ({@link NeuronBundles#dotGateRows4}), the label rule, the kept neurons' up rows
     * ({@link NeuronBundles#dotUpRows4}) and h, then the down columns of each token's nonzero h
     * ({@link #downBatch}); reading each row once for the tokens that hold it, neuron by neuron, scanned the batch at
     * a stride of F and was slower than the one-token path in a loop from 8 tokens on. Each token's h is that of the one-token path (the same
     * per-token sets C_b and I_b), so y_b equals it up to the order of the down sums; the result does not depend on
     * the thread count, with a tap or without.
     */
    private void bundledBatch(float[] x, int batch, int pos0, float[] y, PredScratch sc, ActivationTap tap,
                              Parallel par) {
        int d = w.hiddenSize();
        int f = w.intermediateSize();
        NeuronBundles nb = bundles;
        float[] s = sc.batchScores;
        float[] g = sc.gate;
        float[] a = sc.act;
        float[] up = sc.up;
        float[] h = sc.h;
        float t = label.magnitudeThreshold();
        float thr = tau;
        for (int b = 0; b < batch; b++) {
            predictor.scores(x, b * d, sc.z, sc.scores, par);       // s_b = P(x_b)
            System.arraycopy(sc.scores, 0, s, b * f, f);
        }
        int[] rows = sc.rowNeurons;
        int[] count = sc.rowCount;
        par.forRange(batch, 1, (b0, b1) -> {
            for (int b = b0; b < b1; b++) {
                int o = b * f;
                int n = o;
                for (int i = 0; i < f; i++) {                      // C_b = {i : s_{b,i} ≥ τ} in rows[b·F ..)
                    rows[n] = i;
                    n += s[o + i] >= thr ? 1 : 0;
                }
                count[b] = n - o;
                Arrays.fill(g, o, o + f, 0f);                      // 0 outside C_b (gate) and I_b (a, up, h)
                Arrays.fill(a, o, o + f, 0f);
                Arrays.fill(up, o, o + f, 0f);
                Arrays.fill(h, o, o + f, 0f);
            }
        });
        int parts = partsPerToken(batch, par.threads());
        par.forRange(batch * parts, 1, (u0, u1) -> {
            for (int u = u0; u < u1; u++) {
                int b = u / parts;
                int p = u % parts;
                int o = b * f;
                int xo = b * d;
                int n = count[b];
                int k0 = o + listStart(p, parts, n);
                int k1 = o + listStart(p + 1, parts, n);
                nb.dotGateList(rows, k0, k1, x, xo, g, o);         // g_{b,i} for i ∈ C_b, four records side by side
                int m = k0;                                        // I_b ∩ this part, compacted in place
                for (int k = k0; k < k1; k++) {
                    int i = rows[k];
                    float ai = act.apply(g[o + i]);
                    ai = Math.abs(ai) >= t ? ai : 0f;              // I_b = {i ∈ C_b : label keeps act(g_{b,i})}
                    a[o + i] = ai;
                    rows[m] = i;
                    m += ai != 0f ? 1 : 0;
                }
                nb.dotUpList(rows, k0, m, x, xo, up, o);           // up_{b,i} = W_up[i,:]·x_b, i ∈ I_b
                for (int k = k0; k < m; k++) {
                    int oi = o + rows[k];
                    h[oi] = a[oi] * act.up(up[oi]);                // h_b = a_b ⊙ up'_b (0 outside I_b)
                }
            }
        });
        if (stats != null) {
            for (int b = 0; b < batch; b++) {
                int o = b * f;
                int nc = 0;
                int kept = 0;
                for (int i = 0; i < f; i++) {
                    boolean c = s[o + i] >= thr;
                    nc += c ? 1 : 0;
                    kept += c && Math.abs(act.apply(g[o + i])) >= t ? 1 : 0;
                }
                measure(x, b * d, t, kept, nc, par, sc.dense);
            }
        }
        if (tap.wants(w.layer())) {
            for (int b = 0; b < batch; b++) {
                tap.onFfn(w.layer(), pos0 + b, x, b * d, g, a, h, b * f);
            }
        }
        downBatch(h, batch, y, sc, par);         // y_b = Σ_{i: h_{b,i} ≠ 0} h_{b,i} d_i
    }

    // recall and precision against the label rule on the dense gate (the kept set I = C ∩ A has n neurons)
    private void measure(float[] x, int xo, float t, int kept, int ncand, Parallel par, float[] dense) {
        int f = w.intermediateSize();
        Tensor gateW = w.gate();
        par.forRange(f, 16, (from, to) -> {
            for (int i = from; i < to; i++) {
                dense[i] = Kernels.dotRow(gateW, i, x, xo);
            }
        });
        long trulyActive = 0;
        for (int i = 0; i < f; i++) {
            if (Math.abs(act.apply(dense[i])) >= t) {               // A = {i : label keeps act(W_gate[i,:]·x)}
                trulyActive++;
            }
        }
        stats.predicted(w.layer(), ncand, trulyActive, kept, f);
    }
}
