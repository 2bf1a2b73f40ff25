package dev.sparsa.infer;

import dev.sparsa.model.llama.AttnProjections;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.tensor.Gemm;
import dev.sparsa.tensor.Parallel;

import java.lang.foreign.Arena;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * TEAL's attention projections (Liu et al. 2024): each projection sees its input sparsified by its own magnitude
 * threshold, {@code q = W_q·s_{t_q}(xn)}, {@code k = W_k·s_{t_k}(xn)}, {@code v = W_v·s_{t_v}(xn)},
 * {@code o = W_o·s_{t_o}(att)} (biases added after), and skips the weight columns of the zeroed inputs
 * ({@link InputSparseLinear}). Memory: one transposed copy of W_q, W_k, W_v and W_o (as large as the originals for
 * float weights, Q8_0 for quantized ones). Scratch buffers are pooled, so a decode step allocates nothing once warm.
 */
public final class TealAttention implements AttnProjections {
    private final int layer;
    private final InputSparseLinear q;
    private final InputSparseLinear k;
    private final InputSparseLinear v;
    private final InputSparseLinear o;
    private final float tq;
    private final float tk;
    private final float tv;
    private final float to;
    private final SparseStats stats;
    private final ConcurrentLinkedQueue<InputSparseLinear.Scratch> pool = new ConcurrentLinkedQueue<>();

    /**
     * Layer {@code ly}'s projections with input thresholds {@code t[Site.Q .. Site.O]} (indexed by
     * {@link SparseStats.Site#ordinal()}); {@code stats} (may be null) counts the kept inputs.
     */
    public TealAttention(LlamaWeights.Layer ly, float[] t, SparseStats stats) {
        this(ly.index(), projections(ly), t, stats);
    }

    private static InputSparseLinear[] projections(LlamaWeights.Layer ly) {
        Arena arena = Arena.ofAuto();
        return new InputSparseLinear[] {new InputSparseLinear(ly.wq(), ly.bq(), arena),
                new InputSparseLinear(ly.wk(), ly.bk(), arena), new InputSparseLinear(ly.wv(), ly.bv(), arena),
                new InputSparseLinear(ly.wo(), ly.bo(), arena)};
    }

    private TealAttention(int layer, InputSparseLinear[] p, float[] t, SparseStats stats) {
        this.layer = layer;
        this.q = p[0];
        this.k = p[1];
        this.v = p[2];
        this.o = p[3];
        this.tq = t[SparseStats.Site.Q.ordinal()];
        this.tk = t[SparseStats.Site.K.ordinal()];
        this.tv = t[SparseStats.Site.V.ordinal()];
        this.to = t[SparseStats.Site.O.ordinal()];
        this.stats = stats;
    }

    /** The same layer with other thresholds, sharing the transposed copies (TEAL's greedy allocation tries many). */
    public TealAttention withThresholds(float[] t) {
        return new TealAttention(layer, new InputSparseLinear[] {q, k, v, o}, t, stats);
    }

    private InputSparseLinear.Scratch scratch() {
        InputSparseLinear.Scratch s = pool.poll();
        if (s == null) {
            int in = Math.max(q.in(), o.in());
            int out = Math.max(Math.max(q.out(), k.out()), Math.max(v.out(), o.out()));
            s = new InputSparseLinear.Scratch(in, out);
        }
        return s;
    }

    @Override
    public void qkv(float[] xn, int rows, float[] qo, float[] ko, float[] vo, Gemm gemm, Parallel par) {
        InputSparseLinear.Scratch s = scratch();
        try {
            long kq = q.forward(xn, rows, tq, qo, s, gemm, par);          // q = W_q s_{t_q}(xn)
            long kk = k.forward(xn, rows, tk, ko, s, gemm, par);          // k = W_k s_{t_k}(xn)
            long kv = v.forward(xn, rows, tv, vo, s, gemm, par);          // v = W_v s_{t_v}(xn)
            if (stats != null) {
                long n = (long) rows * q.in();
                stats.input(layer, SparseStats.Site.Q, kq, n);
                stats.input(layer, SparseStats.Site.K, kk, n);
                stats.input(layer, SparseStats.Site.V, kv, n);
            }
        } finally {
            pool.offer(s);
        }
    }

    @Override
    public void o(float[] att, int rows, float[] out, Gemm gemm, Parallel par) {
        InputSparseLinear.Scratch s = scratch();
        try {
            long ko = o.forward(att, rows, to, out, s, gemm, par);        // o = W_o s_{t_o}(att)
            if (stats != null) {
                stats.input(layer, SparseStats.Site.O, ko, (long) rows * o.in());
            }
        } finally {
            pool.offer(s);
        }
    }
}
