package dev.sparsa.io;

import dev.sparsa.SparsaException.FormatException;
import dev.sparsa.SparsaException.UnsupportedException;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Llama family (llama, mistral, qwen2) between Hugging Face and GGUF: tensor names, the Q/K row permutation
 * and the hyper-parameter keys of llama.cpp.
 *
 * <p><b>Names</b> (llama.cpp gguf-py tensor_mapping.py): {@code model.embed_tokens.weight ↔ token_embd.weight},
 * {@code model.norm.weight ↔ output_norm.weight}, {@code lm_head.weight ↔ output.weight}, and per layer N
 * {@code model.layers.N.} + {@code input_layernorm ↔ blk.N.attn_norm}, {@code post_attention_layernorm ↔ ffn_norm},
 * {@code self_attn.q_proj/k_proj/v_proj/o_proj ↔ attn_q/attn_k/attn_v/attn_output} (weights and biases),
 * {@code mlp.gate_proj/up_proj/down_proj ↔ ffn_gate/ffn_up/ffn_down}.
 *
 * <p><b>Permutation</b>: Hugging Face Llama checkpoints apply RoPE "rotate_half" style (the pair of a head's
 * dimension i is i + d/2), llama.cpp's llama architecture rotates adjacent pairs (2i, 2i+1). Its converter
 * (convert_hf_to_gguf.py, {@code LlamaModel.permute}) therefore reorders the rows of q_proj (with n_head) and
 * k_proj (with n_head_kv), weights and biases: {@code w.reshape(n_head, 2, d/2, ...).swapaxes(1, 2)}, i.e. GGUF row
 * {@code h·d + 2i + j} = HF row {@code h·d + j·d/2 + i}. qwen2 uses NEOX RoPE in llama.cpp and is not permuted.
 * Rows are moved whole, so quantized rows permute as well. Sparsa writes GGUF the same way, but reads it as stored
 * ({@link GgufHfWeights}, {@link dev.sparsa.spec.RopeStyle#INTERLEAVED}): rotating adjacent pairs of the permuted
 * rows is the same rotation, and q·k is unchanged by one permutation of both within a head.
 */
public final class LlamaGguf {
    private LlamaGguf() {
    }

    private static final Pattern HF_LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)");
    private static final Pattern GGUF_LAYER = Pattern.compile("blk\\.(\\d+)\\.(.+)");
    private static final List<String[]> LAYER = List.of(
            new String[]{"input_layernorm.weight", "attn_norm.weight"},
            new String[]{"post_attention_layernorm.weight", "ffn_norm.weight"},
            new String[]{"self_attn.q_proj.weight", "attn_q.weight"},
            new String[]{"self_attn.k_proj.weight", "attn_k.weight"},
            new String[]{"self_attn.v_proj.weight", "attn_v.weight"},
            new String[]{"self_attn.o_proj.weight", "attn_output.weight"},
            new String[]{"self_attn.q_proj.bias", "attn_q.bias"},
            new String[]{"self_attn.k_proj.bias", "attn_k.bias"},
            new String[]{"self_attn.v_proj.bias", "attn_v.bias"},
            new String[]{"self_attn.o_proj.bias", "attn_output.bias"},
            new String[]{"mlp.gate_proj.weight", "ffn_gate.weight"},
            new String[]{"mlp.up_proj.weight", "ffn_up.weight"},
            new String[]{"mlp.down_proj.weight", "ffn_down.weight"});
    private static final List<String[]> GLOBAL = List.of(
            new String[]{"model.embed_tokens.weight", "token_embd.weight"},
            new String[]{"model.norm.weight", "output_norm.weight"},
            new String[]{"lm_head.weight", "output.weight"});

    /** The GGUF name of a Hugging Face tensor name, or null if it has none. */
    public static String toGguf(String hf) {
        return rename(hf, 0, HF_LAYER, "blk.");
    }

    /** The Hugging Face name of a GGUF tensor name, or null if it has none. */
    public static String toHf(String gguf) {
        return rename(gguf, 1, GGUF_LAYER, "model.layers.");
    }

    /**
     * Finds {@code name} in column {@code from} (0 = HF, 1 = GGUF) of the name tables and returns the other
     * column's name, a per-layer one under {@code layerPrefix}; null if it is in neither table.
     */
    private static String rename(String name, int from, Pattern layer, String layerPrefix) {
        int to = 1 - from;
        for (String[] g : GLOBAL) {
            if (g[from].equals(name)) {
                return g[to];
            }
        }
        Matcher m = layer.matcher(name);
        if (m.matches()) {
            for (String[] l : LAYER) {
                if (l[from].equals(m.group(2))) {
                    return layerPrefix + m.group(1) + "." + l[to];
                }
            }
        }
        return null;
    }

    /** Whether llama.cpp's converter permutes Q/K for this GGUF architecture. */
    public static boolean permutes(String ggufArch) {
        return ggufArch.equals("llama");
    }

    /** The GGUF architecture of a Sparsa architecture (mistral is converted as llama, as llama.cpp does). */
    public static String ggufArch(String arch) {
        return switch (arch) {
            case "llama", "mistral" -> "llama";
            case "qwen2" -> "qwen2";
            default -> throw new UnsupportedException("GGUF: cannot write architecture " + arch
                    + " (supported: llama, mistral, qwen2)");
        };
    }

    /**
     * The number of heads the rows of Hugging Face tensor {@code hf} are permuted over (q: heads, k: kv heads) when
     * written as GGUF, or 0 when the tensor is not permuted (not q/k, or an architecture llama.cpp does not permute).
     */
    public static int permuteHeads(String hf, ModelConfig c) {
        return permutes(ggufArch(c.architecture())) ? qkHeads(hf, c) : 0;
    }

    /** The heads over which RoPE pairs the rows of {@code hf} (q: heads, k: kv heads), or 0 if it is not q/k. */
    public static int qkHeads(String hf, ModelConfig c) {
        if (hf.endsWith("self_attn.q_proj.weight") || hf.endsWith("self_attn.q_proj.bias")) {
            return c.numHeads();
        }
        if (hf.endsWith("self_attn.k_proj.weight") || hf.endsWith("self_attn.k_proj.bias")) {
            return c.numKvHeads();
        }
        return 0;
    }

    /**
     * The source row of each destination row: {@code hfToGguf} gives the GGUF layout from HF rows, otherwise the
     * HF layout from GGUF rows. {@code rows} must be a multiple of 2·nHead.
     */
    public static int[] rowPermutation(int rows, int nHead, boolean hfToGguf) {
        if (nHead <= 0 || rows % (2 * nHead) != 0) {
            throw new IllegalArgumentException("cannot permute " + rows + " rows over " + nHead + " heads");
        }
        int d = rows / nHead;
        int half = d / 2;
        int[] src = new int[rows];
        for (int h = 0; h < nHead; h++) {
            for (int i = 0; i < half; i++) {
                for (int j = 0; j < 2; j++) {
                    int gguf = h * d + 2 * i + j;
                    int hf = h * d + j * half + i;
                    if (hfToGguf) {
                        src[gguf] = hf;
                    } else {
                        src[hf] = gguf;
                    }
                }
            }
        }
        return src;
    }

    /** Copies rows of {@code rowBytes} bytes: dst row r = src row perm[r]. */
    public static void permuteRows(MemorySegment src, MemorySegment dst, long rowBytes, int[] perm) {
        for (int r = 0; r < perm.length; r++) {
            MemorySegment.copy(src, perm[r] * rowBytes, dst, r * rowBytes, rowBytes);
        }
    }

    /**
     * A copy of q/k tensor {@code t} (as a llama GGUF stores it, interleaved over {@code heads}) with its rows (a 1-D
     * bias: its elements) in Hugging Face order, allocated in {@code arena}. For comparisons and conversions only:
     * models read GGUF q/k as stored ({@link dev.sparsa.spec.RopeStyle#INTERLEAVED}).
     */
    public static Tensor toHfLayout(Tensor t, int heads, Arena arena) {
        boolean bias = t.rank() == 1;
        if (bias && t.dtype().quantized()) {
            throw new FormatException("tensor " + t.name() + " is a block-quantized 1-D tensor");
        }
        int rows = bias ? t.shape()[0] : t.rows();
        long rowBytes = bias ? t.dtype().bytesFor(1) : t.rowBytes();
        if (heads <= 0 || rows % (2 * heads) != 0) {
            throw new FormatException("tensor " + t.name() + " has " + rows + " rows, not a multiple of 2 × " + heads
                    + " heads");
        }
        MemorySegment dst = arena.allocate(Math.max(1, t.data().byteSize()), 64).asSlice(0, t.data().byteSize());
        permuteRows(t.data(), dst, rowBytes, rowPermutation(rows, heads, false));
        return new Tensor(t.name(), t.dtype(), t.shape(), dst);
    }

    /**
     * llama3 RoPE frequency factors as llama.cpp's converter writes them in {@code rope_freqs.weight}
     * (convert_hf_to_gguf.py LlamaModel.generate_extra_tensors), one per frequency (headDim / 2).
     */
    public static float[] llama3RopeFactors(ModelConfig c) {
        ModelConfig.RopeScaling rs = c.ropeScaling();
        int dim = c.headDim();
        float[] out = new float[dim / 2];
        double lowWavelen = rs.originalMaxPositions() / (double) rs.lowFreqFactor();
        double highWavelen = rs.originalMaxPositions() / (double) rs.highFreqFactor();
        for (int k = 0; k < dim / 2; k++) {
            float freq = (float) (1.0 / Math.pow(c.ropeTheta(), (2.0 * k) / dim));
            double wavelen = 2 * Math.PI / freq;
            if (wavelen < highWavelen) {
                out[k] = 1f;
            } else if (wavelen > lowWavelen) {
                out[k] = rs.factor();
            } else {
                double smooth = (rs.originalMaxPositions() / wavelen - rs.lowFreqFactor())
                        / (rs.highFreqFactor() - rs.lowFreqFactor());
                out[k] = (float) (1 / ((1 - smooth) / rs.factor() + smooth));
            }
        }
        return out;
    }

    /** Metadata key prefix of Sparsa's own GGUF keys (ignored by llama.cpp). */
    public static final String SPARSA = "sparsa.";

    /**
     * The model config from GGUF metadata (llama.cpp keys, see {@code llama-arch.cpp}):
     * {@code general.architecture}; {@code {arch}.context_length, embedding_length, block_count,
     * feed_forward_length, attention.head_count, attention.head_count_kv (default head_count),
     * attention.key_length (default embedding/heads), attention.layer_norm_rms_epsilon, rope.freq_base (default
     * 10000), vocab_size} (else the length of {@code tokenizer.ggml.tokens}, else the rows of token_embd);
     * {@code tokenizer.ggml.bos_token_id / eos_token_id}. Sparsa's own {@code sparsa.hidden_act},
     * {@code sparsa.fatrelu_threshold} and {@code sparsa.rope_scaling.*} carry what llama.cpp has no key for.
     * Tied embeddings = no {@code output.weight}; attention bias = {@code blk.0.attn_q.bias} present. llama3 RoPE
     * scaling in a llama.cpp file lives only in the {@code rope_freqs.weight} factors: Sparsa recognises the
     * Llama 3.1/3.2 parameters (low 1, high 4, original context 8192, factor = the largest factor) by recomputing
     * the factors, and refuses others.
     */
    public static ModelConfig config(Object file, Map<String, Object> m, GgufFile gguf) {
        Meta k = new Meta(file, m);
        String arch = k.str("general.architecture");
        if (!arch.equals("llama") && !arch.equals("qwen2")) {
            throw new UnsupportedException(file + ": unsupported general.architecture '" + arch
                    + "' (supported: llama, qwen2)");
        }
        String p = arch + ".";
        int hidden = k.positive(p + "embedding_length", -1);
        int layers = k.positive(p + "block_count", -1);
        int ff = k.positive(p + "feed_forward_length", -1);
        int heads = k.positive(p + "attention.head_count", -1);
        int kv = k.positive(p + "attention.head_count_kv", heads);
        int ctx = k.positive(p + "context_length", -1);
        if (heads % kv != 0) {
            throw FormatException.of(file, p + "attention.head_count " + heads + " is not a multiple of head_count_kv "
                    + kv);
        }
        int headDim = k.positive(p + "attention.key_length", hidden % heads == 0 ? hidden / heads : -1);
        int rotary = k.positive(p + "rope.dimension_count", headDim);
        if (rotary != headDim) {
            throw new UnsupportedException(file + ": partial rotary embeddings (" + p + "rope.dimension_count "
                    + rotary + " ≠ head dim " + headDim + ") are not supported");
        }
        float eps = k.num(p + "attention.layer_norm_rms_epsilon", Float.NaN);
        float theta = k.num(p + "rope.freq_base", 10000f);
        int vocab;
        if (m.containsKey(p + "vocab_size")) {
            vocab = k.positive(p + "vocab_size", -1);
        } else if (m.get("tokenizer.ggml.tokens") instanceof List<?> toks) {
            vocab = toks.size();
        } else if (gguf.contains("token_embd.weight")) {
            vocab = gguf.info("token_embd.weight").shape()[0];
        } else {
            throw FormatException.of(file, "cannot tell the vocabulary size: no " + p + "vocab_size, "
                    + "tokenizer.ggml.tokens or token_embd.weight");
        }
        String scalingType = m.containsKey(p + "rope.scaling.type") ? k.str(p + "rope.scaling.type") : "none";
        if (!scalingType.equals("none")) {
            throw new UnsupportedException(file + ": unsupported " + p + "rope.scaling.type '" + scalingType + "'");
        }
        String act = m.containsKey(SPARSA + "hidden_act") ? k.str(SPARSA + "hidden_act") : "silu";
        float threshold = k.num(SPARSA + "fatrelu_threshold", 0f);
        int bos = k.nonNegative("tokenizer.ggml.bos_token_id", -1);
        int eos = k.nonNegative("tokenizer.ggml.eos_token_id", -1);
        boolean tie = !gguf.contains("output.weight");
        boolean bias = gguf.contains("blk.0.attn_q.bias");
        ModelConfig c = new ModelConfig(arch, hidden, ff, layers, heads, kv, headDim, vocab, ctx, eps, theta, null, act,
                threshold, tie, bias, 0, bos, eos);
        ModelConfig.RopeScaling rs = null;
        if (m.containsKey(SPARSA + "rope_scaling.factor")) {
            rs = new ModelConfig.RopeScaling("llama3", k.num(SPARSA + "rope_scaling.factor", Float.NaN),
                    k.num(SPARSA + "rope_scaling.low_freq_factor", Float.NaN),
                    k.num(SPARSA + "rope_scaling.high_freq_factor", Float.NaN),
                    k.positive(SPARSA + "rope_scaling.original_max_position_embeddings", -1));
        } else if (gguf.contains("rope_freqs.weight")) {
            float[] f = Quantize.row(gguf.tensor("rope_freqs.weight"), 0);
            float max = 0;
            for (float x : f) {
                max = Math.max(max, x);
            }
            rs = new ModelConfig.RopeScaling("llama3", max, 1f, 4f, 8192);
            float[] want = llama3RopeFactors(withScaling(c, rs));
            boolean same = want.length == f.length;
            for (int i = 0; same && i < f.length; i++) {
                same = Math.abs(want[i] - f[i]) <= 1e-4f * Math.max(1f, Math.abs(f[i]));
            }
            if (!same) {
                throw new UnsupportedException(file + ": rope_freqs.weight holds RoPE factors Sparsa cannot map to "
                        + "llama3 scaling (low_freq_factor 1, high_freq_factor 4, original context 8192)");
            }
        }
        return withScaling(c, rs);
    }

    private static ModelConfig withScaling(ModelConfig c, ModelConfig.RopeScaling rs) {
        return new ModelConfig(c.architecture(), c.hiddenSize(), c.intermediateSize(), c.numLayers(), c.numHeads(),
                c.numKvHeads(), c.headDim(), c.vocabSize(), c.maxPositions(), c.normEps(), c.ropeTheta(), rs,
                c.hiddenAct(), c.fatreluThreshold(), c.tieWordEmbeddings(), c.attentionBias(), c.typeVocabSize(),
                c.bosTokenId(), c.eosTokenId());
    }

    /** The llama.cpp hyper-parameter keys for {@code c} (plus Sparsa's own where llama.cpp has none). */
    public static Map<String, GgufValue> hyperParameters(ModelConfig c) {
        String arch = ggufArch(c.architecture());
        String p = arch + ".";
        Map<String, GgufValue> m = new java.util.LinkedHashMap<>();
        m.put("general.architecture", GgufValue.str(arch));
        m.put(p + "context_length", GgufValue.u32(c.maxPositions()));
        m.put(p + "embedding_length", GgufValue.u32(c.hiddenSize()));
        m.put(p + "block_count", GgufValue.u32(c.numLayers()));
        m.put(p + "feed_forward_length", GgufValue.u32(c.intermediateSize()));
        m.put(p + "rope.dimension_count", GgufValue.u32(c.headDim()));
        m.put(p + "attention.head_count", GgufValue.u32(c.numHeads()));
        m.put(p + "attention.head_count_kv", GgufValue.u32(c.numKvHeads()));
        if (c.headDim() * c.numHeads() != c.hiddenSize()) {
            m.put(p + "attention.key_length", GgufValue.u32(c.headDim()));
            m.put(p + "attention.value_length", GgufValue.u32(c.headDim()));
        }
        m.put(p + "attention.layer_norm_rms_epsilon", GgufValue.f32(c.normEps()));
        m.put(p + "rope.freq_base", GgufValue.f32(c.ropeTheta()));
        m.put(p + "vocab_size", GgufValue.u32(c.vocabSize()));
        if (!c.hiddenAct().equals("silu") || c.fatreluThreshold() != 0f) {
            m.put(SPARSA + "hidden_act", GgufValue.str(c.hiddenAct()));
            m.put(SPARSA + "fatrelu_threshold", GgufValue.f32(c.fatreluThreshold()));
        }
        if (c.ropeScaling() != null) {
            ModelConfig.RopeScaling r = c.ropeScaling();
            m.put(SPARSA + "rope_scaling.factor", GgufValue.f32(r.factor()));
            m.put(SPARSA + "rope_scaling.low_freq_factor", GgufValue.f32(r.lowFreqFactor()));
            m.put(SPARSA + "rope_scaling.high_freq_factor", GgufValue.f32(r.highFreqFactor()));
            m.put(SPARSA + "rope_scaling.original_max_position_embeddings", GgufValue.u32(r.originalMaxPositions()));
        }
        return m;
    }

    /** Typed reads of GGUF metadata with errors naming the file and key. */
    private record Meta(Object file, Map<String, Object> m) {
        /** The value of {@code key}, or null when it is absent and not {@code required}. */
        private Object get(String key, boolean required) {
            Object v = m.get(key);
            if (v == null && required) {
                throw FormatException.of(file, "missing metadata " + key);
            }
            return v;
        }

        String str(String key) {
            if (!(get(key, true) instanceof String s)) {
                throw FormatException.of(file, "metadata " + key + " must be a string");
            }
            return s;
        }

        /** dflt < 0 means required. */
        int positive(String key, int dflt) {
            return integer(key, dflt, dflt < 0, 1, "a positive integer");
        }

        int nonNegative(String key, int dflt) {
            return integer(key, dflt, false, 0, "a non-negative integer");
        }

        private int integer(String key, int dflt, boolean required, long min, String what) {
            Object v = get(key, required);
            if (v == null) {
                return dflt;
            }
            if (!(v instanceof Integer || v instanceof Long) || ((Number) v).longValue() < min
                    || ((Number) v).longValue() > Integer.MAX_VALUE) {
                throw FormatException.of(file, "metadata " + key + " must be " + what + ", got " + v);
            }
            return ((Number) v).intValue();
        }

        /** NaN default means required. */
        float num(String key, float dflt) {
            Object v = get(key, Float.isNaN(dflt));
            if (v == null) {
                return dflt;
            }
            if (!(v instanceof Float || v instanceof Double)) {
                throw FormatException.of(file, "metadata " + key + " must be a float, got " + v);
            }
            return ((Number) v).floatValue();
        }
    }
}
