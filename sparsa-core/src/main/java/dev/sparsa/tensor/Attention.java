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

    /** Queries per block of the blocked kernels: each loaded key/value row serves this many queries. */
    static final int QB = 4;

    // one head per job: the keys of its kv head transposed once; QB queries at a time share every load of kᵀ and v
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
            float[] scratch = probs == null ? new float[QB * ctxPad] : null;
            int[] qo = new int[QB];
            int[] so = new int[QB];
            for (int h = from; h < to; h++) {
                int kvo = kvOff + (h / group) * hd;
                if (h == from || (h / group) != ((h - 1) / group)) {
                    transposeHead(k, kvo, kvDim, ctx, hd, kt, ctxPad);
                }
                float[] sc = probs == null ? scratch : probs;
                for (int i0 = 0; i0 < t; i0 += QB) {
                    int nb = Math.min(QB, t - i0);
                    int n = pos0 + i0 + nb;                                                // keys of the last row
                    for (int b = 0; b < nb; b++) {
                        qo[b] = qOff + (i0 + b) * qDim + h * hd;
                        so[b] = probs == null ? b * ctxPad : probsOff + (h * t + i0 + b) * ctx;
                    }
                    scoresBlock(q, qo, nb, kt, ctxPad, hd, n, scale, sc, so);             // s_j = q·k_j / √d
                    for (int b = 0; b < nb; b++) {
                        int keys = pos0 + i0 + b + 1;
                        VectorOps.softmax(sc, so[b], keys);                                // P = softmax(s), causal
                        Arrays.fill(sc, so[b] + keys, so[b] + (probs == null ? n : ctx), 0f);
                        qo[b] = outOff + (i0 + b) * qDim + h * hd;
                    }
                    mixBlock(sc, so, nb, n, v, kvo, kvDim, out, qo, hd);                    // o = Σ_j P_j v_j
                }
            }
        });
    }

    /**
     * Backward over {@code seqs} sequences of {@code t} tokens each (pos0 = 0), with the probabilities the forward
     * kept ({@code [seqs, heads, t, t]}). Writes dq ({@code [seqs·t, heads·hd]}), dk and dv
     * ({@code [seqs·t, kvHeads·hd]}), all overwritten. One job per (sequence, kv head): the heads sharing a kv head
     * add into its dk and dv in head order, {@link #QB} queries at a time, so results do not depend on the thread
     * count.
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
            float[] dp = new float[QB * tPad];
            int[] qo = new int[QB];
            int[] po = new int[QB];
            int[] dpo = new int[QB];
            for (int b = 0; b < QB; b++) {
                dpo[b] = b * tPad;
            }
            for (int job = from; job < to; job++) {
                int sq = job / kvHeads;
                int g = job % kvHeads;
                int rq = sq * t * qDim;
                int rkv = sq * t * kvDim + g * hd;
                for (int s = 0; s < t; s++) {
                    Arrays.fill(dk, rkv + s * kvDim, rkv + s * kvDim + hd, 0f);
                    Arrays.fill(dv, rkv + s * kvDim, rkv + s * kvDim + hd, 0f);
                }
                transposeHead(v, rkv, kvDim, t, hd, vt, tPad);
                for (int h = g * group; h < (g + 1) * group; h++) {
                    int pHead = (sq * heads + h) * t * t;
                    for (int i0 = 0; i0 < t; i0 += QB) {
                        int nb = Math.min(QB, t - i0);
                        int n = i0 + nb;                                                  // keys of the last row
                        for (int b = 0; b < nb; b++) {
                            qo[b] = rq + (i0 + b) * qDim + h * hd;
                            po[b] = pHead + (i0 + b) * t;
                        }
                        scoresBlock(dOut, qo, nb, vt, tPad, hd, n, 1f, dp, dpo);          // dP_j = do·v_j
                        for (int b = 0; b < nb; b++) {                                    // ds_j / √d (0 past i)
                            softmaxGrad(probs, po[b], dp, dpo[b], n, scale);
                        }
                        mixBlock(dp, dpo, nb, n, k, rkv, kvDim, dq, qo, hd);              // dq = Σ_j ds_j k_j / √d
                        scatterBlock(dp, dpo, nb, n, q, qo, dk, rkv, kvDim, hd);          // dk_j += Σ ds_j q / √d
                        scatterBlock(probs, po, nb, n, dOut, qo, dv, rkv, kvDim, hd);     // dv_j += Σ P_j do
                    }
                }
            }
        });
    }

    // sc[so[b] + s] = scale · Σ_j x[xo[b] + j] · kt[j·ld + s] for s < n and the nb rows, L keys per step
    private static void scoresBlock(float[] x, int[] xo, int nb, float[] kt, int ld, int hd, int n, float scale,
                                    float[] sc, int[] so) {
        if (nb < QB) {
            for (int b = 0; b < nb; b++) {
                scoresRow(x, xo[b], kt, ld, hd, n, scale, sc, so[b]);
            }
            return;
        }
        int x0 = xo[0];
        int x1 = xo[1];
        int x2 = xo[2];
        int x3 = xo[3];
        int s = 0;
        for (int up = FS.loopBound(n); s < up; s += L) {
            FloatVector a0 = FloatVector.zero(FS);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int j = 0; j < hd; j++) {
                FloatVector kv = FloatVector.fromArray(FS, kt, j * ld + s);
                a0 = kv.fma(FloatVector.broadcast(FS, x[x0 + j]), a0);
                a1 = kv.fma(FloatVector.broadcast(FS, x[x1 + j]), a1);
                a2 = kv.fma(FloatVector.broadcast(FS, x[x2 + j]), a2);
                a3 = kv.fma(FloatVector.broadcast(FS, x[x3 + j]), a3);
            }
            a0.mul(scale).intoArray(sc, so[0] + s);
            a1.mul(scale).intoArray(sc, so[1] + s);
            a2.mul(scale).intoArray(sc, so[2] + s);
            a3.mul(scale).intoArray(sc, so[3] + s);
        }
        for (; s < n; s++) {
            for (int b = 0; b < QB; b++) {
                float acc = 0f;
                for (int j = 0; j < hd; j++) {
                    acc = Math.fma(kt[j * ld + s], x[xo[b] + j], acc);
                }
                sc[so[b] + s] = acc * scale;
            }
        }
    }

    // out[oo[b] .. +hd) = Σ_{s<n} p[po[b] + s] · v[vo + s·stride ..] for the nb rows; each v row loaded once
    private static void mixBlock(float[] p, int[] po, int nb, int n, float[] v, int vo, int stride, float[] out,
                                 int[] oo, int hd) {
        if (nb < QB) {
            for (int b = 0; b < nb; b++) {
                mixValues(p, po[b], n, v, vo, stride, out, oo[b], hd);
            }
            return;
        }
        int p0 = po[0];
        int p1 = po[1];
        int p2 = po[2];
        int p3 = po[3];
        int j = 0;
        for (int up = FS.loopBound(hd); j < up; j += L) {
            FloatVector a0 = FloatVector.zero(FS);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int s = 0; s < n; s++) {
                FloatVector vv = FloatVector.fromArray(FS, v, vo + s * stride + j);
                a0 = vv.fma(FloatVector.broadcast(FS, p[p0 + s]), a0);
                a1 = vv.fma(FloatVector.broadcast(FS, p[p1 + s]), a1);
                a2 = vv.fma(FloatVector.broadcast(FS, p[p2 + s]), a2);
                a3 = vv.fma(FloatVector.broadcast(FS, p[p3 + s]), a3);
            }
            a0.intoArray(out, oo[0] + j);
            a1.intoArray(out, oo[1] + j);
            a2.intoArray(out, oo[2] + j);
            a3.intoArray(out, oo[3] + j);
        }
        for (; j < hd; j++) {
            for (int b = 0; b < QB; b++) {
                float acc = 0f;
                for (int s = 0; s < n; s++) {
                    acc = Math.fma(v[vo + s * stride + j], p[po[b] + s], acc);
                }
                out[oo[b] + j] = acc;
            }
        }
    }

    // acc[ao + s·stride + j] += Σ_b c[co[b] + s] · x[xo[b] + j] for s < n (b in order): each acc row loaded once
    private static void scatterBlock(float[] c, int[] co, int nb, int n, float[] x, int[] xo, float[] acc, int ao,
                                     int stride, int hd) {
        if (nb < QB || hd % L != 0) {
            for (int b = 0; b < nb; b++) {
                scatter(c, co[b], n, x, xo[b], acc, ao, stride, hd);
            }
            return;
        }
        for (int s = 0; s < n; s++) {
            float c0 = c[co[0] + s];
            float c1 = c[co[1] + s];
            float c2 = c[co[2] + s];
            float c3 = c[co[3] + s];
            int r = ao + s * stride;
            for (int j = 0; j < hd; j += L) {
                FloatVector a = FloatVector.fromArray(FS, acc, r + j);
                a = FloatVector.fromArray(FS, x, xo[0] + j).fma(FloatVector.broadcast(FS, c0), a);
                a = FloatVector.fromArray(FS, x, xo[1] + j).fma(FloatVector.broadcast(FS, c1), a);
                a = FloatVector.fromArray(FS, x, xo[2] + j).fma(FloatVector.broadcast(FS, c2), a);
                a = FloatVector.fromArray(FS, x, xo[3] + j).fma(FloatVector.broadcast(FS, c3), a);
                a.intoArray(acc, r + j);
            }
        }
    }

    // dp[s] = P[s] (dp[s] − Σ_k P[k] dp[k]) · scale for s < n (P is 0 past the causal limit, so is the result)
    private static void softmaxGrad(float[] p, int po, float[] dp, int dpo, int n, float scale) {
        float c = VectorOps.dot(p, po, dp, dpo, n);
        int s = 0;
        for (int up = FS.loopBound(n); s < up; s += L) {
            FloatVector.fromArray(FS, dp, dpo + s).sub(c).mul(FloatVector.fromArray(FS, p, po + s)).mul(scale)
                    .intoArray(dp, dpo + s);
        }
        for (; s < n; s++) {
            dp[dpo + s] = (dp[dpo + s] - c) * p[po + s] * scale;
        }
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

}
