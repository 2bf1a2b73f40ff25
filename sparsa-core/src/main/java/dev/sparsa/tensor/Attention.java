package dev.sparsa.tensor;

import java.util.Arrays;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Causal scaled dot-product attention (Vaswani et al. eq. 1) with grouped-query heads, forward and backward side by
 * side. Query head h of the token at position p attends to positions 0..p of kv head {@code h / (heads / kvHeads)}:
 * <pre>
 *   s_j = q·k_j / √d,   P = softmax(s),   o = Σ_j P_j v_j
 *   backward:  dP_j = do·v_j,   ds_j = P_j (dP_j − Σ_k P_k dP_k),   dq = Σ_j ds_j k_j / √d,
 *              dk_j += ds_j q / √d,   dv_j += P_j do
 * </pre>
 * Layouts (row-major): queries and outputs {@code [t, heads·headDim]} (heads concatenated), keys and values
 * {@code [positions, kvHeads·headDim]}; the t queries of a sequence are at positions {@code pos0 .. pos0+t-1} and
 * keys/values 0..pos0+t-1 are present (a KV cache in inference, the sequence itself in training with pos0 = 0).
 * Probabilities kept for the backward are {@code [heads, t, pos0+t]} per sequence (row i holds positions 0..pos0+i,
 * zeros after).
 *
 * <p>Two forward kernels compute the same values: one query at a time (decode, short prompts: a dot product per
 * key) and, for longer blocks, one head at a time against a transposed copy of its keys (scores for {@code L} keys
 * per vector op, no horizontal sums). Each output element is computed by one thread in a fixed order, so results do
 * not depend on the thread count. {@link ScalarKernels#attention} / {@link ScalarKernels#attentionBackward} are the
 * scalar twins.
 */
public final class Attention {
    private Attention() {
    }

    private static final VectorSpecies<Float> FS = Simd.FS;
    private static final int L = Simd.L;
    /** Query blocks of at least this many tokens use the head-at-a-time kernel. */
    static final int BLOCKED_FROM = 16;

    /** Shape of one attention call. */
    public record Shape(int heads, int kvHeads, int headDim) {
        public Shape {
            if (heads < 1 || kvHeads < 1 || headDim < 1 || heads % kvHeads != 0) {
                throw new IllegalArgumentException("attention shape: heads " + heads + ", kv heads " + kvHeads
                        + ", head dim " + headDim);
            }
        }

        public int qDim() {
            return heads * headDim;
        }

        public int kvDim() {
            return kvHeads * headDim;
        }

        int group() {
            return heads / kvHeads;
        }

        float scale() {
            return (float) (1.0 / Math.sqrt(headDim));
        }
    }

    /**
     * Forward over one sequence. {@code probs} may be null (inference); else it receives P as described in the class
     * comment, from {@code probsOff}.
     */
    public static void forward(Shape sh, float[] q, int qOff, float[] k, float[] v, int kvOff, float[] out, int outOff,
                               int t, int pos0, float[] probs, int probsOff, Parallel par) {
        if (t >= BLOCKED_FROM) {
            forwardBlocked(sh, q, qOff, k, v, kvOff, out, outOff, t, pos0, probs, probsOff, par);
        } else {
            forwardRows(sh, q, qOff, k, v, kvOff, out, outOff, t, pos0, probs, probsOff, par);
        }
    }

    // one (query, head) pair per job: s_j by dot products
    private static void forwardRows(Shape sh, float[] q, int qOff, float[] k, float[] v, int kvOff, float[] out,
                                    int outOff, int t, int pos0, float[] probs, int probsOff, Parallel par) {
        int heads = sh.heads();
        int hd = sh.headDim();
        int qDim = sh.qDim();
        int kvDim = sh.kvDim();
        int group = sh.group();
        int ctx = pos0 + t;
        float scale = sh.scale();
        par.forRange(t * heads, 1, (from, to) -> {
            float[] scores = probs == null ? new float[ctx] : null;
            for (int job = from; job < to; job++) {
                int i = job / heads;
                int h = job % heads;
                int pos = pos0 + i;
                int qo = qOff + i * qDim + h * hd;
                int kvo = kvOff + (h / group) * hd;
                float[] sc = probs == null ? scores : probs;
                int so = probs == null ? 0 : probsOff + (h * t + i) * ctx;
                for (int s = 0; s <= pos; s++) {
                    sc[so + s] = VectorOps.dot(q, qo, k, kvo + s * kvDim, hd) * scale;       // s_j = q·k_j / √d
                }
                softmaxRow(sc, so, pos + 1, ctx, probs != null);                           // P = softmax(s)
                mixValues(sc, so, pos + 1, v, kvo, kvDim, out, outOff + i * qDim + h * hd, hd); // o = Σ_j P_j v_j
            }
        });
    }

    // one head per job: the keys of its kv head transposed once, scores for L keys per vector op
    private static void forwardBlocked(Shape sh, float[] q, int qOff, float[] k, float[] v, int kvOff, float[] out,
                                       int outOff, int t, int pos0, float[] probs, int probsOff, Parallel par) {
        int heads = sh.heads();
        int hd = sh.headDim();
        int qDim = sh.qDim();
        int kvDim = sh.kvDim();
        int group = sh.group();
        int ctx = pos0 + t;
        int ctxPad = (ctx + L - 1) / L * L;
        float scale = sh.scale();
        par.forRange(heads, 1, (from, to) -> {
            float[] kt = new float[hd * ctxPad];                                           // kᵀ [hd, ctx]
            float[] scores = probs == null ? new float[ctxPad] : null;
            for (int h = from; h < to; h++) {
                int kvo = kvOff + (h / group) * hd;
                if (h == from || (h / group) != ((h - 1) / group)) {
                    transposeHead(k, kvo, kvDim, ctx, hd, kt, ctxPad);
                }
                for (int i = 0; i < t; i++) {
                    int pos = pos0 + i;
                    float[] sc = probs == null ? scores : probs;
                    int so = probs == null ? 0 : probsOff + (h * t + i) * ctx;
                    scoresRow(q, qOff + i * qDim + h * hd, kt, ctxPad, hd, pos + 1, scale, sc, so);
                    softmaxRow(sc, so, pos + 1, ctx, probs != null);
                    mixValues(sc, so, pos + 1, v, kvo, kvDim, out, outOff + i * qDim + h * hd, hd);
                }
            }
        });
    }

    /**
     * Backward over {@code seqs} sequences of {@code t} tokens each (pos0 = 0), with the probabilities the forward
     * kept ({@code [seqs, heads, t, t]}). Writes dq ({@code [seqs·t, heads·hd]}), dk and dv
     * ({@code [seqs·t, kvHeads·hd]}), all overwritten. One job per (sequence, kv head): the heads sharing a kv head
     * add into its dk and dv in head order, so results do not depend on the thread count.
     */
    public static void backward(Shape sh, int seqs, int t, float[] q, float[] k, float[] v, float[] probs, float[] dOut,
                                float[] dq, float[] dk, float[] dv, Parallel par) {
        int heads = sh.heads();
        int kvHeads = sh.kvHeads();
        int hd = sh.headDim();
        int qDim = sh.qDim();
        int kvDim = sh.kvDim();
        int group = sh.group();
        int tPad = (t + L - 1) / L * L;
        float scale = sh.scale();
        par.forRange(seqs * kvHeads, 1, (from, to) -> {
            float[] vt = new float[hd * tPad];                                             // vᵀ [hd, t]
            float[] dp = new float[tPad];
            for (int job = from; job < to; job++) {
                int b = job / kvHeads;
                int g = job % kvHeads;
                int rq = b * t * qDim;
                int rkv = b * t * kvDim + g * hd;
                for (int s = 0; s < t; s++) {
                    Arrays.fill(dk, rkv + s * kvDim, rkv + s * kvDim + hd, 0f);
                    Arrays.fill(dv, rkv + s * kvDim, rkv + s * kvDim + hd, 0f);
                }
                transposeHead(v, rkv, kvDim, t, hd, vt, tPad);
                for (int h = g * group; h < (g + 1) * group; h++) {
                    int po = (b * heads + h) * t * t;
                    for (int i = 0; i < t; i++) {
                        int n = i + 1;
                        int pRow = po + i * t;
                        int qo = rq + i * qDim + h * hd;
                        scoresRow(dOut, qo, vt, tPad, hd, n, 1f, dp, 0);                    // dP_j = do·v_j
                        float c = dotRange(probs, pRow, dp, 0, n);                          // Σ_k P_k dP_k
                        for (int s = 0; s < n; s++) {
                            dp[s] = probs[pRow + s] * (dp[s] - c) * scale;                  // ds_j / √d
                        }
                        Arrays.fill(dq, qo, qo + hd, 0f);
                        mixValues(dp, 0, n, k, rkv, kvDim, dq, qo, hd);                     // dq = Σ_j ds_j k_j / √d
                        scatter(dp, 0, n, q, qo, dk, rkv, kvDim, hd);                       // dk_j += ds_j q / √d
                        scatter(probs, pRow, n, dOut, qo, dv, rkv, kvDim, hd);              // dv_j += P_j do
                    }
                }
            }
        });
    }

    // kt[j·ld + s] = k[off + s·stride + j] for s < n, j < hd; the padding [n, ld) is zero
    private static void transposeHead(float[] k, int off, int stride, int n, int hd, float[] kt, int ld) {
        for (int s = 0; s < n; s++) {
            int r = off + s * stride;
            for (int j = 0; j < hd; j++) {
                kt[j * ld + s] = k[r + j];
            }
        }
        for (int j = 0; j < hd; j++) {
            Arrays.fill(kt, j * ld + n, (j + 1) * ld, 0f);
        }
    }

    // sc[so + s] = scale · Σ_j x[xo + j] · kt[j·ld + s] for s < n, L keys per step
    private static void scoresRow(float[] x, int xo, float[] kt, int ld, int hd, int n, float scale, float[] sc,
                                  int so) {
        int s = 0;
        for (int up = FS.loopBound(n); s < up; s += L) {
            FloatVector acc = FloatVector.zero(FS);
            for (int j = 0; j < hd; j++) {
                acc = FloatVector.fromArray(FS, kt, j * ld + s).fma(FloatVector.broadcast(FS, x[xo + j]), acc);
            }
            acc.mul(scale).intoArray(sc, so + s);
        }
        for (; s < n; s++) {
            float acc = 0f;
            for (int j = 0; j < hd; j++) {
                acc = Math.fma(kt[j * ld + s], x[xo + j], acc);
            }
            sc[so + s] = acc * scale;
        }
    }

    // softmax over sc[so, so+n); with keep, zeros over [so+n, so+ctx)
    private static void softmaxRow(float[] sc, int so, int n, int ctx, boolean keep) {
        VectorOps.softmax(sc, so, n);
        if (keep && n < ctx) {
            Arrays.fill(sc, so + n, so + ctx, 0f);
        }
    }

    // out[oo .. oo+hd) = Σ_{s<n} p[po + s] · v[vo + s·stride ..]
    private static void mixValues(float[] p, int po, int n, float[] v, int vo, int stride, float[] out, int oo,
                                  int hd) {
        int j = 0;
        for (int up = FS.loopBound(hd); j < up; j += L) {
            FloatVector acc = FloatVector.zero(FS);
            for (int s = 0; s < n; s++) {
                acc = FloatVector.fromArray(FS, v, vo + s * stride + j).fma(FloatVector.broadcast(FS, p[po + s]), acc);
            }
            acc.intoArray(out, oo + j);
        }
        for (; j < hd; j++) {
            float acc = 0f;
            for (int s = 0; s < n; s++) {
                acc = Math.fma(v[vo + s * stride + j], p[po + s], acc);
            }
            out[oo + j] = acc;
        }
    }

    // acc[ao + s·stride + j] += c[co + s] · x[xo + j] for s < n, j < hd
    private static void scatter(float[] c, int co, int n, float[] x, int xo, float[] acc, int ao, int stride, int hd) {
        for (int s = 0; s < n; s++) {
            float cs = c[co + s];
            if (cs == 0f) {
                continue;
            }
            int r = ao + s * stride;
            int j = 0;
            for (int up = FS.loopBound(hd); j < up; j += L) {
                FloatVector.fromArray(FS, x, xo + j).fma(FloatVector.broadcast(FS, cs), FloatVector.fromArray(FS, acc, r + j))
                        .intoArray(acc, r + j);
            }
            for (; j < hd; j++) {
                acc[r + j] = Math.fma(x[xo + j], cs, acc[r + j]);
            }
        }
    }

    private static float dotRange(float[] a, int ao, float[] b, int bo, int n) {
        return VectorOps.dot(a, ao, b, bo, n);
    }
}
