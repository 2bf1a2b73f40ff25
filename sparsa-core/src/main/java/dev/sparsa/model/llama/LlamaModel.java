package dev.sparsa.model.llama;

import dev.sparsa.SparsaException;
import dev.sparsa.io.WeightSource;
import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.spec.RopeStyle;
import dev.sparsa.tensor.Parallel;

import java.util.Arrays;

/**
 * Llama-family decoder (Llama 2/3, Mistral, Qwen2) over Hugging Face tensor names, llama2.c style: pre-norm blocks
 * {@code x += Attn(RMSNorm(x)); x += FFN(RMSNorm(x))}, RoPE, grouped-query attention, a per-sequence
 * {@link KvCache}. A forward over several tokens is a batched prefill (matmul over the tokens, causal attention);
 * over one token it is a decode step (matvec). The FFN of each layer is a pluggable {@link FfnKernel}. The weights
 * are a {@link LlamaWeights}, the ops {@link LlamaBlock}'s, shared with the trainer.
 *
 * <p>Immutable after loading and safe to share between threads; each sequence has its own cache.
 */
public final class LlamaModel {
    private final LlamaWeights w;
    private final FfnKernel[] ffn;
    /** Attention projections per layer, or null for a model whose attention is dense (the usual case). */
    private final AttnProjections[] attn;
    private final float[] invFreq;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int vocab;

    private LlamaModel(LlamaWeights weights, FfnKernel[] ffn, AttnProjections[] attn) {
        this.w = weights;
        this.ffn = ffn;
        this.attn = attn;
        ModelConfig cfg = weights.config();
        this.invFreq = Rope.invFreq(cfg);
        this.heads = cfg.numHeads();
        this.kvHeads = cfg.numKvHeads();
        this.headDim = cfg.headDim();
        this.vocab = cfg.vocabSize();
    }

    /** Loads with the dense FFN. */
    public static LlamaModel load(ModelConfig cfg, WeightSource weights) {
        return load(cfg, weights, DenseFfn::new);
    }

    /**
     * Binds the tensors of {@code weights} (HF names) to the architecture of {@code cfg}. A missing tensor or a wrong
     * shape is a {@link SparsaException.FormatException} naming the file and the (first missing) tensor.
     */
    public static LlamaModel load(ModelConfig cfg, WeightSource weights, FfnKernel.Factory ffn) {
        return load(cfg, weights, ffn, null);
    }

    /** A model over weights already bound (e.g. the trainer's own F32 copies), one FFN kernel per layer. */
    public static LlamaModel of(LlamaWeights weights, FfnKernel.Factory ffn) {
        return of(weights, ffn, null);
    }

    /**
     * As {@link #of(LlamaWeights, FfnKernel.Factory)}, with attention projections from {@code attn} (null, or a null
     * per layer: the dense projections).
     */
    public static LlamaModel of(LlamaWeights weights, FfnKernel.Factory ffn, AttnProjections.Factory attn) {
        ModelConfig cfg = weights.config();
        Activation act = Activation.of(cfg.hiddenAct(), cfg.fatreluThreshold());
        FfnKernel[] kernels = new FfnKernel[cfg.numLayers()];
        for (int l = 0; l < kernels.length; l++) {
            kernels[l] = ffn.create(weights.layers().get(l).ffn(), act);
        }
        AttnProjections[] projections = null;
        if (attn != null) {
            projections = new AttnProjections[cfg.numLayers()];
            for (int l = 0; l < projections.length; l++) {
                projections[l] = attn.create(weights.layers().get(l));
            }
        }
        return new LlamaModel(weights, kernels, projections);
    }

    /**
     * Loads with {@code ffn} kernels and {@code attn} attention projections (see
     * {@link #of(LlamaWeights, FfnKernel.Factory, AttnProjections.Factory)}).
     */
    public static LlamaModel load(ModelConfig cfg, WeightSource weights, FfnKernel.Factory ffn,
                                  AttnProjections.Factory attn) {
        LlamaWeights.checkConfig(cfg);
        Activation.of(cfg.hiddenAct(), cfg.fatreluThreshold());        // unsupported activation: fail before loading
        return of(LlamaWeights.load(cfg, weights), ffn, attn);
    }

    // ---------------------------------------------------------------- accessors

    public ModelConfig config() {
        return w.config();
    }

    /** The weights this model computes with. */
    public LlamaWeights weights() {
        return w;
    }

    /** The file or directory the weights came from. */
    public String location() {
        return w.location();
    }

    public int numLayers() {
        return ffn.length;
    }

    /** The FFN kernel of layer ℓ. */
    public FfnKernel ffn(int layer) {
        return ffn[layer];
    }

    /** The attention projections of layer ℓ, or null when they are the dense ones. */
    public AttnProjections attention(int layer) {
        return attn == null ? null : attn[layer];
    }

    /** ‖d_i‖₂ of layer ℓ's down projection (CETT). */
    public float[] downColumnNorms(int layer) {
        return ffn[layer].downColumnNorms();
    }

    /** The RoPE pairing of q/k in use: that of the weights loaded ({@link WeightSource#ropeStyle()}). */
    public RopeStyle ropeStyle() {
        return w.ropeStyle();
    }

    /** RoPE inverse frequencies in use (after llama3 scaling). */
    public float[] invFreq() {
        return invFreq.clone();
    }

    /** A KV cache for one sequence of up to {@code maxContext} tokens (at most the config's max positions). */
    public KvCache newCache(int maxContext) {
        ModelConfig cfg = w.config();
        if (maxContext > cfg.maxPositions() && cfg.maxPositions() > 0) {
            throw new SparsaException.UsageException("max context " + maxContext + " exceeds the model's "
                    + "max_position_embeddings " + cfg.maxPositions());
        }
        return new KvCache(ffn.length, maxContext, kvHeads * headDim);
    }

    // ---------------------------------------------------------------- forward

    /** Decode step: one token at position {@code cache.length()}; returns its logits (length V). */
    public float[] decode(KvCache cache, int id, ActivationTap tap, Parallel par) {
        return forward(cache, new int[] {id}, false, tap, par);
    }

    /**
     * Runs {@code ids} at positions {@code cache.length() ..}, appending their keys and values to the cache.
     * Returns the logits of every token (T × V, row-major) when {@code allLogits}, else of the last token only.
     * The activations live in a workspace the cache keeps ({@link LlamaState}, allocated on the first call and
     * grown only for a larger batch).
     */
    public float[] forward(KvCache cache, int[] ids, boolean allLogits, ActivationTap tap, Parallel par) {
        int t = ids.length;
        if (t == 0) {
            throw new SparsaException.UsageException("forward needs at least one token");
        }
        checkIds(ids, 0, t);
        if (cache.kvDim() != kvHeads * headDim || cache.k.length != ffn.length) {
            throw new SparsaException.UsageException("KV cache does not belong to this model");
        }
        int pos0 = cache.append(t);
        LlamaState st = cache.state;
        if (st == null || st.capacity() < t || st.slot(0).ffn.width() != w.config().intermediateSize()) {
            st = LlamaState.forInference(w.config(), ffn[0], Math.max(t, st == null ? 1 : st.capacity()));
            cache.state = st;
        }
        LlamaBlock.Rows rows = new LlamaBlock.Rows(1, t, pos0);
        try {
            LlamaBlock.embed(w, ids, 0, t, st.x);                           // x = E[id]
            for (int l = 0; l < ffn.length; l++) {
                LlamaBlock.layer(w, l, ffn[l], attention(l), st, rows, cache, invFreq, tap, par);
            }
        } catch (RuntimeException e) {
            cache.truncate(pos0);                                           // leave the cache as it was
            throw e;
        }
        int first = allLogits ? 0 : t - 1;
        int n = t - first;
        float[] logits = new float[n * vocab];
        LlamaBlock.head(w, st, first, n, logits, par);                     // logits = W_lm RMSNorm(x)
        return logits;
    }

    /**
     * Prompt chunk of {@link #prefill}: bounds the workspace (chunk × FFN width floats per buffer) for any prompt
     * length, and how long one prompt holds up the other sequences' decode steps in {@code sparsa serve}.
     */
    public static final int PREFILL_CHUNK = 512;

    /**
     * {@link #forward} of a prompt in chunks of at most {@code chunk} tokens (at positions {@code cache.length() ..});
     * returns the last token's logits. Every caller that must agree token for token ({@code generate}, {@code serve})
     * prefills through here with the same chunk. On a failure the cache is left as it was.
     */
    public float[] prefill(KvCache cache, int[] ids, int chunk, ActivationTap tap, Parallel par) {
        if (chunk < 1) {
            throw new SparsaException.UsageException("prefill chunk must be >= 1, got " + chunk);
        }
        if (ids.length <= chunk) {
            return forward(cache, ids, false, tap, par);
        }
        int start = cache.length();
        try {
            float[] logits = null;
            for (int from = 0; from < ids.length; from += chunk) {
                logits = forward(cache, Arrays.copyOfRange(ids, from, Math.min(ids.length, from + chunk)), false, tap,
                        par);
            }
            return logits;
        } catch (RuntimeException e) {
            cache.truncate(start);
            throw e;
        }
    }

    /**
     * A workspace for {@link #decodeBatch} of up to {@code rows} sequences (one per batch loop; allocated once, like a
     * cache's own workspace).
     */
    public LlamaState newBatchState(int rows) {
        return LlamaState.forInference(w.config(), ffn[0], rows);
    }

    /**
     * One decode step of B = {@code ids.length} sequences at once (continuous batching): token {@code ids[b]} goes to
     * position {@code caches[b].length()} of sequence b, whose cache gets its keys and values; each row attends over
     * its own cache only. The projections, norms and FFN run batched over the B rows (matmul and the FFN kernel's
     * batch path) in {@code ws} ({@link #newBatchState} with at least B rows). Returns the B × V logits, row-major.
     * Row b equals {@code decode(caches[b], ids[b], ..)} within float rounding (matmul and matvec sum in different
     * orders; for B = 1 it is the same computation, bit for bit). The tap sees each row at its own position.
     * The caches must be distinct and each have room for one more position; on an error every cache is left as it
     * was.
     */
    public float[] decodeBatch(KvCache[] caches, int[] ids, LlamaState ws, ActivationTap tap, Parallel par) {
        int n = ids.length;
        if (n == 0 || caches.length != n) {
            throw new SparsaException.UsageException("decodeBatch needs one cache per token, got " + caches.length
                    + " caches for " + n + " tokens");
        }
        checkIds(ids, 0, n);
        if (ws.training() || ws.capacity() < n || ws.slot(0).ffn.width() != w.config().intermediateSize()) {
            throw new SparsaException.UsageException("batch workspace holds " + ws.capacity() + " rows, need " + n
                    + " (use newBatchState)");
        }
        int[] pos = new int[n];
        for (int b = 0; b < n; b++) {
            KvCache c = caches[b];
            if (c.kvDim() != kvHeads * headDim || c.k.length != ffn.length) {
                throw new SparsaException.UsageException("KV cache " + b + " does not belong to this model");
            }
            for (int e = 0; e < b; e++) {
                if (caches[e] == c) {
                    throw new SparsaException.UsageException("KV cache " + b + " is also cache " + e
                            + ": one cache per sequence");
                }
            }
            if (c.length() >= c.capacity()) {
                throw new SparsaException.UsageException("context full: sequence " + b + " has " + c.length()
                        + " of " + c.capacity() + " positions (raise the max context)");
            }
            pos[b] = c.length();
        }
        for (KvCache c : caches) {
            c.append(1);
        }
        try {
            LlamaBlock.embed(w, ids, 0, n, ws.x);                           // x = E[id]
            for (int l = 0; l < ffn.length; l++) {
                BatchDecode.layer(w, l, ffn[l], attention(l), ws, caches, pos, invFreq, tap, par);
            }
        } catch (RuntimeException e) {
            for (int b = 0; b < n; b++) {
                caches[b].truncate(pos[b]);                                 // leave every cache as it was
            }
            throw e;
        }
        float[] logits = new float[n * vocab];
        LlamaBlock.head(w, ws, 0, n, logits, par);                         // logits = W_lm RMSNorm(x)
        return logits;
    }

    /** Throws a usage error naming the first id outside the vocabulary. */
    public void checkIds(int[] ids, int from, int to) {
        for (int i = from; i < to; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new SparsaException.UsageException("token id " + ids[i] + " is outside the vocabulary [0, "
                        + vocab + ")");
            }
        }
    }

    @Override
    public String toString() {
        ModelConfig cfg = w.config();
        return cfg.architecture() + " model from " + w.location() + " (" + ffn.length + " layers, D="
                + cfg.hiddenSize() + ", F=" + cfg.intermediateSize() + ", V=" + vocab + ")";
    }
}
