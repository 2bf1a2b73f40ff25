package dev.sparsa.io;

import dev.sparsa.SparsaException;
import dev.sparsa.SparsaException.FormatException;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.DType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A model on disk, opened: its config, its weights under Hugging Face names (and layout, but for the RoPE row
 * order of q/k that {@link WeightSource#ropeStyle()} states), and where its tokenizer is. {@link #open(Path)} accepts
 * <ul>
 *   <li>a directory with {@code config.json} and {@code model.safetensors} or {@code model.safetensors.index.json}
 *   (+ {@code tokenizer.json} if present) — format {@code safetensors} / {@code safetensors-sharded};</li>
 *   <li>a {@code .safetensors} file with a {@code config.json} beside it — format {@code safetensors};</li>
 *   <li>a {@code .gguf} file (config from its metadata, tensors renamed, all mmap'd as stored — for the llama
 *   architecture Q/K stay in llama.cpp's interleaved row order, {@link WeightSource#ropeStyle()}, see
 *   {@link GgufHfWeights}) — format {@code gguf};</li>
 *   <li>{@code .onnx}: refused — an ONNX file holds a BERT encoder, which the model layer reads itself
 *   ({@code BertModel.open}); io alone cannot tell its architecture.</li>
 * </ul>
 * For decoders (llama, mistral, qwen2) every tensor the forward needs is checked at open — present, of a
 * supported dtype and of the shape the config implies — so a broken checkpoint fails with
 * "DIR: missing tensor model.layers.3.mlp.up_proj.weight" before any compute.
 *
 * @param tokenizerJson  tokenizer.json beside the weights, or null
 * @param ggufMetadata   the GGUF key/values (plain values, see {@link GgufType}) for a GGUF model, else null
 * @param format         safetensors, safetensors-sharded or gguf
 * @param location       what the user pointed at (directory or file), for messages
 */
public record ModelFiles(ModelConfig config, WeightSource weights, Path tokenizerJson,
                         Map<String, Object> ggufMetadata, String format, Path location) implements AutoCloseable {

    public static final String CONFIG = "config.json";
    public static final String SAFETENSORS = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";
    public static final String TOKENIZER = "tokenizer.json";

    /** Opens a model directory or file; see the class comment. */
    public static ModelFiles open(Path path) {
        return open(path, false);
    }

    /**
     * As {@link #open(Path)}; with {@code listOnly} tensors of dtypes Sparsa cannot compute with (GGUF K-quants,
     * safetensors I64...) are accepted, for listing them ({@code sparsa inspect}). Presence and shapes are still
     * checked.
     */
    public static ModelFiles open(Path path, boolean listOnly) {
        ModelFiles m = open0(path);
        try {
            if (m.config().isDecoder()) {
                m.checkDecoder(!listOnly);
            }
            return m;
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    private static ModelFiles open0(Path path) {
        if (Files.isDirectory(path)) {
            return openDir(path);
        }
        if (!Files.isRegularFile(path)) {
            throw FormatException.of(path, "no such file or directory");
        }
        String name = path.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        if (name.endsWith(".gguf")) {
            return openGguf(path);
        }
        if (name.endsWith(".safetensors")) {
            Path dir = path.toAbsolutePath().getParent();
            Path cfg = dir.resolve(CONFIG);
            if (!Files.isRegularFile(cfg)) {
                throw FormatException.of(path, "no config.json beside it (needed for the architecture)");
            }
            ModelConfig c = ConfigJson.read(cfg);
            return new ModelFiles(c, SafetensorsFile.open(path), tokenizer(dir), null, "safetensors", path);
        }
        if (name.endsWith(".onnx")) {
            // The architecture of an ONNX graph is found by walking it (model.bert.BertOnnx), above io.
            throw new SparsaException.UnsupportedException(path + ": an ONNX file is used only as a BERT encoder "
                    + "(sparsa embed, sparsa inspect); this needs a Llama-family model (HF directory, .safetensors or"
                    + " .gguf)");
        }
        throw FormatException.of(path, "not a model: expected a directory with config.json, a .gguf or a .safetensors"
                + " file");
    }

    private static ModelFiles openDir(Path dir) {
        Path cfg = dir.resolve(CONFIG);
        if (!Files.isRegularFile(cfg)) {
            throw FormatException.of(dir, "no config.json");
        }
        ModelConfig c = ConfigJson.read(cfg);
        Path single = dir.resolve(SAFETENSORS);
        Path index = dir.resolve(INDEX);
        if (Files.isRegularFile(single)) {
            return new ModelFiles(c, SafetensorsFile.open(single), tokenizer(dir), null, "safetensors", dir);
        }
        if (Files.isRegularFile(index)) {
            return new ModelFiles(c, ShardedSafetensors.open(index), tokenizer(dir), null,
                    "safetensors-sharded", dir);
        }
        throw FormatException.of(dir, "no " + SAFETENSORS + " or " + INDEX);
    }

    private static ModelFiles openGguf(Path path) {
        GgufFile g = GgufFile.open(path);
        try {
            ModelConfig c = LlamaGguf.config(path, g.metadata(), g);
            return new ModelFiles(c, new GgufHfWeights(g, c), null, g.metadata(), "gguf", path);
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    private static Path tokenizer(Path dir) {
        Path t = dir.resolve(TOKENIZER);
        return Files.isRegularFile(t) ? t : null;
    }

    /** Throws "LOCATION: missing tensor X" for the first of {@code names} the weights lack. */
    public void require(String... names) {
        for (String n : names) {
            if (!weights.contains(n)) {
                throw FormatException.of(location, "missing tensor " + n);
            }
        }
    }

    /** Every tensor a Llama-family forward reads, with the shape the config implies. */
    public static Map<String, int[]> decoderTensors(ModelConfig c) {
        Map<String, int[]> m = new java.util.LinkedHashMap<>();
        int d = c.hiddenSize();
        int q = c.numHeads() * c.headDim();
        int kv = c.numKvHeads() * c.headDim();
        int f = c.intermediateSize();
        m.put("model.embed_tokens.weight", new int[]{c.vocabSize(), d});
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            m.put(p + "input_layernorm.weight", new int[]{d});
            m.put(p + "self_attn.q_proj.weight", new int[]{q, d});
            m.put(p + "self_attn.k_proj.weight", new int[]{kv, d});
            m.put(p + "self_attn.v_proj.weight", new int[]{kv, d});
            if (c.attentionBias()) {
                m.put(p + "self_attn.q_proj.bias", new int[]{q});
                m.put(p + "self_attn.k_proj.bias", new int[]{kv});
                m.put(p + "self_attn.v_proj.bias", new int[]{kv});
            }
            m.put(p + "self_attn.o_proj.weight", new int[]{d, q});
            m.put(p + "post_attention_layernorm.weight", new int[]{d});
            m.put(p + "mlp.gate_proj.weight", new int[]{f, d});
            m.put(p + "mlp.up_proj.weight", new int[]{f, d});
            m.put(p + "mlp.down_proj.weight", new int[]{d, f});
        }
        m.put("model.norm.weight", new int[]{d});
        if (!c.tieWordEmbeddings()) {
            m.put("lm_head.weight", new int[]{c.vocabSize(), d});
        }
        return m;
    }

    private void checkDecoder(boolean dtypes) {
        for (Map.Entry<String, int[]> e : decoderTensors(config).entrySet()) {
            String n = e.getKey();
            require(n);
            TensorMeta tm = describe(n);
            if (dtypes && tm.dtype() == null) {
                throw new SparsaException.UnsupportedException(location + ": tensor " + n + " has unsupported dtype "
                        + tm.dtypeName());
            }
            if (!Arrays.equals(tm.shape(), e.getValue())) {
                throw FormatException.of(location, "tensor " + n + " has shape " + Arrays.toString(tm.shape())
                        + ", config implies " + Arrays.toString(e.getValue()));
            }
        }
    }

    /** Dtype and shape of a tensor, without copying or materializing it. */
    public record TensorMeta(String name, String dtypeName, DType dtype, int[] shape, long bytes) {
    }

    /** Dtype (name as the file spells it) and shape of {@code name}, read from the file's index. */
    public TensorMeta describe(String name) {
        return describe(weights, name);
    }

    static TensorMeta describe(WeightSource w, String name) {
        SafetensorsFile st = w instanceof SafetensorsFile s ? s
                : w instanceof ShardedSafetensors sh ? sh.shardOf(name) : null;
        if (st != null && st.entry(name) != null) {
            SafetensorsFile.Entry e = st.entry(name);
            return new TensorMeta(name, e.dtype(), SafetensorsFile.toDType(e.dtype()), e.shape().clone(), e.bytes());
        }
        GgufFile.TensorInfo gi = w instanceof GgufHfWeights g ? g.info(name)
                : w instanceof GgufFile f ? f.info(name) : null;
        if (gi != null) {
            return new TensorMeta(name, gi.typeName(), gi.dtype(), gi.shape().clone(), gi.bytes());
        }
        var t = w.tensor(name);
        return new TensorMeta(name, t.dtype().name(), t.dtype(), t.shape(), t.data().byteSize());
    }

    /** All tensors, described, in the weights' order. */
    public List<TensorMeta> describeAll() {
        List<TensorMeta> out = new ArrayList<>();
        for (String n : weights.names()) {
            out.add(describe(n));
        }
        return out;
    }

    @Override
    public void close() {
        weights.close();
    }
}
