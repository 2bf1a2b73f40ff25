package dev.sparsa.model.bert;

import dev.sparsa.SparsaException.UsageException;
import dev.sparsa.model.Activation;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Gated;
import dev.sparsa.tensor.Gemm;
import dev.sparsa.tensor.Gemm.Mat;
import dev.sparsa.tensor.Gemm.Weight;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.MlasErf;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;

import java.util.Arrays;
import java.util.List;

/**
 * The backward of {@link BertModel}'s encoder and sentence embedding, llm.c style: a forward that keeps what the
 * backward needs, then the same ops in reverse, each op's backward beside its forward line. It computes gradients of
 * activations only (no weight gradients: nothing is trained) for an objective that is linear in the sentence
 * embeddings,
 * <pre>
 *   F = Σ_b r_b · e_b,   e_b = u_b / ‖u_b‖,   u_b = (1/len_b) Σ_t x^L_{b,t}        (mean pool, L2 normalize)
 * </pre>
 * and hands each layer's FFN intermediate h = act(g) and ∂F/∂h to a tap, from the last layer to the first. One
 * {@link #forward} serves any number of {@link #backward}s (one per direction r). Sequences are unpadded (every
 * position attended, token type 0), as {@link BertModel.Batch#of}. Weights are read as floats: a dynamic-int8 layer
 * uses its dequantized weights with float inputs (the gradient of the float twin; the int8 rounding of the input has
 * no gradient). The forward's values equal {@link BertModel#sentenceEmbeddings} within float rounding (a different
 * matmul order); every kernel splits over independent outputs, so results do not depend on the thread count.
 */
public final class BertBackward {

    /** Sees layer ℓ's h and ∂F/∂h ({@code [n, F]}, token rows in batch order); both are workspaces: copy to keep. */
    @FunctionalInterface
    public interface FfnGradientTap {
        void onFfn(int layer, float[] h, float[] dh, int n, int f);
    }

    private final ModelConfig cfg;
    private final BertModel model;
    private final BertModel.Weights w;
    private final Activation act;
    private final int d;
    private final int f;
    private final int nh;
    private final int dh;
    private final float eps;
    /** Float weights per layer: q, k, v, o, in, out ([out, in], any float dtype the GEMM reads). */
    private final Tensor[][] wt;
    private final Gemm gemm = new Gemm();

    // ---- forward state (sized for the last batch)
    private int n;
    private int[] off;
    private int[] pOff;                 // per sequence: offset of its [heads, len, len] probabilities
    private float[][] q;
    private float[][] k;
    private float[][] v;
    private float[][] probs;            // [layer] P
    private float[][] ctx;
    private float[][] xhat1;            // [layer] normalized x + o (before γ, β)
    private float[][] rstd1;
    private float[][] a;                // [layer] LN1 output, the FFN input
    private float[][] g;                // [layer] gate pre-activation
    private float[][] h;                // [layer] act(g)
    private float[][] xhat2;
    private float[][] rstd2;
    private float[] xOut;               // last hidden states
    private float[][] emb;              // [b] e_b
    private double[] uNorm;             // [b] ‖u_b‖ (clamped at 1e-12)

    public BertBackward(BertModel model) {
        this.model = model;
        this.cfg = model.config();
        this.w = model.weights();
        this.act = Activation.of(cfg.hiddenAct(), cfg.fatreluThreshold());
        this.d = cfg.hiddenSize();
        this.f = cfg.intermediateSize();
        this.nh = cfg.numHeads();
        this.dh = cfg.headDim();
        this.eps = cfg.normEps();
        int layers = cfg.numLayers();
        this.wt = new Tensor[layers][];
        for (int l = 0; l < layers; l++) {
            BertModel.Layer ly = w.layers().get(l);
            wt[l] = new Tensor[]{ly.wq(), ly.wk(), ly.wv(), ly.wo(), ly.wIn(), ly.wOut()};
        }
    }

    public ModelConfig config() {
        return cfg;
    }

    /** Tokens of the last forward. */
    public int tokens() {
        return n;
    }

    /** Sequences of the last forward. */
    public int sequences() {
        return off.length - 1;
    }

    /** Start of sequence b's rows in the last forward (b = size gives the token count). */
    public int offset(int b) {
        return off[b];
    }

    /** Layer ℓ's h = act(g) of the last forward ({@code [n, F]}; the state itself: do not change it). */
    public float[] h(int layer) {
        return h[layer];
    }

    /** The sentence embeddings of the last forward ({@code [b][D]}; copies). */
    public float[][] embeddings() {
        float[][] out = new float[emb.length][];
        for (int b = 0; b < emb.length; b++) {
            out[b] = emb[b].clone();
        }
        return out;
    }

    /** Runs the encoder over unpadded sequences and keeps its activations; returns the sentence embeddings. */
    public float[][] forward(List<int[]> seqs, Parallel par) {
        int nb = seqs.size();
        off = new int[nb + 1];
        pOff = new int[nb + 1];
        for (int b = 0; b < nb; b++) {
            int len = seqs.get(b).length;
            if (len == 0 || len > cfg.maxPositions()) {
                throw new UsageException("sequence " + b + " has " + len + " tokens; the backward needs 1 to "
                        + cfg.maxPositions());
            }
            off[b + 1] = Math.addExact(off[b], len);
            pOff[b + 1] = Math.addExact(pOff[b], Math.multiplyExact(nh, len * len));
        }
        n = off[nb];
        if ((long) n * Math.max(d, f) > Integer.MAX_VALUE - 8) {
            throw new UsageException("batch of " + n + " tokens is too large for one backward; split it");
        }
        allocate(pOff[nb]);
        int layers = cfg.numLayers();
        float[] x = new float[n * d];
        float[] tmp = new float[n * d];
        model.embed(BertModel.Batch.of(seqs), off, x, par);                   // x⁰ (no gradient taken through it)
        for (int l = 0; l < layers; l++) {
            BertModel.Layer ly = w.layers().get(l);
            linear(wt[l][0], ly.bq(), x, d, q[l], d, par);                       // Q = x·W_Qᵀ + b_Q
            linear(wt[l][1], ly.bk(), x, d, k[l], d, par);                       // K = x·W_Kᵀ + b_K
            linear(wt[l][2], ly.bv(), x, d, v[l], d, par);                       // V = x·W_Vᵀ + b_V
            attentionForward(q[l], k[l], v[l], probs[l], ctx[l], par);         // ctx = softmax(QKᵀ·s)·V
            linear(wt[l][3], ly.bo(), ctx[l], d, tmp, d, par);                   // o = ctx·W_Oᵀ + b_O
            addNormForward(x, tmp, ly.ln1Gamma(), ly.ln1Beta(), xhat1[l], rstd1[l], a[l], par); // a = LN(x + o)
            linear(wt[l][4], ly.bIn(), a[l], d, g[l], f, par);                   // g = a·W_inᵀ + b_in
            float[] gl = g[l];
            float[] hl = h[l];
            boolean ortGelu = act.kind() == Activation.Kind.GELU;
            par.forRange(n, 8, (from, to) -> {                                   // h = GELU(g)
                for (int i = from * f; i < to * f; i++) {
                    hl[i] = ortGelu ? MlasErf.gelu(gl[i]) : act.apply(gl[i]);
                }
            });
            linear(wt[l][5], ly.bOut(), h[l], f, tmp, d, par);                   // y = h·W_outᵀ + b_out
            addNormForward(a[l], tmp, ly.ln2Gamma(), ly.ln2Beta(), xhat2[l], rstd2[l], x, par); // x' = LN(a + y)
        }
        System.arraycopy(x, 0, xOut, 0, n * d);
        emb = new float[nb][];
        uNorm = new double[nb];
        for (int b = 0; b < nb; b++) {                                           // e = u/‖u‖, u = mean_t x_t
            float[] u = BertModel.meanPool(Arrays.copyOfRange(x, off[b] * d, off[b + 1] * d), null, d);
            double ss = 0;
            for (float c : u) {
                ss += (double) c * c;
            }
            uNorm[b] = Math.max(Math.sqrt(ss), 1e-12);
            emb[b] = BertModel.l2Normalize(u);
        }
        return embeddings();
    }

    /**
     * ∂F/∂h of every layer for F = Σ_b r_b·e_b ({@code r[b]} of length D), handed to {@code tap} from the last layer
     * to the first; after the first layer's h nothing more is computed (no gradient reaches the embeddings).
     */
    public void backward(float[][] r, FfnGradientTap tap, Parallel par) {
        if (off == null) {
            throw new IllegalStateException("backward before forward");
        }
        int nb = off.length - 1;
        if (r.length != nb) {
            throw new IllegalArgumentException(r.length + " directions for " + nb + " sequences");
        }
        float[] dx = new float[n * d];
        float[] ds = new float[n * d];
        float[] da = new float[n * d];
        float[] dctx = new float[n * d];
        float[] dq = new float[n * d];
        float[] dk = new float[n * d];
        float[] dv = new float[n * d];
        float[] dhid = new float[n * f];
        // e = u/‖u‖: du = (r − e(e·r))/‖u‖;  u = mean_t x_t: dx_t = du/len
        for (int b = 0; b < nb; b++) {
            float[] e = emb[b];
            double er = 0;
            for (int i = 0; i < d; i++) {
                er += (double) e[i] * r[b][i];
            }
            int len = off[b + 1] - off[b];
            for (int i = 0; i < d; i++) {
                float du = (float) ((r[b][i] - e[i] * er) / uNorm[b] / len);
                for (int t = off[b]; t < off[b + 1]; t++) {
                    dx[t * d + i] = du;
                }
            }
        }
        for (int l = cfg.numLayers() - 1; l >= 0; l--) {
            BertModel.Layer ly = w.layers().get(l);
            layerNormBackward(dx, xhat2[l], rstd2[l], ly.ln2Gamma(), ds, par);  // x' = LN(s2): ds2
            backLinear(wt[l][5], ds, d, dhid, f, false, par);                    // y = h·W_outᵀ: dh = ds2·W_out
            tap.onFfn(l, h[l], dhid, n, f);
            if (l == 0) {
                break;
            }
            float[] gl = g[l];
            par.forRange(n, 8, (from, to) -> {                                   // h = act(g): dg = dh·act'(g)
                for (int i = from * f; i < to * f; i++) {
                    dhid[i] *= Gated.actGrad(act.fn(), act.threshold(), gl[i]);
                }
            });
            System.arraycopy(ds, 0, da, 0, n * d);                               // s2 = a + y: da = ds2 + ...
            backLinear(wt[l][4], dhid, f, da, d, true, par);                     // g = a·W_inᵀ: da += dg·W_in
            layerNormBackward(da, xhat1[l], rstd1[l], ly.ln1Gamma(), ds, par);  // a = LN(s1): ds1
            backLinear(wt[l][3], ds, d, dctx, d, false, par);                    // o = ctx·W_Oᵀ: dctx = ds1·W_O
            attentionBackward(l, dctx, dq, dk, dv, par);
            System.arraycopy(ds, 0, dx, 0, n * d);                               // s1 = x + o: dx = ds1 + ...
            backLinear(wt[l][0], dq, d, dx, d, true, par);                       // dx += dQ·W_Q
            backLinear(wt[l][1], dk, d, dx, d, true, par);                       // dx += dK·W_K
            backLinear(wt[l][2], dv, d, dx, d, true, par);                       // dx += dV·W_V
        }
    }

    // ------------------------------------------------------------------------------------------------ ops

    private void allocate(int probFloats) {
        int layers = cfg.numLayers();
        q = new float[layers][n * d];
        k = new float[layers][n * d];
        v = new float[layers][n * d];
        ctx = new float[layers][n * d];
        probs = new float[layers][probFloats];
        xhat1 = new float[layers][n * d];
        rstd1 = new float[layers][n];
        a = new float[layers][n * d];
        g = new float[layers][n * f];
        h = new float[layers][n * f];
        xhat2 = new float[layers][n * d];
        rstd2 = new float[layers][n];
        xOut = new float[n * d];
    }

    /** y = x·Wᵀ + b over the n tokens (W [out, in]). */
    private void linear(Tensor wgt, float[] bias, float[] x, int in, float[] y, int out, Parallel par) {
        gemm.multiply(n, out, in, Mat.of(x, 0, in), Weight.of(wgt).t(), Mat.of(y, 0, out), false, par);
        par.forRange(n, 16, (from, to) -> {
            for (int t = from; t < to; t++) {
                for (int i = 0; i < out; i++) {
                    y[t * out + i] += bias[i];
                }
            }
        });
    }

    /** The input gradient of y = x·Wᵀ + b: dx (+)= dy·W. */
    private void backLinear(Tensor wgt, float[] dy, int out, float[] dx, int in, boolean accumulate, Parallel par) {
        gemm.multiply(n, in, out, Mat.of(dy, 0, out), Weight.of(wgt), Mat.of(dx, 0, in), accumulate, par);
    }

    /** One LayerNorm row: x̂ = (s − μ)·rstd, rstd = 1/√(var + ε), out = x̂·γ + β (biased variance, as BERT), keeping x̂ and rstd. */
    private void layerNorm(float[] s, int sOff, float[] gamma, float[] beta, float[] xhat, float[] rstd, int row,
                           float[] out, int outOff) {
        double mean = 0;
        for (int i = 0; i < d; i++) {
            mean += s[sOff + i];
        }
        mean /= d;
        double var = 0;
        for (int i = 0; i < d; i++) {
            double c = s[sOff + i] - mean;
            var += c * c;
        }
        float rs = (float) (1.0 / Math.sqrt(var / d + eps));
        int xo = row * d;
        for (int i = 0; i < d; i++) {
            float xn = (float) ((s[sOff + i] - mean) * rs);
            xhat[xo + i] = xn;
            out[outOff + i] = xn * gamma[i] + beta[i];
        }
        rstd[row] = rs;
    }

    /** out_t = LN(x_t + y_t), keeping x̂ and rstd (residual, then post-LayerNorm). */
    private void addNormForward(float[] x, float[] y, float[] gamma, float[] beta, float[] xhat, float[] rstd,
                                float[] out, Parallel par) {
        par.forRange(n, 8, (from, to) -> {
            float[] s = new float[d];
            for (int t = from; t < to; t++) {
                for (int i = 0; i < d; i++) {
                    s[i] = x[t * d + i] + y[t * d + i];
                }
                layerNorm(s, 0, gamma, beta, xhat, rstd, t, out, t * d);
            }
        });
    }

    /** LayerNorm backward (llm.c): dŝ = γ·dy;  ds = rstd·(dŝ − mean(dŝ) − x̂·mean(dŝ·x̂)). */
    private void layerNormBackward(float[] dy, float[] xhat, float[] rstd, float[] gamma, float[] ds, Parallel par) {
        par.forRange(n, 8, (from, to) -> {
            for (int t = from; t < to; t++) {
                int o = t * d;
                double m1 = 0;
                double m2 = 0;
                for (int i = 0; i < d; i++) {
                    double dn = (double) gamma[i] * dy[o + i];
                    m1 += dn;
                    m2 += dn * xhat[o + i];
                }
                m1 /= d;
                m2 /= d;
                for (int i = 0; i < d; i++) {
                    double dn = (double) gamma[i] * dy[o + i];
                    ds[o + i] = (float) ((dn - m1 - xhat[o + i] * m2) * rstd[t]);
                }
            }
        });
    }

    /**
     * Bidirectional attention within each sequence (Vaswani et al. eq. 1), one job per (sequence, head):
     * z_j = q·k_j·s, P = softmax(z), ctx = Σ_j P_j v_j; P kept as {@code [heads, len, len]} per sequence.
     */
    private void attentionForward(float[] q, float[] k, float[] v, float[] p, float[] ctx, Parallel par) {
        int nb = off.length - 1;
        float scale = w.attnScale();
        par.forRange(nb * nh, 1, (from, to) -> {
            for (int job = from; job < to; job++) {
                int b = job / nh;
                int head = job % nh;
                int len = off[b + 1] - off[b];
                int base = off[b];
                for (int t = 0; t < len; t++) {
                    int po = pOff[b] + (head * len + t) * len;
                    int qo = (base + t) * d + head * dh;
                    float max = Float.NEGATIVE_INFINITY;
                    for (int s = 0; s < len; s++) {
                        int ko = (base + s) * d + head * dh;
                        float z = 0f;
                        for (int i = 0; i < dh; i++) {
                            z += q[qo + i] * k[ko + i];
                        }
                        p[po + s] = z * scale;
                        max = Math.max(max, p[po + s]);
                    }
                    double sum = 0;
                    for (int s = 0; s < len; s++) {
                        float e = (float) Math.exp(p[po + s] - max);
                        p[po + s] = e;
                        sum += e;
                    }
                    float inv = (float) (1.0 / sum);
                    Arrays.fill(ctx, qo, qo + dh, 0f);
                    for (int s = 0; s < len; s++) {
                        p[po + s] *= inv;
                        int vo = (base + s) * d + head * dh;
                        for (int i = 0; i < dh; i++) {
                            ctx[qo + i] += p[po + s] * v[vo + i];
                        }
                    }
                }
            }
        });
    }

    /**
     * Attention backward, one job per (sequence, head), so each job alone writes its rows of dk and dv:
     * dP_j = dctx·v_j, dz_j = P_j (dP_j − Σ_k P_k dP_k), dq = s·Σ_j dz_j k_j, dk_j += s·dz_j q, dv_j += P_j dctx.
     */
    private void attentionBackward(int l, float[] dctx, float[] dq, float[] dk, float[] dv, Parallel par) {
        int nb = off.length - 1;
        float scale = w.attnScale();
        float[] ql = q[l];
        float[] kl = k[l];
        float[] vl = v[l];
        float[] p = probs[l];
        par.forRange(nb * nh, 1, (from, to) -> {
            for (int job = from; job < to; job++) {
                int b = job / nh;
                int head = job % nh;
                int len = off[b + 1] - off[b];
                int base = off[b];
                float[] dz = new float[len];
                for (int t = 0; t < len; t++) {
                    int o = (base + t) * d + head * dh;
                    Arrays.fill(dq, o, o + dh, 0f);
                    Arrays.fill(dk, o, o + dh, 0f);
                    Arrays.fill(dv, o, o + dh, 0f);
                }
                for (int t = 0; t < len; t++) {
                    int po = pOff[b] + (head * len + t) * len;
                    int qo = (base + t) * d + head * dh;
                    double pdp = 0;
                    for (int s = 0; s < len; s++) {
                        int vo = (base + s) * d + head * dh;
                        float dp = 0f;
                        for (int i = 0; i < dh; i++) {
                            dp += dctx[qo + i] * vl[vo + i];
                        }
                        dz[s] = dp;
                        pdp += (double) p[po + s] * dp;
                    }
                    for (int s = 0; s < len; s++) {
                        int so = (base + s) * d + head * dh;
                        float ps = p[po + s];
                        float dzs = (float) (ps * (dz[s] - pdp)) * scale;
                        for (int i = 0; i < dh; i++) {
                            dq[qo + i] += dzs * kl[so + i];
                            dk[so + i] += dzs * ql[qo + i];
                            dv[so + i] += ps * dctx[qo + i];
                        }
                    }
                }
            }
        });
    }
}
