package dev.sparsa.model.llama;

import dev.sparsa.SparsaException;
import dev.sparsa.io.WeightSource;
import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.spec.RopeStyle;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;
import dev.sparsa.tensor.VectorOps;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Llama-family decoder (Llama 2/3, Mistral, Qwen2) over Hugging Face tensor names, llama2.c style: pre-norm blocks
 * {@code x += Attn(RMSNorm(x)); x += FFN(RMSNorm(x))}, RoPE, grouped-query attention, a per-sequence
 * {@link KvCache}. A forward over several tokens is a batched prefill (matmul over the tokens, causal attention);
 * over one token it is a decode step (matvec). The FFN of each layer is a pluggable {@link FfnKernel}.
 *
 * <p>Immutable after loading and safe to share between threads; each sequence has its own cache.
 */
public final class LlamaModel {
    private static final Set<String> ARCHITECTURES = Set.of("llama", "mistral", "qwen2");

    private final ModelConfig cfg;
    private final String location;
    private final Tensor embed;
    private final Tensor lmHead;
    private final float[] finalNorm;
    private final Layer[] layers;
    private final float[] invFreq;
    private final RopeStyle ropeStyle;
    private final int dim;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int vocab;

    /** One transformer block. Biases are null when absent. */
    private record Layer(float[] attnNorm, Tensor wq, Tensor wk, Tensor wv, Tensor wo,
                         float[] bq, float[] bk, float[] bv, float[] bo, float[] ffnNorm, FfnKernel ffn) {
    }

    private LlamaModel(ModelConfig cfg, String location, Tensor embed, Tensor lmHead, float[] finalNorm,
                       Layer[] layers, RopeStyle ropeStyle) {
        this.cfg = cfg;
        this.ropeStyle = ropeStyle;
        this.location = location;
        this.embed = embed;
        this.lmHead = lmHead;
        this.finalNorm = finalNorm;
        this.layers = layers;
        this.invFreq = Rope.invFreq(cfg);
        this.dim = cfg.hiddenSize();
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
        checkConfig(cfg);
        int d = cfg.hiddenSize();
        int f = cfg.intermediateSize();
        int qDim = cfg.numHeads() * cfg.headDim();
        int kvDim = cfg.numKvHeads() * cfg.headDim();
        int v = cfg.vocabSize();
        String loc = weights.location();

        List<String> required = new ArrayList<>();
        required.add("model.embed_tokens.weight");
        required.add("model.norm.weight");
        if (!cfg.tieWordEmbeddings()) {
            required.add("lm_head.weight");
        }
        for (int l = 0; l < cfg.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            for (String n : List.of("input_layernorm", "post_attention_layernorm")) {
                required.add(p + n + ".weight");
            }
            for (String n : List.of("q", "k", "v", "o")) {
                required.add(p + "self_attn." + n + "_proj.weight");
            }
            if (cfg.attentionBias()) {
                for (String n : List.of("q", "k", "v")) {
                    required.add(p + "self_attn." + n + "_proj.bias");
                }
            }
            for (String n : List.of("gate", "up", "down")) {
                required.add(p + "mlp." + n + "_proj.weight");
            }
        }
        List<String> missing = required.stream().filter(n -> !weights.contains(n)).toList();
        if (!missing.isEmpty()) {
            throw SparsaException.FormatException.of(loc, "missing tensor " + missing.getFirst()
                    + (missing.size() > 1 ? " (and " + (missing.size() - 1) + " more)" : "")
                    + " for " + cfg.architecture() + " with " + cfg.numLayers() + " layers");
        }

        Tensor embed = shaped(weights, "model.embed_tokens.weight", v, d);
        Tensor lmHead = cfg.tieWordEmbeddings() ? embed : shaped(weights, "lm_head.weight", v, d);
        float[] finalNorm = vector(weights, "model.norm.weight", d);
        Activation act = Activation.of(cfg.hiddenAct(), cfg.fatreluThreshold());
        Layer[] layers = new Layer[cfg.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            String p = "model.layers." + l + ".";
            String a = p + "self_attn.";
            FfnWeights fw = new FfnWeights(l, shaped(weights, p + "mlp.gate_proj.weight", f, d),
                    shaped(weights, p + "mlp.up_proj.weight", f, d), shaped(weights, p + "mlp.down_proj.weight", d, f));
            layers[l] = new Layer(
                    vector(weights, p + "input_layernorm.weight", d),
                    shaped(weights, a + "q_proj.weight", qDim, d),
                    shaped(weights, a + "k_proj.weight", kvDim, d),
                    shaped(weights, a + "v_proj.weight", kvDim, d),
                    shaped(weights, a + "o_proj.weight", d, qDim),
                    optionalVector(weights, a + "q_proj.bias", qDim),
                    optionalVector(weights, a + "k_proj.bias", kvDim),
                    optionalVector(weights, a + "v_proj.bias", kvDim),
                    optionalVector(weights, a + "o_proj.bias", d),
                    vector(weights, p + "post_attention_layernorm.weight", d),
                    ffn.create(fw, act));
        }
        // q/k are used in the row order the weights hold them in (a llama GGUF: interleaved, zero copy) and RoPE
        // follows it, as llama.cpp does; v/o and the FFN do not depend on it.
        return new LlamaModel(cfg, loc, embed, lmHead, finalNorm, layers, weights.ropeStyle());
    }

    private static void checkConfig(ModelConfig c) {
        if (!ARCHITECTURES.contains(c.architecture())) {
            throw new SparsaException.UnsupportedException("config model_type: '" + c.architecture()
                    + "' is not a Llama-family decoder (llama, mistral, qwen2)");
        }
        if (c.hiddenSize() <= 0 || c.intermediateSize() <= 0 || c.numLayers() <= 0 || c.numHeads() <= 0
                || c.numKvHeads() <= 0 || c.headDim() <= 0 || c.vocabSize() <= 0) {
            throw new SparsaException.FormatException("config: sizes must be positive: " + c);
        }
        if (c.numHeads() % c.numKvHeads() != 0) {
            throw new SparsaException.FormatException("config num_key_value_heads: " + c.numKvHeads()
                    + " does not divide num_attention_heads " + c.numHeads());
        }
        if (c.headDim() % 2 != 0) {
            throw new SparsaException.FormatException("config head_dim: RoPE needs an even head dim, got " + c.headDim());
        }
    }

    private static Tensor shaped(WeightSource w, String name, int rows, int cols) {
        Tensor t = w.tensor(name);
        if (t.rank() != 2 || t.shape()[0] != rows || t.shape()[1] != cols) {
            throw SparsaException.FormatException.of(w.location(), "tensor " + name + " has shape "
                    + Arrays.toString(t.shape()) + ", expected [" + rows + ", " + cols + "]");
        }
        if (t.dtype().quantized() && cols % t.dtype().blockSize() != 0) {
            throw SparsaException.FormatException.of(w.location(), "tensor " + name + ": rows of " + cols
                    + " values are not whole " + t.dtype() + " blocks");
        }
        return t;
    }

    private static float[] vector(WeightSource w, String name, int n) {
        Tensor t = w.tensor(name);
        if (t.numel() != n || t.rank() != 1) {
            throw SparsaException.FormatException.of(w.location(), "tensor " + name + " has shape "
                    + Arrays.toString(t.shape()) + ", expected [" + n + "]");
        }
        return Kernels.toFloats(t);
    }

    private static float[] optionalVector(WeightSource w, String name, int n) {
        return w.contains(name) ? vector(w, name, n) : null;
    }

    // ---------------------------------------------------------------- accessors

    public ModelConfig config() {
        return cfg;
    }

    /** The file or directory the weights came from. */
    public String location() {
        return location;
    }

    public int numLayers() {
        return layers.length;
    }

    /** The FFN kernel of layer ℓ. */
    public FfnKernel ffn(int layer) {
        return layers[layer].ffn();
    }

    /** ‖d_i‖₂ of layer ℓ's down projection (CETT). */
    public float[] downColumnNorms(int layer) {
        return layers[layer].ffn().downColumnNorms();
    }

    /** The RoPE pairing of q/k in use: that of the weights loaded ({@link WeightSource#ropeStyle()}). */
    public RopeStyle ropeStyle() {
        return ropeStyle;
    }

    /** RoPE inverse frequencies in use (after llama3 scaling). */
    public float[] invFreq() {
        return invFreq.clone();
    }

    /** A KV cache for one sequence of up to {@code maxContext} tokens (at most the config's max positions). */
    public KvCache newCache(int maxContext) {
        if (maxContext > cfg.maxPositions() && cfg.maxPositions() > 0) {
            throw new SparsaException.UsageException("max context " + maxContext + " exceeds the model's "
                    + "max_position_embeddings " + cfg.maxPositions());
        }
        return new KvCache(layers.length, maxContext, kvHeads * headDim);
    }

    // ---------------------------------------------------------------- forward

    /** Decode step: one token at position {@code cache.length()}; returns its logits (length V). */
    public float[] decode(KvCache cache, int id, ActivationTap tap, Parallel par) {
        return forward(cache, new int[] {id}, false, tap, par);
    }

    /**
     * Runs {@code ids} at positions {@code cache.length() ..}, appending their keys and values to the cache.
     * Returns the logits of every token (T × V, row-major) when {@code allLogits}, else of the last token only.
     */
    public float[] forward(KvCache cache, int[] ids, boolean allLogits, ActivationTap tap, Parallel par) {
        int t = ids.length;
        if (t == 0) {
            throw new SparsaException.UsageException("forward needs at least one token");
        }
        for (int id : ids) {
            if (id < 0 || id >= vocab) {
                throw new SparsaException.UsageException("token id " + id + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        if (cache.kvDim() != kvHeads * headDim || cache.k.length != layers.length) {
            throw new SparsaException.UsageException("KV cache does not belong to this model");
        }
        int pos0 = cache.append(t);
        int qDim = heads * headDim;
        int kvDim = kvHeads * headDim;

        float[] x = new float[t * dim];       // residual stream
        float[] xn = new float[t * dim];      // normed input of a sub-block
        float[] q = new float[t * qDim];
        float[] k = new float[t * kvDim];
        float[] v = new float[t * kvDim];
        float[] att = new float[t * qDim];    // attention output, heads concatenated
        float[] out = new float[t * dim];     // sub-block output
        for (int i = 0; i < t; i++) {
            Kernels.getRow(embed, ids[i], x, i * dim);                     // x = E[id]
        }
        try {
            for (int l = 0; l < layers.length; l++) {
                Layer ly = layers[l];
                for (int i = 0; i < t; i++) {                               // xn = RMSNorm(x) ⊙ g_attn
                    VectorOps.rmsnorm(xn, i * dim, x, i * dim, ly.attnNorm(), dim, cfg.normEps());
                }
                if (t == 1) {                                               // decode: q, k, v in one pass
                    qkv(ly, xn, q, k, v, par);
                } else {
                    linear(ly.wq(), xn, t, q, ly.bq(), par);               // q = W_q xn (+ b_q)
                    linear(ly.wk(), xn, t, k, ly.bk(), par);               // k = W_k xn (+ b_k)
                    linear(ly.wv(), xn, t, v, ly.bv(), par);               // v = W_v xn (+ b_v)
                }
                for (int i = 0; i < t; i++) {                               // RoPE on q and k at position pos0+i
                    Rope.apply(ropeStyle, q, i * qDim, heads, headDim, pos0 + i, invFreq);
                    Rope.apply(ropeStyle, k, i * kvDim, kvHeads, headDim, pos0 + i, invFreq);
                }
                System.arraycopy(k, 0, cache.k[l], pos0 * kvDim, t * kvDim);
                System.arraycopy(v, 0, cache.v[l], pos0 * kvDim, t * kvDim);
                attention(cache.k[l], cache.v[l], q, att, t, pos0, par);
                linear(ly.wo(), att, t, out, ly.bo(), par);                 // o = W_o att
                for (int i = 0; i < t * dim; i++) {
                    x[i] += out[i];                                         // x += o
                }
                for (int i = 0; i < t; i++) {                               // xn = RMSNorm(x) ⊙ g_ffn
                    VectorOps.rmsnorm(xn, i * dim, x, i * dim, ly.ffnNorm(), dim, cfg.normEps());
                }
                ly.ffn().forward(xn, t, pos0, out, tap, par);              // y = W_down(act(W_gate xn) ⊙ W_up xn)
                for (int i = 0; i < t * dim; i++) {
                    x[i] += out[i];                                         // x += y
                }
            }
        } catch (RuntimeException e) {
            cache.truncate(pos0);                                           // leave the cache as it was
            throw e;
        }
        int first = allLogits ? 0 : t - 1;
        int n = t - first;
        float[] xf = new float[n * dim];
        for (int i = 0; i < n; i++) {                                       // final RMSNorm
            VectorOps.rmsnorm(xf, i * dim, x, (first + i) * dim, finalNorm, dim, cfg.normEps());
        }
        float[] logits = new float[n * vocab];
        linear(lmHead, xf, n, logits, null, par);                          // logits = W_lm xf
        return logits;
    }

    /**
     * Causal scaled dot-product attention (Vaswani et al. eq. 1) with grouped-query heads: query head h of token i
     * at position p = pos0+i attends to positions 0..p of kv head h / (H / KV):
     * {@code att = Σ_s softmax_s(q·k_s / √d) v_s}.
     */
    private void attention(float[] kc, float[] vc, float[] q, float[] att, int t, int pos0, Parallel par) {
        int group = heads / kvHeads;
        int qDim = heads * headDim;
        int kvDim = kvHeads * headDim;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        par.forRange(t * heads, 1, (from, to) -> {
            float[] scores = new float[pos0 + t];
            for (int job = from; job < to; job++) {
                int i = job / heads;
                int h = job % heads;
                int pos = pos0 + i;
                int qOff = i * qDim + h * headDim;
                int kvOff = (h / group) * headDim;
                for (int s = 0; s <= pos; s++) {
                    scores[s] = VectorOps.dot(q, qOff, kc, s * kvDim + kvOff, headDim) * scale;
                }
                VectorOps.softmax(scores, 0, pos + 1);
                int oOff = i * qDim + h * headDim;
                Arrays.fill(att, oOff, oOff + headDim, 0f);
                for (int s = 0; s <= pos; s++) {
                    float p = scores[s];
                    int vOff = s * kvDim + kvOff;
                    for (int j = 0; j < headDim; j++) {
                        att[oOff + j] += p * vc[vOff + j];
                    }
                }
            }
        });
    }

    /**
     * q = W_q x (+ b_q), k = W_k x (+ b_k), v = W_v x (+ b_v) for one token in a single parallel pass over the
     * rows of all three (one hand-off instead of three); each row's value is the one {@link Kernels#matvec} gives.
     */
    private static void qkv(Layer ly, float[] x, float[] q, float[] k, float[] v, Parallel par) {
        Tensor wq = ly.wq();
        Tensor wk = ly.wk();
        Tensor wv = ly.wv();
        int nq = wq.rows();
        int nk = wk.rows();
        int nv = wv.rows();
        par.forRange(nq + nk + nv, 16, (from, to) -> {
            for (int r = from; r < to; r++) {
                if (r < nq) {
                    q[r] = Kernels.dotRow(wq, r, x, 0);
                } else if (r < nq + nk) {
                    k[r - nq] = Kernels.dotRow(wk, r - nq, x, 0);
                } else {
                    v[r - nq - nk] = Kernels.dotRow(wv, r - nq - nk, x, 0);
                }
            }
        });
        addBias(q, ly.bq());
        addBias(k, ly.bk());
        addBias(v, ly.bv());
    }

    private static void addBias(float[] y, float[] b) {
        if (b != null) {
            for (int j = 0; j < b.length; j++) {
                y[j] += b[j];
            }
        }
    }

    /** y = W x (+ b), matvec for one token, matmul for a batch. */
    private static void linear(Tensor w, float[] x, int t, float[] y, float[] bias, Parallel par) {
        if (t == 1) {
            Kernels.matvec(w, x, y, par);
        } else {
            Kernels.matmul(w, x, t, y, par);
        }
        if (bias != null) {
            int n = w.rows();
            for (int i = 0; i < t; i++) {
                for (int j = 0; j < n; j++) {
                    y[i * n + j] += bias[j];
                }
            }
        }
    }

    @Override
    public String toString() {
        return cfg.architecture() + " model from " + location + " (" + layers.length + " layers, D=" + dim + ", F="
                + cfg.intermediateSize() + ", V=" + vocab + ")";
    }
}
