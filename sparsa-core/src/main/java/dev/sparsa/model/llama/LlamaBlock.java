package dev.sparsa.model.llama;

import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.spec.RopeStyle;
import dev.sparsa.tensor.Attention;
import dev.sparsa.tensor.Gemm;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.RmsNorm;
import dev.sparsa.tensor.Rotary;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The ops of a Llama-family forward, in order, over an explicit {@link LlamaState} — the one forward that inference
 * ({@link LlamaModel}) and training ({@code dev.sparsa.train}) share. Pre-norm blocks:
 * <pre>
 *   x  = E[ids]                                              embed
 *   per layer ℓ:
 *     xn = RMSNorm(x) ⊙ g_attn                               (RMSNorm eq. 4)
 *     q, k, v = xn W_qᵀ (+b_q), xn W_kᵀ (+b_k), xn W_vᵀ (+b_v)
 *     q, k = RoPE(q, pos), RoPE(k, pos)                      (RoFormer eq. 34)
 *     a  = Σ_j softmax_j(q·k_j/√d) v_j, causal, GQA          (Vaswani eq. 1)
 *     x += a W_oᵀ (+b_o)
 *     xn = RMSNorm(x) ⊙ g_ffn
 *     x += W_down (act(W_gate xn) ⊙ W_up xn)                 (Shazeer 2020, GLU variants)
 *   (a relufied model, config reluAfterNorm, applies ReLU to both xn: Mirzadeh et al. 2023, stage 2)
 *   logits = (RMSNorm(x) ⊙ g) W_lmᵀ                          head
 * </pre>
 * Rows are {@code seqs} sequences of {@code t} tokens each, row-major; the first token of every sequence is at
 * position {@code pos0}. With a {@link KvCache} (inference, one sequence) keys and values are appended to it and
 * attention reads it; without one (training, pos0 = 0) each sequence attends over its own rows and the
 * probabilities stay in the slot for the backward.
 */
public final class LlamaBlock {
    private LlamaBlock() {
    }

    /** Geometry of one forward: {@code seqs} sequences of {@code t} tokens, the first at position {@code pos0}. */
    public record Rows(int seqs, int t, int pos0) {
        public Rows {
            if (seqs < 1 || t < 1 || pos0 < 0) {
                throw new IllegalArgumentException("rows: " + seqs + " sequences of " + t + " tokens at " + pos0);
            }
        }

        public int rows() {
            return seqs * t;
        }
    }

    /** {@code x[r·D ..] = E[ids[idsOff + r]]} for r &lt; rows (ids already checked against the vocabulary). */
    public static void embed(LlamaWeights w, int[] ids, int idsOff, int rows, float[] x) {
        int d = w.config().hiddenSize();
        for (int r = 0; r < rows; r++) {
            Kernels.getRow(w.embed(), ids[idsOff + r], x, r * d);
        }
    }

    /** One transformer block over {@code st.x} (updated in place), writing its slot; dense attention projections. */
    public static void layer(LlamaWeights w, int l, FfnKernel ffn, LlamaState st, Rows r, KvCache cache,
                             float[] invFreq, ActivationTap tap, Parallel par) {
        layer(w, l, ffn, null, st, r, cache, invFreq, tap, par);
    }

    /**
     * One transformer block over {@code st.x} (updated in place), writing its slot; {@code attn} computes the
     * q/k/v and o projections (null: the dense ones below).
     */
    public static void layer(LlamaWeights w, int l, FfnKernel ffn, AttnProjections attn, LlamaState st, Rows r,
                             KvCache cache, float[] invFreq, ActivationTap tap, Parallel par) {
        ModelConfig c = w.config();
        LlamaWeights.Layer ly = w.layers().get(l);
        LlamaState.Slot s = st.slot(l);
        int d = c.hiddenSize();
        int n = r.rows();
        int heads = c.numHeads();
        int kvHeads = c.numKvHeads();
        int hd = c.headDim();
        int qDim = heads * hd;
        int kvDim = kvHeads * hd;
        float[] x = st.x;
        if (s.xIn != null) {
            System.arraycopy(x, 0, s.xIn, 0, n * d);                        // keep the layer input (backward)
        }
        RmsNorm.forwardRows(s.xn1, x, ly.attnNorm(), n, d, c.normEps(), s.rstd1, par); // xn = RMSNorm(x) ⊙ g_attn
        if (c.reluAfterNorm()) {
            relu(s.xn1, n * d);                                             // relufication stage 2: xn = ReLU(xn)
        }
        if (attn != null) {
            attn.qkv(s.xn1, n, s.q, s.k, s.v, s.ffn.gemm, par);             // q, k, v by the layer's own kernel
        } else if (n == 1) {
            qkv(ly, s.xn1, s.q, s.k, s.v, par);                             // decode: q, k, v in one pass
        } else {
            linear(s.ffn.gemm, ly.wq(), s.xn1, n, s.q, ly.bq(), par);                   // q = W_q xn (+ b_q)
            linear(s.ffn.gemm, ly.wk(), s.xn1, n, s.k, ly.bk(), par);                   // k = W_k xn (+ b_k)
            linear(s.ffn.gemm, ly.wv(), s.xn1, n, s.v, ly.bv(), par);                   // v = W_v xn (+ b_v)
        }
        Rotary.Table rope = st.rope(invFreq, r.pos0() + r.t());
        boolean inter = w.ropeStyle() == RopeStyle.INTERLEAVED;
        for (int i = 0; i < n; i++) {                                       // RoPE on q and k
            int pos = r.pos0() + i % r.t();
            Rotary.forward(rope, inter, s.q, i * qDim, heads, hd, pos);
            Rotary.forward(rope, inter, s.k, i * kvDim, kvHeads, hd, pos);
        }
        Attention.Shape sh = new Attention.Shape(heads, kvHeads, hd);
        if (cache != null) {
            System.arraycopy(s.k, 0, cache.k[l], r.pos0() * kvDim, n * kvDim);
            System.arraycopy(s.v, 0, cache.v[l], r.pos0() * kvDim, n * kvDim);
            Attention.forward(sh, s.q, 0, cache.k[l], cache.v[l], 0, s.att, 0, n, r.pos0(), null, 0, par);
        } else {
            int t = r.t();
            for (int b = 0; b < r.seqs(); b++) {                            // each sequence attends to itself
                Attention.forward(sh, s.q, b * t * qDim, s.k, s.v, b * t * kvDim, s.att, b * t * qDim, t, 0,
                        s.probs, s.probs == null ? 0 : b * heads * t * t, par);
            }
        }
        if (attn != null) {
            attn.o(s.att, n, s.out, s.ffn.gemm, par);                       // o by the layer's own kernel
        } else {
            linear(s.ffn.gemm, ly.wo(), s.att, n, s.out, ly.bo(), par);                 // o = W_o att
        }
        add(x, s.out, n * d);                                               // x += o
        if (s.xMid != null) {
            System.arraycopy(x, 0, s.xMid, 0, n * d);                       // keep the mid residual (backward)
        }
        RmsNorm.forwardRows(s.xn2, x, ly.ffnNorm(), n, d, c.normEps(), s.rstd2, par); // xn = RMSNorm(x) ⊙ g_ffn
        if (c.reluAfterNorm()) {
            relu(s.xn2, n * d);
        }
        ffn.forward(s.xn2, n, r.pos0(), s.out, s.ffn, tap, par);            // y = W_down(act(W_gate xn) ⊙ W_up xn)
        add(x, s.out, n * d);                                               // x += y
    }

    /**
     * Final norm and LM head for rows [first, first+count) of {@code st.x}: {@code st.xf} gets the normed rows
     * (from row 0), {@code logits[i·V ..]} their logits.
     */
    public static void head(LlamaWeights w, LlamaState st, int first, int count, float[] logits, Parallel par) {
        ModelConfig c = w.config();
        int d = c.hiddenSize();
        for (int i = 0; i < count; i++) {                                   // final RMSNorm
            st.rstdF[i] = RmsNorm.forward(st.xf, i * d, st.x, (first + i) * d, w.finalNorm(), d, c.normEps());
        }
        linear(st.slot(0).ffn.gemm, w.lmHead(), st.xf, count, logits, null, par);                // logits = W_lm xf
    }

    /**
     * q = W_q x (+ b_q), k = W_k x (+ b_k), v = W_v x (+ b_v) for one token in a single parallel pass over the
     * rows of all three (one hand-off instead of three); each row's value is the one {@link Kernels#matvec} gives.
     */
    private static void qkv(LlamaWeights.Layer ly, float[] x, float[] q, float[] k, float[] v, Parallel par) {
        Tensor wq = ly.wq();
        Tensor wk = ly.wk();
        Tensor wv = ly.wv();
        int nq = wq.rows();
        int nk = wk.rows();
        int nv = wv.rows();
        par.forRange(nq + nk + nv, 16, (from, to) -> {
            int a = Math.min(to, nq);
            int b = Math.min(to, nq + nk);
            if (from < a) {
                Kernels.matvecRange(wq, from, a, x, q);
            }
            for (int row = Math.max(from, nq); row < b; row++) {
                k[row - nq] = Kernels.dotRow(wk, row - nq, x, 0);
            }
            for (int row = Math.max(from, nq + nk); row < to; row++) {
                v[row - nq - nk] = Kernels.dotRow(wv, row - nq - nk, x, 0);
            }
        });
        addBias(q, 1, ly.bq());
        addBias(k, 1, ly.bk());
        addBias(v, 1, ly.bv());
    }

    /** y = x Wᵀ (+ b) for {@code rows} rows: matvec for one, matmul (with the workspace's GEMM engine) for a batch. */
    public static void linear(Gemm gemm, Tensor w, float[] x, int rows, float[] y, Tensor bias, Parallel par) {
        if (rows == 1) {
            Kernels.matvec(w, x, y, par);
        } else {
            Kernels.matmul(gemm, w, x, rows, y, par);
        }
        addBias(y, rows, bias);
    }

    private static void addBias(float[] y, int rows, Tensor b) {
        if (b == null) {
            return;
        }
        MemorySegment s = b.data();
        int n = (int) b.numel();
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < n; j++) {
                y[i * n + j] += s.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, j);
            }
        }
    }

    static void relu(float[] x, int n) {
        for (int i = 0; i < n; i++) {
            x[i] = x[i] > 0f ? x[i] : 0f;
        }
    }

    static void add(float[] x, float[] y, int n) {
        for (int i = 0; i < n; i++) {
            x[i] += y[i];
        }
    }
}
