package dev.sparsa.infer;

import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.FfnActivations;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.tensor.NeuronBundles;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Permutation;
import dev.sparsa.tensor.Tensor;
import dev.sparsa.tensor.VectorOps;
import dev.sparsa.tensor.DType;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The predicted kernel's reads, replayed from a trained model (issue #9 §3, docs/sparse-modes.md): a speed stand-in
 * for a predictor on weights without trained structure ({@code sparsa synth}). Per token it runs a predictor of the
 * trained one's form and rank at this layer's shape (the compute is real, its scores unused) and then reads exactly
 * what the trained model's predicted kernel read at that position, scaled to this width: the gate rows of the
 * recorded candidates and the up rows and down columns of the recorded kept neurons, from the same neuron bundles
 * as {@link PredictorFfn} ([gate row | up row | down column]). A recorded neuron i of a width-F₀ layer stands for
 * the neurons [⌊i·F/F₀⌋, ⌊(i+1)·F/F₀⌋) here, so shares and the reuse between tokens are those of the trained model.
 *
 * <pre>
 *   C = map(C₀[pos]),  K = map(K₀[pos]) ⊆ C,  g_i = W_gate[i,:]·x (i ∈ C),  h_i = g_i·(W_up[i,:]·x) (i ∈ K),
 *   y = Σ_{i∈K} h_i d_i
 * </pre>
 * h is linear in g (no activation) so that every recorded kept neuron is read whatever this model's own gate says:
 * the output is not a language model's, only the bytes and the work are. Positions wrap around the trace.
 */
public final class ReplayFfn implements FfnKernel {
    /**
     * What one layer of the trained model's predicted kernel read, per position.
     *
     * @param width      the trained layer's F₀
     * @param candidates per position, the candidate neurons (ascending)
     * @param kept       per position, the kept neurons (ascending, within the candidates)
     */
    public record Trace(int width, List<int[]> candidates, List<int[]> kept) {
        public Trace {
            if (candidates.isEmpty() || candidates.size() != kept.size()) {
                throw new IllegalArgumentException("a trace needs as many kept sets as candidate sets, at least one");
            }
            candidates = List.copyOf(candidates);
            kept = List.copyOf(kept);
        }

        /** Mean kept share over the positions. */
        public double keptShare() {
            return kept.stream().mapToInt(k -> k.length).average().orElse(0) / width;
        }

        /** Mean candidate share over the positions. */
        public double candidateShare() {
            return candidates.stream().mapToInt(k -> k.length).average().orElse(0) / width;
        }
    }

    private final FfnWeights w;
    private final Activation act;
    private final Predictor predictor;
    private final NeuronBundles bundles;
    private final int[][] cand;
    private final int[][] kept;
    private final double candidateShare;
    private float[] norms;

    /**
     * @param trace the trained layer's reads
     * @param kind  the trained predictor's form
     * @param rank  its rank
     */
    public ReplayFfn(FfnWeights weights, Activation act, Trace trace, Predictor.Kind kind, int rank, long seed) {
        this(weights, act, trace, kind, rank, DType.F32, seed);
    }

    /** @param dtype the dtype of the trained predictor's weights ({@link Predictor#as}) */
    public ReplayFfn(FfnWeights weights, Activation act, Trace trace, Predictor.Kind kind, int rank, DType dtype,
                     long seed) {
        this(weights, act, trace, kind, rank, dtype, Spread.BLOCKS, seed);
    }

    /**
     * Where the F/F₀ neurons that stand for one recorded neuron lie (the shares and the reuse between tokens are the
     * same either way; only the addresses differ).
     */
    public enum Spread {
        /** Adjacent: [⌊i·F/F₀⌋, ⌊(i+1)·F/F₀⌋), so every recorded neuron is a contiguous run of records. */
        BLOCKS,
        /**
         * Those neurons through a fixed random permutation π of [0, F) (seeded per layer): a kept set is as scattered
         * over the records as a trained model's own neurons are, without a hot/cold order.
         */
        SCATTERED;

        /** The option's spelling. */
        public String key() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** @param spread where the neurons standing for one recorded neuron lie */
    public ReplayFfn(FfnWeights weights, Activation act, Trace trace, Predictor.Kind kind, int rank, DType dtype,
                     Spread spread, long seed) {
        this.w = weights;
        this.act = act;
        int f = weights.intermediateSize();
        int d = weights.hiddenSize();
        this.predictor = randomPredictor(kind, rank, d, f, new SplittableRandom(seed ^ weights.layer()))
                .as(dtype, Arena.ofAuto());
        this.bundles = NeuronBundles.of(weights.gate(), weights.up(), weights.down(),
                SparseFfnBase.downTypeFor(weights), Arena.ofAuto());                 // as PredictorFfn's records
        int n = trace.candidates().size();
        cand = new int[n][];
        kept = new int[n][];
        int[] perm = spread == Spread.SCATTERED ? Permutation.random(f, seed * 31 + weights.layer()) : null;
        long c = 0;
        for (int p = 0; p < n; p++) {
            cand[p] = map(trace.candidates().get(p), trace.width(), f, perm);
            kept[p] = map(trace.kept().get(p), trace.width(), f, perm);
            c += cand[p].length;
        }
        candidateShare = (double) c / n / f;
    }

    /** The neurons [⌊i·F/F₀⌋, ⌊(i+1)·F/F₀⌋) of each recorded i, ascending. */
    static int[] map(int[] idx, int from, int to) {
        return map(idx, from, to, null);
    }

    /** The neurons π(j), j ∈ [⌊i·F/F₀⌋, ⌊(i+1)·F/F₀⌋), of each recorded i (π the identity when null), ascending. */
    static int[] map(int[] idx, int from, int to, int[] perm) {
        List<Integer> out = new ArrayList<>();
        for (int i : idx) {
            int a = (int) ((long) i * to / from);
            int b = (int) ((long) (i + 1) * to / from);
            for (int j = a; j < b; j++) {
                out.add(perm == null ? j : perm[j]);
            }
        }
        return out.stream().mapToInt(Integer::intValue).sorted().toArray();
    }

    private static Predictor randomPredictor(Predictor.Kind kind, int r, int d, int f, SplittableRandom rnd) {
        float[] w1 = new float[r * d];
        float[] w2 = new float[f * r];
        for (int i = 0; i < w1.length; i++) {
            w1[i] = (float) (rnd.nextGaussian() / Math.sqrt(d));
        }
        for (int i = 0; i < w2.length; i++) {
            w2[i] = (float) (rnd.nextGaussian() / Math.sqrt(r));
        }
        boolean mlp = kind == Predictor.Kind.MLP;
        return new Predictor(kind, Tensor.f32("replay.w1", w1, r, d), mlp ? new float[r] : null,
                Tensor.f32("replay.w2", w2, f, r), mlp ? new float[f] : null);
    }

    /** Bytes of the predictor read per token. */
    public long predictorBytes() {
        return predictor.bytes();
    }

    /** Mean share of neurons whose gate row is read (the replayed candidates). */
    public double candidateShare() {
        return candidateShare;
    }

    /** Bytes a kept neuron reads besides its gate row: its up row and its down column. */
    public long activeNeuronBytes() {
        return bundles.activeBytes(false);
    }

    @Override
    public FfnWeights weights() {
        return w;
    }

    @Override
    public Activation activation() {
        return act;
    }

    private static final class Scratch extends FfnActivations {
        final float[] z;
        final float[] scores;
        final float[][] parts;
        final int[] active;
        final float[] coef;

        Scratch(int capacity, int f, int d, int rank) {
            super(capacity, f);
            z = new float[rank];
            scores = new float[f];
            parts = new float[SparseFfnBase.SLICES][d];
            active = new int[f];
            coef = new float[f];
        }
    }

    @Override
    public FfnActivations newActivations(int capacity) {
        return new Scratch(capacity, w.intermediateSize(), w.hiddenSize(), predictor.rank());
    }

    /**
     * Per token the structure of {@link PredictorFfn}'s fused one-token pass, so the replay times that kernel: the
     * predictor's hidden layer, then one parallel pass over the fixed neuron slices (the slice's predictor scores,
     * the gate rows of its recorded candidates, the up rows of its recorded kept neurons, {@code h_i d_i} into the
     * slice's partial output four neurons at a time), then y = Σ of the partials in slice order. With a tap the down
     * sums run after it, over the same per-slice lists in the same order (the same bits).
     */
    @Override
    public void forward(float[] x, int batch, int pos0, float[] y, FfnActivations acts, ActivationTap tap,
                        Parallel par) {
        if (!(acts instanceof Scratch sc)) {
            throw new IllegalArgumentException("layer " + w.layer() + ": FFN activations were not made by this kernel");
        }
        acts.check(batch, w.intermediateSize());
        int d = w.hiddenSize();
        int f = w.intermediateSize();
        int slices = SparseFfnBase.SLICES;
        boolean tapped = tap.wants(w.layer());
        NeuronBundles nb = bundles;
        Predictor pr = predictor;
        float[] g = sc.gate;
        float[] a = sc.act;
        float[] up = sc.up;
        float[] h = sc.h;
        float[] z = sc.z;
        float[] scores = sc.scores;
        float[][] parts = sc.parts;
        int[] active = sc.active;
        float[] coef = sc.coef;
        for (int b = 0; b < batch; b++) {
            int o = b * f;
            int xo = b * d;
            int p = Math.floorMod(pos0 + b, cand.length);
            int[] c = cand[p];
            int[] k = kept[p];
            pr.hidden(x, xo, z, par);                               // the predictor's work (scores unused)
            par.forRange(slices, 1, (s0, s1) -> {
                for (int sl = s0; sl < s1; sl++) {
                    int from = SparseFfnBase.sliceStart(sl, f);
                    int to = SparseFfnBase.sliceStart(sl + 1, f);
                    pr.scoreRange(from, to, z, scores);
                    Arrays.fill(g, o + from, o + to, 0f);
                    Arrays.fill(a, o + from, o + to, 0f);
                    Arrays.fill(up, o + from, o + to, 0f);
                    Arrays.fill(h, o + from, o + to, 0f);
                    float[] part = parts[sl];
                    if (!tapped) {
                        Arrays.fill(part, 0f);
                    }
                    int kj = lowerBound(k, from);
                    int n = from;
                    int done = from;
                    int c0 = lowerBound(c, from);
                    int c1 = lowerBound(c, to);
                    for (int cj = c0; cj < c1; cj += 4) {           // four candidates' records side by side
                        int cnt = Math.min(4, c1 - cj);
                        int i0 = c[cj];
                        int i1 = c[cj + Math.min(1, cnt - 1)];
                        int i2 = c[cj + Math.min(2, cnt - 1)];
                        int i3 = c[cj + Math.min(3, cnt - 1)];
                        if (cnt == 4) {                             // g_i = W_gate[i,:]·x, i ∈ C
                            nb.dotGateRows4(i0, i1, i2, i3, x, xo, g, o + i0, o + i1, o + i2, o + i3);
                        } else {
                            for (int j = 0; j < cnt; j++) {
                                g[o + c[cj + j]] = nb.dotGate(c[cj + j], x, xo);
                            }
                        }
                        int inK = 0;                                // bit j: candidate j is in K
                        for (int j = 0; j < cnt; j++) {
                            int i = c[cj + j];
                            while (kj < k.length && k[kj] < i) {
                                kj++;                               // (K ⊆ C by the trace's contract)
                            }
                            if (kj < k.length && k[kj] == i) {
                                kj++;
                                inK |= 1 << j;
                            }
                        }
                        if (inK == 0b1111) {                        // W_up[i,:]·x, i ∈ K
                            nb.dotUpRows4(i0, i1, i2, i3, x, xo, up, o + i0, o + i1, o + i2, o + i3);
                        } else {
                            for (int j = 0; j < cnt; j++) {
                                if ((inK >> j & 1) != 0) {
                                    up[o + c[cj + j]] = nb.dotUp(c[cj + j], x, xo);
                                }
                            }
                        }
                        for (int j = 0; j < cnt; j++) {
                            if ((inK >> j & 1) == 0) {
                                continue;
                            }
                            int i = c[cj + j];
                            float gi = g[o + i];
                            a[o + i] = gi;
                            float hi = gi * up[o + i];              // h_i = g_i·(W_up[i,:]·x), i ∈ K
                            h[o + i] = hi;
                            if (hi != 0f) {
                                active[n] = i;
                                coef[n++] = hi;
                            }
                        }
                        if (!tapped && n - done >= 4) {             // part += Σ h_i d_i, while the records are hot
                            SparseFfnBase.downList(nb, d, active, coef, done, n, part);
                            done = n;
                        }
                    }
                    if (!tapped) {
                        SparseFfnBase.downList(nb, d, active, coef, done, n, part);
                    }
                }
            });
            if (tapped) {
                tap.onFfn(w.layer(), pos0 + b, x, xo, g, a, h, o);
                par.forRange(slices, 1, (s0, s1) -> {               // the down sums over what the tap left
                    for (int sl = s0; sl < s1; sl++) {
                        int from = SparseFfnBase.sliceStart(sl, f);
                        int to = SparseFfnBase.sliceStart(sl + 1, f);
                        int n = from;
                        for (int i = from; i < to; i++) {
                            if (h[o + i] != 0f) {
                                active[n] = i;
                                coef[n++] = h[o + i];
                            }
                        }
                        float[] part = parts[sl];
                        Arrays.fill(part, 0f);
                        SparseFfnBase.downList(nb, d, active, coef, from, n, part);
                    }
                });
            }
            par.forRange(d, 512, (c0, c1) -> VectorOps.sumParts(parts, slices, y, xo, c0, c1)); // y = Σ_s part_s
        }
    }

    // the first index j of the ascending list (distinct values) with list[j] >= v
    static int lowerBound(int[] list, int v) {
        int j = Arrays.binarySearch(list, v);
        return j >= 0 ? j : -j - 1;
    }

    @Override
    public float[] downColumnNorms() {
        float[] n = norms;
        if (n == null) {
            n = w.downColumnNorms();
            norms = n;
        }
        return n;
    }
}
