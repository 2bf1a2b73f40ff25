package dev.sparsa.model.llama;

import dev.sparsa.SparsaException;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.WeightSource;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.spec.RopeStyle;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every weight of a Llama-family decoder (Llama 2/3, Mistral, Qwen2), bound to the architecture of its config and
 * named as Hugging Face names them. Matrices are {@code [out, in]} tensors of any dtype, usually mmap'd as stored;
 * vectors (norm gains, biases) are F32 tensors in native memory (converted once at load). The forward
 * ({@link LlamaBlock}) reads nothing else, so the trainer, which owns F32 copies of all of them, runs the very same
 * forward over its own weights.
 *
 * @param ropeStyle the RoPE pairing of the q/k rows as stored ({@link WeightSource#ropeStyle()})
 * @param location  the file or directory the weights came from
 * @param lmHead    the output projection; the same tensor as {@code embed} when the config ties them
 */
public record LlamaWeights(ModelConfig config, RopeStyle ropeStyle, String location, Tensor embed, Tensor lmHead,
                           Tensor finalNorm, List<Layer> layers) {

    private static final Set<String> ARCHITECTURES = Set.of("llama", "mistral", "qwen2");

    public LlamaWeights {
        layers = List.copyOf(layers);
    }

    /** One transformer block. Biases are null when the architecture has none. */
    public record Layer(int index, Tensor attnNorm, Tensor wq, Tensor wk, Tensor wv, Tensor wo,
                        Tensor bq, Tensor bk, Tensor bv, Tensor bo, Tensor ffnNorm, FfnWeights ffn) {
    }

    /**
     * Binds the tensors of {@code weights} (HF names) to the architecture of {@code cfg}. A missing tensor or a wrong
     * shape is a {@link SparsaException.FormatException} naming the file and the (first missing) tensor.
     */
    public static LlamaWeights load(ModelConfig cfg, WeightSource weights) {
        checkConfig(cfg);
        String loc = weights.location();
        List<String> missing = names(cfg).stream().filter(n -> !weights.contains(n)).toList();
        if (!missing.isEmpty()) {
            throw SparsaException.FormatException.of(loc, "missing tensor " + missing.getFirst()
                    + (missing.size() > 1 ? " (and " + (missing.size() - 1) + " more)" : "")
                    + " for " + cfg.architecture() + " with " + cfg.numLayers() + " layers");
        }
        int d = cfg.hiddenSize();
        int f = cfg.intermediateSize();
        int qDim = cfg.numHeads() * cfg.headDim();
        int kvDim = cfg.numKvHeads() * cfg.headDim();
        int v = cfg.vocabSize();
        Arena arena = Arena.ofAuto();
        Tensor embed = shaped(weights, "model.embed_tokens.weight", v, d);
        Tensor lmHead = cfg.tieWordEmbeddings() ? embed : shaped(weights, "lm_head.weight", v, d);
        Tensor finalNorm = vector(weights, "model.norm.weight", d, arena);
        List<Layer> layers = new ArrayList<>(cfg.numLayers());
        for (int l = 0; l < cfg.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            String a = p + "self_attn.";
            FfnWeights fw = new FfnWeights(l, shaped(weights, p + "mlp.gate_proj.weight", f, d),
                    shaped(weights, p + "mlp.up_proj.weight", f, d), shaped(weights, p + "mlp.down_proj.weight", d, f));
            layers.add(new Layer(l,
                    vector(weights, p + "input_layernorm.weight", d, arena),
                    shaped(weights, a + "q_proj.weight", qDim, d),
                    shaped(weights, a + "k_proj.weight", kvDim, d),
                    shaped(weights, a + "v_proj.weight", kvDim, d),
                    shaped(weights, a + "o_proj.weight", d, qDim),
                    optionalVector(weights, a + "q_proj.bias", qDim, arena),
                    optionalVector(weights, a + "k_proj.bias", kvDim, arena),
                    optionalVector(weights, a + "v_proj.bias", kvDim, arena),
                    optionalVector(weights, a + "o_proj.bias", d, arena),
                    vector(weights, p + "post_attention_layernorm.weight", d, arena),
                    fw));
        }
        // q/k are used in the row order the weights hold them in (a llama GGUF: interleaved, zero copy) and RoPE
        // follows it, as llama.cpp does; v/o and the FFN do not depend on it.
        return new LlamaWeights(cfg, weights.ropeStyle(), loc, embed, lmHead, finalNorm, layers);
    }

    /** The HF names of every tensor a model of {@code cfg} needs (biases only where the config has them). */
    public static List<String> names(ModelConfig cfg) {
        return List.copyOf(ModelFiles.decoderTensors(cfg).keySet());
    }

    /**
     * Every tensor under its HF name, in a fixed order (embedding, layers in order, final norm, LM head unless
     * tied); optional biases included when present.
     */
    public Map<String, Tensor> named() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("model.embed_tokens.weight", embed);
        for (Layer ly : layers) {
            String p = "model.layers." + ly.index() + ".";
            String a = p + "self_attn.";
            m.put(p + "input_layernorm.weight", ly.attnNorm());
            m.put(a + "q_proj.weight", ly.wq());
            m.put(a + "k_proj.weight", ly.wk());
            m.put(a + "v_proj.weight", ly.wv());
            m.put(a + "o_proj.weight", ly.wo());
            putIfPresent(m, a + "q_proj.bias", ly.bq());
            putIfPresent(m, a + "k_proj.bias", ly.bk());
            putIfPresent(m, a + "v_proj.bias", ly.bv());
            putIfPresent(m, a + "o_proj.bias", ly.bo());
            m.put(p + "post_attention_layernorm.weight", ly.ffnNorm());
            m.put(p + "mlp.gate_proj.weight", ly.ffn().gate());
            m.put(p + "mlp.up_proj.weight", ly.ffn().up());
            m.put(p + "mlp.down_proj.weight", ly.ffn().down());
        }
        m.put("model.norm.weight", finalNorm);
        if (!config.tieWordEmbeddings()) {
            m.put("lm_head.weight", lmHead);
        }
        return m;
    }

    private static void putIfPresent(Map<String, Tensor> m, String name, Tensor t) {
        if (t != null) {
            m.put(name, t);
        }
    }

    /** The same weights under another config of the same shapes (an activation swap, a FATReLU threshold). */
    public LlamaWeights withConfig(ModelConfig c) {
        if (c.hiddenSize() != config.hiddenSize() || c.intermediateSize() != config.intermediateSize()
                || c.numLayers() != config.numLayers() || c.vocabSize() != config.vocabSize()
                || c.numHeads() != config.numHeads() || c.numKvHeads() != config.numKvHeads()
                || c.headDim() != config.headDim() || c.tieWordEmbeddings() != config.tieWordEmbeddings()
                || c.attentionBias() != config.attentionBias()) {
            throw new IllegalArgumentException("config " + c + " has other shapes than " + config);
        }
        return new LlamaWeights(c, ropeStyle, location, embed, lmHead, finalNorm, layers);
    }

    static void checkConfig(ModelConfig c) {
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

    private static Tensor vector(WeightSource w, String name, int n, Arena arena) {
        Tensor t = w.tensor(name);
        if (t.numel() != n || t.rank() != 1) {
            throw SparsaException.FormatException.of(w.location(), "tensor " + name + " has shape "
                    + Arrays.toString(t.shape()) + ", expected [" + n + "]");
        }
        return f32Native(t, arena);
    }

    private static Tensor optionalVector(WeightSource w, String name, int n, Arena arena) {
        return w.contains(name) ? vector(w, name, n, arena) : null;
    }

    /** {@code t} as an F32 tensor in native memory of {@code arena} (a copy, converted from its dtype). */
    public static Tensor f32Native(Tensor t, Arena arena) {
        float[] v = Kernels.toFloats(t);
        MemorySegment seg = arena.allocate((long) v.length * Float.BYTES, 64);
        MemorySegment.copy(v, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, v.length);
        return new Tensor(t.name(), DType.F32, t.shape().clone(), seg);
    }
}
