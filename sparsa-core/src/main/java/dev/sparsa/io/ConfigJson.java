package dev.sparsa.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparsa.SparsaException;
import dev.sparsa.SparsaException.FormatException;
import dev.sparsa.SparsaException.UnsupportedException;
import dev.sparsa.spec.HiddenAct;
import dev.sparsa.spec.ModelConfig;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;

/**
 * Hugging Face {@code config.json} ↔ {@link ModelConfig}.
 *
 * <p>Required: {@code model_type} (llama, mistral, qwen2, bert), {@code hidden_size}, {@code intermediate_size},
 * {@code num_hidden_layers}, {@code num_attention_heads}, {@code vocab_size}. Everything else takes the default of
 * the transformers configuration class of that model type (LlamaConfig, MistralConfig, Qwen2Config, BertConfig):
 * <pre>
 *                          llama    mistral   qwen2    bert
 * num_key_value_heads      heads    8         32       heads   (explicit null: heads)
 * head_dim                 hidden/heads (all)
 * max_position_embeddings  2048     131072    32768    512
 * rms_norm_eps             1e-6     1e-6      1e-6     (layer_norm_eps 1e-12)
 * rope_theta               10000    10000     10000    —
 * hidden_act               silu     silu      silu     gelu
 * tie_word_embeddings      false    false     false    true
 * attention bias           attention_bias (false)  false  always  always
 * bos / eos                1 / 2    1 / 2     none     none
 * </pre>
 * transformers ≥ 5 files carry {@code rope_parameters} ({@code rope_theta}, {@code rope_type}, llama3 fields)
 * instead of {@code rope_theta} / {@code rope_scaling}; both are read, the older form is written.
 * {@code eos_token_id} may be a list (Llama 3.1); the first id is used. {@code rope_scaling} may be null,
 * {@code rope_type}/{@code type} "default" (no scaling) or "llama3" (factor, low_freq_factor, high_freq_factor,
 * original_max_position_embeddings); other schemes are unsupported. Sparsa's own field {@code fatrelu_threshold}
 * (ProSparse's FATReLU T) defaults to 0; {@code hidden_act_param} is accepted as an alias when hidden_act is fatrelu.
 * Activations are normalized: swish → silu, gelu_pytorch_tanh → gelu_new.
 */
public final class ConfigJson {
    public static final List<String> SUPPORTED = List.of("llama", "mistral", "qwen2", "bert");
    /** Largest config.json accepted. */
    static final long MAX_BYTES = 16L << 20;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private ConfigJson() {
    }

    /** Reads and validates {@code path}. */
    public static ModelConfig read(Path path) {
        return parse(path, JsonFiles.readObject(path, MAX_BYTES));
    }

    /** Builds the config from an already parsed JSON tree; {@code file} names it in errors. */
    public static ModelConfig parse(Object file, JsonNode root) {
        if (root == null || !root.isObject()) {
            throw FormatException.of(file, "not a JSON object");
        }
        Fields f = new Fields(file, root);
        String type = f.str("model_type", null);
        if (type == null) {
            throw FormatException.of(file, "missing field model_type");
        }
        if (!SUPPORTED.contains(type)) {
            throw new UnsupportedException(file + ": unsupported model_type '" + type + "' (supported: "
                    + String.join(", ", SUPPORTED) + ")");
        }
        boolean bert = type.equals("bert");
        int hidden = f.positive("hidden_size");
        int inter = f.positive("intermediate_size");
        int layers = f.positive("num_hidden_layers");
        int heads = f.positive("num_attention_heads");
        int vocab = f.positive("vocab_size");
        // Absent → the class default (MistralConfig 8, Qwen2Config 32, else heads); explicit null → heads.
        int kvHeads = f.has("num_key_value_heads") ? f.positive("num_key_value_heads")
                : root.has("num_key_value_heads") ? heads
                : switch (type) {
                    case "mistral" -> 8;
                    case "qwen2" -> 32;
                    default -> heads;
                };
        if (heads % kvHeads != 0) {
            throw FormatException.of(file, "num_attention_heads " + heads + " is not a multiple of num_key_value_heads "
                    + kvHeads);
        }
        int headDim;
        if (f.has("head_dim") && !bert) {
            headDim = f.positive("head_dim");
        } else {
            if (hidden % heads != 0) {
                throw FormatException.of(file, "hidden_size " + hidden + " is not a multiple of num_attention_heads "
                        + heads);
            }
            headDim = hidden / heads;
        }
        int maxPos = f.has("max_position_embeddings") ? f.positive("max_position_embeddings") : switch (type) {
            case "llama" -> 2048;
            case "mistral" -> 4096 * 32;
            case "qwen2" -> 32768;
            default -> 512;
        };
        float eps = bert ? f.num("layer_norm_eps", 1e-12) : f.num("rms_norm_eps", 1e-6);
        // transformers ≥ 5 writes rope_parameters {rope_theta, rope_type, ...}; older files rope_theta + rope_scaling.
        JsonNode rp = root.get("rope_parameters");
        boolean v5 = rp != null && rp.isObject();
        float theta = bert ? 0f : v5 && rp.has("rope_theta") ? new Fields(file, rp, "rope_parameters.")
                .num("rope_theta", 10000.0) : f.num("rope_theta", 10000.0);
        if (!bert && !(theta > 0)) {
            throw FormatException.of(file, "rope_theta must be positive, got " + theta);
        }
        ModelConfig.RopeScaling scaling = bert ? null
                : ropeScaling(file, v5 ? rp : root.get("rope_scaling"), v5 ? "rope_parameters" : "rope_scaling");
        String act = activation(file, f.str("hidden_act", bert ? "gelu" : "silu"));
        float threshold = f.has("fatrelu_threshold") ? f.num("fatrelu_threshold", 0)
                : act.equals("fatrelu") ? f.num("hidden_act_param", 0) : 0f;
        boolean tie = f.bool("tie_word_embeddings", bert);
        boolean attnBias = switch (type) {
            case "llama" -> f.bool("attention_bias", false);
            case "mistral" -> false;
            default -> true;
        };
        if (type.equals("llama") && f.bool("mlp_bias", false)) {
            throw new UnsupportedException(file + ": mlp_bias=true is not supported");
        }
        int typeVocab = bert ? f.nonNegative("type_vocab_size", 2) : 0;
        int bos = f.tokenId("bos_token_id", type.equals("llama") || type.equals("mistral") ? 1 : -1);
        int eos = f.tokenId("eos_token_id", type.equals("llama") || type.equals("mistral") ? 2 : -1);
        boolean reluAfterNorm = !bert && f.bool("sparsa_relu_after_norm", false);
        return new ModelConfig(type, hidden, inter, layers, heads, kvHeads, headDim, vocab, maxPos, eps, theta, scaling,
                act, threshold, tie, attnBias, typeVocab, bos, eos, reluAfterNorm);
    }

    private static String activation(Object file, String act) {
        String c = HiddenAct.canonical(act);
        if (c == null) {
            throw new UnsupportedException(file + ": unsupported hidden_act '" + act + "' (supported: "
                    + HiddenAct.supported() + ")");
        }
        return c;
    }

    private static ModelConfig.RopeScaling ropeScaling(Object file, JsonNode rs, String field) {
        if (rs == null || rs.isNull()) {
            return null;
        }
        if (!rs.isObject()) {
            throw FormatException.of(file, field + " is not an object");
        }
        Fields f = new Fields(file, rs, field + ".");
        String type = f.has("rope_type") ? f.str("rope_type", null) : f.str("type", null);
        if (type == null) {
            if (field.equals("rope_parameters")) {
                return null;
            }
            throw FormatException.of(file, field + " has neither rope_type nor type");
        }
        if (type.equals("default")) {
            return null;
        }
        if (!type.equals("llama3")) {
            throw new UnsupportedException(file + ": unsupported " + field + " type '" + type + "' (supported: llama3)");
        }
        return new ModelConfig.RopeScaling("llama3", f.reqNum("factor"), f.reqNum("low_freq_factor"),
                f.reqNum("high_freq_factor"), f.positive("original_max_position_embeddings"));
    }

    /** Writes {@code c} as a Hugging Face config.json, atomically; {@link #read} gives {@code c} back. */
    public static void write(ModelConfig c, Path out) {
        AtomicFile.write(out, toJson(c));
    }

    /** The config.json bytes for {@code c}. */
    public static byte[] toJson(ModelConfig c) {
        if (!SUPPORTED.contains(c.architecture())) {
            throw new SparsaException.UsageException("config.json: cannot write model_type " + c.architecture());
        }
        boolean bert = c.architecture().equals("bert");
        ObjectNode o = JSON.createObjectNode();
        o.putArray("architectures").add(switch (c.architecture()) {
            case "llama" -> "LlamaForCausalLM";
            case "mistral" -> "MistralForCausalLM";
            case "qwen2" -> "Qwen2ForCausalLM";
            default -> "BertModel";
        });
        o.put("model_type", c.architecture());
        o.put("hidden_size", c.hiddenSize());
        o.put("intermediate_size", c.intermediateSize());
        o.put("num_hidden_layers", c.numLayers());
        o.put("num_attention_heads", c.numHeads());
        if (!bert) {
            o.put("num_key_value_heads", c.numKvHeads());
            o.put("head_dim", c.headDim());
        }
        o.put("vocab_size", c.vocabSize());
        o.put("max_position_embeddings", c.maxPositions());
        if (bert) {
            o.put("layer_norm_eps", c.normEps());
            o.put("type_vocab_size", c.typeVocabSize());
        } else {
            o.put("rms_norm_eps", c.normEps());
            o.put("rope_theta", c.ropeTheta());
            if (c.ropeScaling() != null) {
                ModelConfig.RopeScaling r = c.ropeScaling();
                ObjectNode rs = o.putObject("rope_scaling");
                rs.put("rope_type", r.type());
                rs.put("factor", r.factor());
                rs.put("low_freq_factor", r.lowFreqFactor());
                rs.put("high_freq_factor", r.highFreqFactor());
                rs.put("original_max_position_embeddings", r.originalMaxPositions());
            } else {
                o.putNull("rope_scaling");
            }
        }
        if (c.architecture().equals("llama")) {
            o.put("attention_bias", c.attentionBias());
        }
        o.put("hidden_act", c.hiddenAct());
        if (c.fatreluThreshold() != 0f || c.hiddenAct().equals("fatrelu")) {
            o.put("fatrelu_threshold", c.fatreluThreshold());
        }
        if (c.reluAfterNorm()) {
            o.put("sparsa_relu_after_norm", true);                // Sparsa's own: transformers has no such layer
        }
        o.put("tie_word_embeddings", c.tieWordEmbeddings());
        if (c.bosTokenId() >= 0) {
            o.put("bos_token_id", c.bosTokenId());
        } else {
            o.putNull("bos_token_id");
        }
        if (c.eosTokenId() >= 0) {
            o.put("eos_token_id", c.eosTokenId());
        } else {
            o.putNull("eos_token_id");
        }
        try {
            return JSON.writeValueAsBytes(o);
        } catch (JsonProcessingException e) {
            throw new SparsaException("config.json: cannot encode: " + e.getOriginalMessage(), e);
        }
    }

    /** Typed, validated access to the fields of one JSON object. */
    private record Fields(Object file, JsonNode node, String prefix) {
        Fields(Object file, JsonNode node) {
            this(file, node, "");
        }

        boolean has(String k) {
            JsonNode v = node.get(k);
            return v != null && !v.isNull();
        }

        private FormatException bad(String k, String what) {
            return FormatException.of(file, "field " + prefix + k + " must be " + what + ", got " + node.get(k));
        }

        /** The value of k, or null when absent or JSON null; "must be WHAT" when present but not {@code ok}. */
        private JsonNode opt(String k, Predicate<JsonNode> ok, String what) {
            if (!has(k)) {
                return null;
            }
            JsonNode v = node.get(k);
            if (!ok.test(v)) {
                throw bad(k, what);
            }
            return v;
        }

        private void require(String k) {
            if (!has(k)) {
                throw FormatException.of(file, "missing field " + prefix + k);
            }
        }

        private static boolean isInt(JsonNode v) {
            return v.isIntegralNumber() && v.canConvertToInt();
        }

        String str(String k, String dflt) {
            JsonNode v = opt(k, JsonNode::isTextual, "a string");
            return v == null ? dflt : v.textValue();
        }

        int positive(String k) {
            require(k);
            return opt(k, v -> isInt(v) && v.intValue() > 0, "a positive integer").intValue();
        }

        int nonNegative(String k, int dflt) {
            JsonNode v = opt(k, x -> isInt(x) && x.intValue() >= 0, "a non-negative integer");
            return v == null ? dflt : v.intValue();
        }

        float num(String k, double dflt) {
            JsonNode v = opt(k, x -> x.isNumber() && Double.isFinite(x.doubleValue()), "a number");
            return v == null ? (float) dflt : (float) v.doubleValue();
        }

        float reqNum(String k) {
            require(k);
            return num(k, 0);
        }

        boolean bool(String k, boolean dflt) {
            JsonNode v = opt(k, JsonNode::isBoolean, "true or false");
            return v == null ? dflt : v.booleanValue();
        }

        /** A token id, or the first of a list of ids; -1 when absent or null. */
        int tokenId(String k, int dflt) {
            JsonNode v = node.get(k);
            if (v == null) {
                return dflt;
            }
            if (v.isNull()) {
                return -1;
            }
            if (v.isArray()) {
                if (v.isEmpty()) {
                    return -1;
                }
                v = v.get(0);
            }
            if (!isInt(v) || v.intValue() < 0) {
                throw bad(k, "a non-negative token id or a list of them");
            }
            return v.intValue();
        }
    }
}
