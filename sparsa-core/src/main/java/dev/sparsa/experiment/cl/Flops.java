package dev.sparsa.experiment.cl;

import dev.sparsa.spec.ModelConfig;

import java.util.List;
import java.util.function.ToLongFunction;

/**
 * Training multiply-adds, counted as SparCL counts them (§4, "training FLOPs"): every matrix product of a step costs
 * its non-zero weights × tokens, for each of the three products of a linear layer y = x Wᵀ:
 * <pre>
 *   forward  y  = x Wᵀ      nnz(W ⊙ M_w) · n
 *   backward dx = dy W      nnz(W ⊙ M_w) · n
 *   backward dW = dyᵀ x     nnz(M_g)     · n        (the gradient entries computed; all of W when dense)
 * </pre>
 * with n = seqs · t tokens, over q, k, v, o, gate, up and down of every layer and the LM head (never masked). The
 * causal attention products (q kᵀ and p v, per head and sequence Σ_{i&lt;t} (i + 1) · head_dim each) are counted
 * dense: 2 forward, 4 backward (dp, dv, dq, dk). Norms, RoPE, the activation and the loss are elementwise and left
 * out (they are the same for every method). A forward-only pass (evaluation, DDR's scoring) is the forward column.
 */
public final class Flops {
    private Flops() {
    }

    /** The linear weights of a config by HF name (the matrices a weight mask can apply to), then the head. */
    public static List<String> linears(ModelConfig c) {
        return dev.sparsa.train.method.SparCl.linears(c);
    }

    /** Entries of linear {@code name} (out · in). */
    public static long size(ModelConfig c, String name) {
        int d = c.hiddenSize();
        int f = c.intermediateSize();
        int q = c.numHeads() * c.headDim();
        int kv = c.numKvHeads() * c.headDim();
        if (name.endsWith("q_proj.weight") || name.endsWith("o_proj.weight")) {
            return (long) q * d;
        }
        if (name.endsWith("k_proj.weight") || name.endsWith("v_proj.weight")) {
            return (long) kv * d;
        }
        if (name.endsWith("gate_proj.weight") || name.endsWith("up_proj.weight") || name.endsWith("down_proj.weight")) {
            return (long) f * d;
        }
        throw new IllegalArgumentException("not a linear weight: " + name);
    }

    /** Dense causal attention multiply-adds of one layer, forward (2 products) for {@code seqs} sequences of t. */
    static long attentionForward(ModelConfig c, int seqs, int t) {
        return 2L * seqs * c.numHeads() * c.headDim() * ((long) t * (t + 1) / 2);
    }

    /**
     * One training step of {@code seqs} rows of t tokens.
     *
     * @param weightNnz non-zero weights of a linear (negative: all)
     * @param gradNnz   gradient entries computed of a linear (negative: all)
     */
    public static long trainStep(ModelConfig c, int seqs, int t, ToLongFunction<String> weightNnz,
                                 ToLongFunction<String> gradNnz) {
        long n = (long) seqs * t;
        long total = 0;
        for (String w : linears(c)) {
            long nnz = nnz(c, w, weightNnz);
            long g = nnz(c, w, gradNnz);
            total += 2 * nnz * n + g * n;                                   // y = x Wᵀ, dx = dy W, dW = dyᵀ x
        }
        total += 3L * c.vocabSize() * c.hiddenSize() * n;                   // LM head: logits, dx, dW
        total += 3 * c.numLayers() * attentionForward(c, seqs, t);          // 2 forward + 4 backward products
        return total;
    }

    /** A forward-only pass over {@code seqs} rows of t tokens. */
    public static long forward(ModelConfig c, int seqs, int t, ToLongFunction<String> weightNnz) {
        long n = (long) seqs * t;
        long total = 0;
        for (String w : linears(c)) {
            total += nnz(c, w, weightNnz) * n;
        }
        total += (long) c.vocabSize() * c.hiddenSize() * n;
        total += c.numLayers() * attentionForward(c, seqs, t);
        return total;
    }

    private static long nnz(ModelConfig c, String w, ToLongFunction<String> f) {
        long v = f.applyAsLong(w);
        return v < 0 ? size(c, w) : v;
    }
}
