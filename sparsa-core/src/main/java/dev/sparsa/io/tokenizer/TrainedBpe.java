package dev.sparsa.io.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparsa.io.AtomicFile;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * A byte-level BPE vocabulary made by {@link BpeTrainer}, and its Hugging Face files.
 *
 * <p>{@link #tokenizerJson()} is the tokenizer.json HF tokenizers writes for the same training (field for field;
 * ByteLevelBPETokenizer's setup): {@code added_tokens} = the special tokens (special, not normalized, no
 * strip/single-word), {@code normalizer} null, {@code pre_tokenizer} ByteLevel (add_prefix_space false, GPT-2
 * regex), {@code post_processor} ByteLevel (adds no token: a model appends the end-of-text id itself), {@code decoder}
 * ByteLevel, {@code model} BPE with {@code vocab} in id order and {@code merges} in rank order as
 * {@code ["left", "right"]} pairs. Layout: one vocab entry or merge per line, so files diff well; the bytes depend
 * only on the vocabulary.
 *
 * <p>{@link #tokenizerConfigJson()} is a minimal tokenizer_config.json for transformers' {@code AutoTokenizer}
 * (PreTrainedTokenizerFast; bos and eos = the first special token; no clean-up of spaces, so decode(encode(s)) ==
 * s there too); Sparsa's {@link TokenizerJson} reads its bos/eos as well.
 *
 * @param vocab         tokens by id
 * @param merges        by rank
 * @param specialTokens ids 0, 1, ... in this order
 * @param lines         texts trained on
 * @param words         pre-tokenized words in them
 * @param distinctWords distinct words
 */
public record TrainedBpe(List<String> vocab, List<Merge> merges, List<String> specialTokens, long lines, long words,
        long distinctWords) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The file name transformers and {@link TokenizerJson} look for beside tokenizer.json. */
    public static final String CONFIG_FILE = "tokenizer_config.json";

    /** One merge rule: the tokens {@code left} and {@code right} become {@code left + right}. */
    public record Merge(String left, String right) {
    }

    public TrainedBpe {
        vocab = List.copyOf(vocab);
        merges = List.copyOf(merges);
        specialTokens = List.copyOf(specialTokens);
    }

    /** Vocabulary size (special tokens and byte symbols included). */
    public int size() {
        return vocab.size();
    }

    /** The id of {@code token}, or -1. */
    public int id(String token) {
        return vocab.indexOf(token);
    }

    /**
     * The id a model config should use as {@code eos_token_id} and {@code bos_token_id}: the first special token's
     * (0 with the default {@code <|endoftext|>}), or -1 when there is no special token.
     */
    public int eosId() {
        return specialTokens.isEmpty() ? -1 : id(specialTokens.getFirst());
    }

    private static String q(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e); // a String always serializes
        }
    }

    /** tokenizer.json (UTF-8). */
    public byte[] tokenizerJson() {
        StringBuilder sb = new StringBuilder(32 * (vocab.size() + merges.size()) + 1024);
        sb.append("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [");
        for (int i = 0; i < specialTokens.size(); i++) {
            sb.append(i == 0 ? "\n" : ",\n").append("    {\"id\": ").append(id(specialTokens.get(i)))
                    .append(", \"content\": ").append(q(specialTokens.get(i)))
                    .append(", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false,"
                            + " \"special\": true}");
        }
        sb.append(specialTokens.isEmpty() ? "],\n" : "\n  ],\n");
        sb.append("""
                  "normalizer": null,
                  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, \
                "use_regex": true},
                  "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, \
                "use_regex": true},
                  "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
                  "model": {
                    "type": "BPE",
                    "dropout": null,
                    "unk_token": null,
                    "continuing_subword_prefix": null,
                    "end_of_word_suffix": null,
                    "fuse_unk": false,
                    "byte_fallback": false,
                    "ignore_merges": false,
                    "vocab": {""");
        for (int i = 0; i < vocab.size(); i++) {
            sb.append(i == 0 ? "\n" : ",\n").append("      ").append(q(vocab.get(i))).append(": ").append(i);
        }
        sb.append("\n    },\n    \"merges\": [");
        for (int i = 0; i < merges.size(); i++) {
            Merge m = merges.get(i);
            sb.append(i == 0 ? "\n" : ",\n").append("      [").append(q(m.left())).append(", ").append(q(m.right()))
                    .append(']');
        }
        sb.append(merges.isEmpty() ? "]\n" : "\n    ]\n").append("  }\n}\n");
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** tokenizer_config.json (UTF-8). */
    public byte[] tokenizerConfigJson() {
        ObjectNode c = JSON.createObjectNode();
        c.put("tokenizer_class", "PreTrainedTokenizerFast");
        if (!specialTokens.isEmpty()) {
            c.put("bos_token", specialTokens.getFirst());
            c.put("eos_token", specialTokens.getFirst());
        }
        c.put("clean_up_tokenization_spaces", false);
        try {
            return (JSON.writerWithDefaultPrettyPrinter().writeValueAsString(c) + "\n")
                    .getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Writes {@code file} (tokenizer.json) and {@value #CONFIG_FILE} beside it, each atomically (temp file +
     * rename): a failure leaves no half-written file.
     */
    public void write(Path file) {
        AtomicFile.write(file, tokenizerJson());
        AtomicFile.write(file.toAbsolutePath().resolveSibling(CONFIG_FILE), tokenizerConfigJson());
    }
}
