package dev.sparsa.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparsa.SparsaException.FormatException;
import dev.sparsa.SparsaException.UnsupportedException;
import dev.sparsa.spec.ModelConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The {@code tokenizer.ggml.*} vocabulary llama.cpp needs, built from a Hugging Face tokenizer.json (only the
 * vocabulary is read here; tokenization itself lives in {@code dev.sparsa.io.tokenizer}).
 * <ul>
 *   <li>BPE with {@code byte_fallback} (Llama-2 / Mistral, SentencePiece-style) → {@code tokenizer.ggml.model =
 *   "llama"} with tokens, scores and token types. tokenizer.json has no scores; llama.cpp's SentencePiece
 *   tokenizer merges the adjacent pair whose joined token has the highest score, so Sparsa scores a token with
 *   −(rank of the first merge that produces it) — the merge order the HF tokenizer applies — and 0 for tokens no
 *   merge produces (llama.cpp's own LlamaHfVocab writes −1000 for every token, which loses the merge order).</li>
 *   <li>byte-level BPE (GPT-2 / Llama-3 / Qwen2) → {@code "gpt2"} with tokens, token types and merges, and
 *   {@code tokenizer.ggml.pre} "qwen2" for qwen2, "llama-bpe" for llama, else "default".</li>
 * </ul>
 * Token types (llama.cpp): 1 normal, 2 unknown, 3 control (special added tokens), 4 user-defined (other added
 * tokens), 5 unused (ids the tokenizer leaves free below the model's vocab size, named "[PAD<id>]" as llama.cpp
 * does), 6 byte ({@code <0xXX>}).
 */
public final class GgufVocab {
    private static final Pattern BYTE = Pattern.compile("<0x[0-9A-Fa-f]{2}>");

    private GgufVocab() {
    }

    public static Map<String, GgufValue> fromTokenizerJson(Path file, ModelConfig c) {
        JsonNode root = JsonFiles.readObject(file, 1L << 30);
        JsonNode model = root.get("model");
        if (model == null || !model.isObject()) {
            throw FormatException.of(file, "missing field model");
        }
        String type = model.path("type").asText("");
        if (!type.equals("BPE")) {
            throw new UnsupportedException(file + ": model.type '" + type + "' cannot be written to GGUF (supported: BPE)");
        }
        boolean spm = model.path("byte_fallback").asBoolean(false);
        JsonNode vocab = model.get("vocab");
        if (vocab == null || !vocab.isObject()) {
            throw FormatException.of(file, "missing field model.vocab");
        }
        int n = c.vocabSize();
        String[] tokens = new String[n];
        int[] types = new int[n];
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int id = id(file, "model.vocab." + e.getKey(), e.getValue(), n);
            tokens[id] = e.getKey();
            types[id] = spm && BYTE.matcher(e.getKey()).matches() ? 6 : 1;
        }
        JsonNode unk = model.get("unk_token");
        int unkId = -1;
        if (unk != null && unk.isTextual() && vocab.has(unk.textValue())) {
            unkId = vocab.get(unk.textValue()).asInt();
            types[unkId] = 2;
        }
        JsonNode added = root.get("added_tokens");
        if (added != null && added.isArray()) {
            for (JsonNode a : added) {
                int id = id(file, "added_tokens[].id", a.get("id"), n);
                JsonNode content = a.get("content");
                if (content == null || !content.isTextual()) {
                    throw FormatException.of(file, "added token " + id + " has no content");
                }
                tokens[id] = content.textValue();
                types[id] = id == unkId ? 2 : a.path("special").asBoolean(false) ? 3 : 4;
            }
        }
        for (int i = 0; i < n; i++) {
            if (tokens[i] == null) {
                tokens[i] = "[PAD" + i + "]";
                types[i] = 5;
            }
        }
        List<String> merges = merges(file, model.get("merges"));
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("tokenizer.ggml.model", GgufValue.str(spm ? "llama" : "gpt2"));
        if (!spm) {
            m.put("tokenizer.ggml.pre", GgufValue.str(switch (c.architecture()) {
                case "qwen2" -> "qwen2";
                case "llama" -> "llama-bpe";
                default -> "default";
            }));
        }
        m.put("tokenizer.ggml.tokens", GgufValue.array(GgufType.STRING, Arrays.asList(tokens)));
        if (spm) {
            Map<String, Integer> rank = new HashMap<>();
            for (int r = 0; r < merges.size(); r++) {
                String mg = merges.get(r);
                int sp = mg.indexOf(' ');
                rank.putIfAbsent(mg.substring(0, sp) + mg.substring(sp + 1), r);
            }
            List<Float> scores = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                Integer r = types[i] == 1 ? rank.get(tokens[i]) : null;
                scores.add(r == null ? 0f : (float) -r);
            }
            m.put("tokenizer.ggml.scores", GgufValue.array(GgufType.FLOAT32, scores));
        }
        List<Integer> tt = new ArrayList<>(n);
        for (int t : types) {
            tt.add(t);
        }
        m.put("tokenizer.ggml.token_type", GgufValue.array(GgufType.INT32, tt));
        if (!spm) {
            m.put("tokenizer.ggml.merges", GgufValue.array(GgufType.STRING, merges));
        }
        if (c.bosTokenId() >= 0) {
            m.put("tokenizer.ggml.bos_token_id", GgufValue.u32(c.bosTokenId()));
        }
        if (c.eosTokenId() >= 0) {
            m.put("tokenizer.ggml.eos_token_id", GgufValue.u32(c.eosTokenId()));
        }
        if (unkId >= 0) {
            m.put("tokenizer.ggml.unknown_token_id", GgufValue.u32(unkId));
        }
        m.put("tokenizer.ggml.add_bos_token", GgufValue.bool(c.bosTokenId() >= 0 && !c.architecture().equals("qwen2")));
        m.put("tokenizer.ggml.add_eos_token", GgufValue.bool(false));
        return m;
    }

    private static int id(Path file, String field, JsonNode v, int n) {
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0) {
            throw FormatException.of(file, field + " is not a token id");
        }
        if (v.intValue() >= n) {
            throw FormatException.of(file, field + " = " + v.intValue() + " is outside the model's vocabulary (" + n
                    + " tokens)");
        }
        return v.intValue();
    }

    /** Merges as "a b" strings; tokenizer.json has them as strings or (newer files) as [a, b] pairs. */
    private static List<String> merges(Path file, JsonNode merges) {
        List<String> out = new ArrayList<>();
        if (merges == null || merges.isNull()) {
            return out;
        }
        if (!merges.isArray()) {
            throw FormatException.of(file, "model.merges is not an array");
        }
        for (JsonNode m : merges) {
            if (m.isTextual() && m.textValue().indexOf(' ') > 0) {
                out.add(m.textValue());
            } else if (m.isArray() && m.size() == 2 && m.get(0).isTextual() && m.get(1).isTextual()) {
                out.add(m.get(0).textValue() + " " + m.get(1).textValue());
            } else {
                throw FormatException.of(file, "model.merges[" + out.size() + "] is not a merge: " + m);
            }
        }
        return out;
    }
}
