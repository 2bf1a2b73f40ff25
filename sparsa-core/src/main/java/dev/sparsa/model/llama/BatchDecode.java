package dev.sparsa.model.llama;

import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.spec.RopeStyle;
import dev.sparsa.tensor.Attention;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.RmsNorm;
import dev.sparsa.tensor.Rotary;

/**
 * One transformer block for a decode step of B sequences at once ({@link LlamaModel#decodeBatch}): row b is one new
 * token of sequence b at its own position {@code pos[b]}, with its own {@link KvCache}. The ops are
 * {@link LlamaBlock#layer}'s in the same order; what differs is only where each row's keys and values go and what
 * its attention reads:
 * <pre>
 *   xn = RMSNorm(x) ⊙ g_attn;  q, k, v = xn W_qᵀ, xn W_kᵀ, xn W_vᵀ      batched over the B rows (matmul)
 *   q_b, k_b = RoPE(q_b, pos_b), RoPE(k_b, pos_b)                      per row, its own position
 *   K_b[pos_b], V_b[pos_b] = k_b, v_b;  a_b = Attn(q_b, K_b, V_b)     per row, over its own cache
 *   x += a W_oᵀ;  x += FFN(RMSNorm(x) ⊙ g_ffn)                         batched (the FFN kernel's batch path)
 * </pre>
 * Continuous batching: each weight row is read once per step for all B sequences instead of once per sequence.
 */
final class BatchDecode {
    private BatchDecode() {
    }

    static void layer(LlamaWeights w, int l, FfnKernel ffn, AttnProjections attn, LlamaState st, KvCache[] caches,
                      int[] pos, float[] invFreq, ActivationTap tap, Parallel par) {
        ModelConfig c = w.config();
        LlamaWeights.Layer ly = w.layers().get(l);
        LlamaState.Slot s = st.slot(l);
        int d = c.hiddenSize();
        int n = caches.length;
        int heads = c.numHeads();
        int kvHeads = c.numKvHeads();
        int hd = c.headDim();
        int qDim = heads * hd;
        int kvDim = kvHeads * hd;
        float[] x = st.x;
        RmsNorm.forwardRows(s.xn1, x, ly.attnNorm(), n, d, c.normEps(), s.rstd1, par); // xn = RMSNorm(x) ⊙ g_attn
        if (c.reluAfterNorm()) {
            LlamaBlock.relu(s.xn1, n * d);                                  // relufication stage 2: xn = ReLU(xn)
        }
        if (attn != null) {
            attn.qkv(s.xn1, n, s.q, s.k, s.v, s.ffn.gemm, par);             // q, k, v by the layer's own kernel
        } else {
            LlamaBlock.linear(s.ffn.gemm, ly.wq(), s.xn1, n, s.q, ly.bq(), par); // q = W_q xn (+ b_q)
            LlamaBlock.linear(s.ffn.gemm, ly.wk(), s.xn1, n, s.k, ly.bk(), par); // k = W_k xn (+ b_k)
            LlamaBlock.linear(s.ffn.gemm, ly.wv(), s.xn1, n, s.v, ly.bv(), par); // v = W_v xn (+ b_v)
        }
        int maxPos = 0;
        for (int p : pos) {
            maxPos = Math.max(maxPos, p);
        }
        Rotary.Table rope = st.rope(invFreq, maxPos + 1);
        boolean inter = w.ropeStyle() == RopeStyle.INTERLEAVED;
        Attention.Shape sh = new Attention.Shape(heads, kvHeads, hd);
        for (int b = 0; b < n; b++) {
            Rotary.forward(rope, inter, s.q, b * qDim, heads, hd, pos[b]);  // RoPE at the row's own position
            Rotary.forward(rope, inter, s.k, b * kvDim, kvHeads, hd, pos[b]);
            KvCache cache = caches[b];
            System.arraycopy(s.k, b * kvDim, cache.k[l], pos[b] * kvDim, kvDim);
            System.arraycopy(s.v, b * kvDim, cache.v[l], pos[b] * kvDim, kvDim);
            Attention.forward(sh, s.q, b * qDim, cache.k[l], cache.v[l], 0, s.att, b * qDim, 1, pos[b], null, 0,
                    par);                                                   // a_b = Attn(q_b, K_b, V_b)
        }
        if (attn != null) {
            attn.o(s.att, n, s.out, s.ffn.gemm, par);                       // o by the layer's own kernel
        } else {
            LlamaBlock.linear(s.ffn.gemm, ly.wo(), s.att, n, s.out, ly.bo(), par); // o = W_o att
        }
        LlamaBlock.add(x, s.out, n * d);                                    // x += o
        RmsNorm.forwardRows(s.xn2, x, ly.ffnNorm(), n, d, c.normEps(), s.rstd2, par); // xn = RMSNorm(x) ⊙ g_ffn
        if (c.reluAfterNorm()) {
            LlamaBlock.relu(s.xn2, n * d);
        }
        ffn.forward(s.xn2, n, 0, s.out, s.ffn, rowPositions(tap, pos), par); // y = W_down(act(W_gate xn) ⊙ W_up xn)
        LlamaBlock.add(x, s.out, n * d);                                    // x += y
    }

    /** The kernel reports row b at position {@code pos0 + b} = b; the tap gets the row's own position instead. */
    private static ActivationTap rowPositions(ActivationTap tap, int[] pos) {
        if (tap == ActivationTap.NONE) {
            return tap;
        }
        return new ActivationTap() {
            @Override
            public void onFfn(int layer, int row, float[] x, int xOff, float[] gate, float[] act, float[] h, int off) {
                tap.onFfn(layer, pos[row], x, xOff, gate, act, h, off);
            }

            @Override
            public boolean wants(int layer) {
                return tap.wants(layer);
            }
        };
    }
}
