package dev.sparsa.infer;

import dev.sparsa.SparsaException;
import dev.sparsa.model.Activation;
import dev.sparsa.model.FfnActivations;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.NeuronBundles;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;
import dev.sparsa.tensor.VectorOps;

import java.lang.foreign.Arena;
import java.util.Arrays;

/**
 * What the sparse gated FFN kernels share ({@link GateSparseFfn}, {@link PredictorFfn}): the ReLU-family check (for
 * the kernels that need exact zeros), the weights and activation, the storage of the neurons' up rows and down
 * columns ({@link FfnLayout}: a transposed down projection, or neuron bundles), the cached down column norms, the
 * collection of the active set from h, and the down accumulation over neuron slices. Each subclass keeps only how it
 * finds the active neurons (gate-first: dense gate and a {@link NeuronRule}; predicted: a predictor picks candidates).
 *
 * <p><b>Slices.</b> With bundles the down projection is accumulated in the same parallel pass that finds the active
 * neurons (PowerInfer's fused sparse FFN keeps one output buffer per thread): the F neurons are cut into
 * {@link #SLICES} fixed contiguous slices, each slice sums {@code h_i d_i} over its active neurons in ascending i
 * (four at a time) into its own partial output, and {@code y} is the sum of the partials in slice order
 * ({@link VectorOps#sumParts}). The slices do not depend on the thread count (threads only pick which slices they
 * run), so the bits are the same for any number of threads.
 */
abstract sealed class SparseFfnBase implements FfnKernel permits GateSparseFfn, LteFfn, PredictorFfn {
    /** Fixed number of neuron slices of the fused pass (independent of the thread count: determinism). */
    static final int SLICES = 16;

    final FfnWeights w;
    final Activation act;
    final FfnLayout layout;
    /** {@link FfnLayout#SPLIT}: the transposed down projection, else null. */
    final Tensor downT;
    /** {@link FfnLayout#BUNDLED}: the neuron records, else null. */
    final NeuronBundles bundles;
    private volatile float[] downNorms;

    SparseFfnBase(FfnWeights weights, Activation act, DType downTType, FfnLayout layout, boolean bundleGate,
                  Arena arena) {
        this.w = weights;
        this.act = act;
        this.layout = layout;
        if (layout == FfnLayout.SPLIT) {
            this.downT = Kernels.transpose(weights.down(), downTType, arena);
            this.bundles = null;
        } else {
            this.downT = null;
            this.bundles = NeuronBundles.of(bundleGate ? weights.gate() : null, weights.up(), weights.down(),
                    downTType, arena);
        }
    }

    /** {@code kind} names the kernel in the error message ("exact-sparse", "predicted-sparse"). */
    static void requireZeroBelow(FfnWeights weights, Activation act, String kind) {
        if (!act.zeroBelow()) {
            throw new SparsaException.UnsupportedException("layer " + weights.layer() + ": the " + kind + " FFN needs "
                    + "a ReLU-family activation (relu, relu2, fatrelu), the model uses " + act.kind().name().toLowerCase());
        }
    }

    /** The source dtype for float weights; Q8_0 for quantized ones (F32 when the hidden size is not a multiple of 32). */
    static DType downTypeFor(FfnWeights weights) {
        Tensor down = weights.down();
        DType src = down.dtype();
        if (!src.quantized()) {
            return src;
        }
        return down.rows() % DType.Q8_0.blockSize() == 0 ? DType.Q8_0 : DType.F32;
    }

    /**
     * Collects the neurons with h_i ≠ 0 of the row at {@code off} (in index order) into {@code active} and their h_i
     * into {@code coef}; returns their number. Run after the tap, which may have zeroed (or set) entries.
     */
    static int collectActive(float[] h, int off, int f, int[] active, float[] coef) {
        int n = 0;
        for (int i = 0; i < f; i++) {
            float hi = h[off + i];
            if (hi != 0f) {
                active[n] = i;
                coef[n++] = hi;
            }
        }
        return n;
    }

    /** First neuron of slice {@code s} (of {@link #SLICES}); slice s is [start(s), start(s + 1)). */
    static int sliceStart(int s, int f) {
        return (int) ((long) s * f / SLICES);
    }

    /**
     * The intermediates plus scratch: the active list and its coefficients (one row, or per slice at the slice's
     * own offset), one row's output, the per-slice partial outputs and a batch's per-token
     * lists of neurons ({@link #byToken}: capacity x F ints, the memory of one more intermediate).
     */
    static class Scratch extends FfnActivations {
        final int[] active;
        final float[] coef;
        final float[] yRow;
        final float[][] parts;
        /** Per token b of a batch, at offset b·F: its listed neurons ({@link #byToken}), and how many. */
        final int[] rowNeurons;
        final int[] rowCount;

        Scratch(int capacity, int f, int d) {
            super(capacity, f);
            active = new int[f];
            coef = new float[f];
            yRow = new float[d];
            parts = new float[SLICES][d];
            rowNeurons = new int[capacity * f];
            rowCount = new int[capacity];
        }
    }

    @Override
    public FfnActivations newActivations(int capacity) {
        return new Scratch(capacity, w.intermediateSize(), w.hiddenSize());
    }

    /** {@code acts} as this kernel's scratch; an error when the caller made it with another kernel. */
    static <S extends Scratch> S scratch(FfnActivations acts, Class<S> type, int batch, FfnWeights w) {
        acts.check(batch, w.intermediateSize());
        if (!type.isInstance(acts)) {
            throw new IllegalArgumentException("layer " + w.layer() + ": FFN activations were not made by this kernel"
                    + " (use FfnKernel.newActivations)");
        }
        return type.cast(acts);
    }

    /**
     * {@code part += Σ_k coef[k]·d_{active[k]}} for k in [k0, k1), in ascending k, four neurons per pass over part
     * (bit-identical to one at a time). Bundled layout.
     */
    final void downList(int[] active, float[] coef, int k0, int k1, float[] part) {
        downList(bundles, w.hiddenSize(), active, coef, k0, k1, part);
    }

    /** {@link #downList} over the records of {@code nb} (d outputs): for kernels outside this class. */
    static void downList(NeuronBundles nb, int d, int[] active, float[] coef, int k0, int k1, float[] part) {
        int k = k0;
        for (; k + 4 <= k1; k += 4) {
            nb.axpyDown4(active[k], active[k + 1], active[k + 2], active[k + 3], coef[k], coef[k + 1], coef[k + 2],
                    coef[k + 3], part, 0, 0, d);
        }
        for (; k < k1; k++) {
            nb.axpyDown(active[k], coef[k], part, 0, 0, d);
        }
    }

    /**
     * {@code y[yo + c] += Σ_k h[ho + rows[k]]·d_{rows[k]}[c]} for k in [k0, k1) and c in [c0, c1), four neurons per
     * pass over y: {@link #downList} with the coefficients read from the token's row of h.
     */
    static void downRow(NeuronBundles nb, int[] rows, int k0, int k1, float[] h, int ho, float[] y, int yo, int c0,
                        int c1) {
        int k = k0;
        for (; k + 4 <= k1; k += 4) {
            int i0 = rows[k];
            int i1 = rows[k + 1];
            int i2 = rows[k + 2];
            int i3 = rows[k + 3];
            nb.axpyDown4(i0, i1, i2, i3, h[ho + i0], h[ho + i1], h[ho + i2], h[ho + i3], y, yo, c0, c1);
        }
        for (; k < k1; k++) {
            nb.axpyDown(rows[k], h[ho + rows[k]], y, yo, c0, c1);
        }
    }

    /**
     * After a tap: per slice, the neurons with h_i ≠ 0 of the row at {@code o} (ascending) and {@code part_s = Σ h_i
     * d_i} over them, then {@code y[yo ..) = Σ_s part_s}. The same FMAs in the same order as the fused pass, so the
     * same bits.
     */
    final void downSlices(float[] h, int o, float[] y, int yo, Scratch sc, Parallel par) {
        int f = w.intermediateSize();
        int[] active = sc.active;
        float[] coef = sc.coef;
        float[][] parts = sc.parts;
        par.forRange(SLICES, 1, (s0, s1) -> {
            for (int sl = s0; sl < s1; sl++) {
                int from = sliceStart(sl, f);
                int to = sliceStart(sl + 1, f);
                int n = from;
                for (int i = from; i < to; i++) {
                    float hi = h[o + i];
                    if (hi != 0f) {
                        active[n] = i;
                        coef[n++] = hi;
                    }
                }
                float[] p = parts[sl];
                Arrays.fill(p, 0f);
                downList(active, coef, from, n, p);
            }
        });
        reduce(parts, y, yo, par);
    }

    /** {@code y[yo + c] = Σ_s parts[s][c]} in slice order (lanewise, so any column split gives the same bits). */
    final void reduce(float[][] parts, float[] y, int yo, Parallel par) {
        int d = w.hiddenSize();
        par.forRange(d, 512, (c0, c1) -> VectorOps.sumParts(parts, SLICES, y, yo, c0, c1));
    }

    /**
     * Per token b of a batch, the neurons with {@code v[b·F + i] ≠ 0} in ascending i at {@code rows[b·F ..)},
     * {@code count[b]} of them: compacted branch-free from the token's contiguous row of v, threads splitting the
     * tokens.
     */
    static void byToken(float[] v, int batch, int f, int[] rows, int[] count, Parallel par) {
        par.forRange(batch, 1, (b0, b1) -> {
            for (int b = b0; b < b1; b++) {
                int o = b * f;
                int n = o;
                for (int i = 0; i < f; i++) {
                    rows[n] = i;
                    n += v[o + i] != 0f ? 1 : 0;
                }
                count[b] = n - o;
            }
        });
    }

    /**
     * Work units per token of a batch pass: 1 when the tokens alone keep every thread busy, else enough that
     * {@code batch · parts ≥ 2 · threads} (a batch of 2 or 3 decode rows on 2 threads splits each row in two).
     */
    static int partsPerToken(int batch, int threads) {
        return batch >= 2 * threads ? 1 : (2 * threads + batch - 1) / batch;
    }

    /** Start of part p of {@code parts} of a token's list of n entries (relative to the token's offset). */
    static int listStart(int p, int parts, int n) {
        return (int) ((long) p * n / parts);
    }

    /** Start of column part p of {@code parts} over [0, d): multiples of 64 (block-aligned for Q8_0), the last at d. */
    static int columnStart(int p, int parts, int d) {
        return p >= parts ? d : Math.min(d, (int) ((long) p * d / parts) / 64 * 64);
    }

    /**
     * The down projection of a batch, bundled: {@code y_b = Σ_{i: h_{b,i} ≠ 0} h_{b,i} d_i} for every token b, token
     * by token: each token's nonzero h listed ({@link #byToken}), then {@link #downRow} over its list with its own
     * row of y (8 KB at D = 2048, in L1) taking four FMAs per load and store, and the kept records' down columns read
     * whole, as the one-token pass reads them. Reading the union's columns once for all tokens instead (each column
     * into every token that keeps it) keeps all the batch's y rows live: 0.5 MB per thread at 128 tokens, in L2, and
     * measured 2.2x slower at TinyLlama shape (bench-ffn --batch 128, 90%: 21.6 ms against 9.5 ms a layer); tiling
     * y's columns to keep them in L1 made it no faster (the records' 128-byte slices are scattered reads). Threads
     * split the tokens (and each token's columns for 2-3 tokens); each y[b, c] gets its FMAs in ascending i from zero,
     * the same bits for any thread count and the same as one {@link NeuronBundles#axpyDown} per nonzero h_{b,i}.
     */
    final void downBatch(float[] h, int batch, float[] y, Scratch sc, Parallel par) {
        int d = w.hiddenSize();
        int f = w.intermediateSize();
        NeuronBundles nb = bundles;
        int[] rows = sc.rowNeurons;
        int[] count = sc.rowCount;
        byToken(h, batch, f, rows, count, par);
        int parts = partsPerToken(batch, par.threads());
        par.forRange(batch * parts, 1, (u0, u1) -> {
            for (int u = u0; u < u1; u++) {
                int b = u / parts;
                int c0 = columnStart(u % parts, parts, d);
                int c1 = columnStart(u % parts + 1, parts, d);
                int yo = b * d;
                Arrays.fill(y, yo + c0, yo + c1, 0f);
                downRow(nb, rows, b * f, b * f + count[b], h, b * f, y, yo, c0, c1);   // y_b = Σ h_{b,i} d_i
            }
        });
    }

    @Override
    public FfnWeights weights() {
        return w;
    }

    @Override
    public Activation activation() {
        return act;
    }

    /** How the up rows and down columns are stored. */
    public FfnLayout layout() {
        return layout;
    }

    /** The dtype of the stored down columns (the source's for float weights, Q8_0 for quantized ones by default). */
    public DType downType() {
        return layout == FfnLayout.SPLIT ? downT.dtype() : bundles.downType();
    }

    /** The down projection transposed, [F, D]: row i is d_i ({@link FfnLayout#SPLIT} only). */
    public Tensor downTransposed() {
        if (downT == null) {
            throw new IllegalStateException("layer " + w.layer() + ": the bundled layout has no separate W_down^T");
        }
        return downT;
    }

    /** The neuron bundles ({@link FfnLayout#BUNDLED} only). */
    public NeuronBundles bundles() {
        if (bundles == null) {
            throw new IllegalStateException("layer " + w.layer() + ": the split layout has no bundles");
        }
        return bundles;
    }

    /** Bytes an active neuron reads: its up row and its down column. */
    public long activeNeuronBytes() {
        return layout == FfnLayout.SPLIT ? w.up().rowBytes() + downT.rowBytes() : bundles.activeBytes(false);
    }

    /** Bytes this kernel copied at load (W_down^T, or the bundles): its memory cost beyond the model's weights. */
    public long copiedBytes() {
        return layout == FfnLayout.SPLIT ? downT.data().byteSize() : bundles.bytes();
    }

    @Override
    public float[] downColumnNorms() {
        float[] n = downNorms;
        if (n == null) {
            n = w.downColumnNorms();
            downNorms = n;
        }
        return n;
    }
}
