package dev.sparsa.io.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparsa.SparsaException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A generated tokenizer.json for random-weight models ({@code sparsa synth}): a SentencePiece-style BPE with byte
 * fallback (the Llama-2 / TinyLlama layout: {@code <unk> <s> </s>}, 256 byte tokens, then characters, pairs and
 * triples generated programmatically up to the vocabulary size), which Sparsa ({@link TokenizerJson}), llama.cpp (via
 * the GGUF vocabulary) and Jlama all load. Its merges are not learned from text: it round-trips any string, but its
 * token counts are not those of a trained tokenizer.
 */
public final class SyntheticTokenizer {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final String SPACE = "\u2581";

    private SyntheticTokenizer() {
    }

    /** A Llama-2-style tokenizer.json (BPE, byte fallback) with exactly {@code vocab} entries, as UTF-8 bytes. */
    public static byte[] json(int vocab) {
        if (vocab < 3 + 256 + 80) {
            throw new SparsaException.UsageException("synthetic tokenizer: vocabulary of " + vocab
                    + " is too small (min 339)");
        }
        List<String> chars = new ArrayList<>();
        chars.add(SPACE);
        for (char c = 'a'; c <= 'z'; c++) {
            chars.add(String.valueOf(c));
        }
        for (char c = 'A'; c <= 'Z'; c++) {
            chars.add(String.valueOf(c));
        }
        for (char c = '0'; c <= '9'; c++) {
            chars.add(String.valueOf(c));
        }
        for (char c : ".,;:!?'\"()-".toCharArray()) {
            chars.add(String.valueOf(c));
        }
        List<String> tokens = new ArrayList<>();
        List<String> merges = new ArrayList<>();
        tokens.add("<unk>");
        tokens.add("<s>");
        tokens.add("</s>");
        for (int b = 0; b < 256; b++) {
            tokens.add(String.format("<0x%02X>", b));
        }
        tokens.addAll(chars);
        // pairs, the ones starting with ▁ or a lowercase letter first (word-like), then triples pair + char
        List<String> pairs = new ArrayList<>();
        for (String a : chars) {
            for (String b : chars) {
                if (tokens.size() + pairs.size() >= vocab) {
                    break;
                }
                if (b.equals(SPACE)) {
                    continue;
                }
                pairs.add(a + " " + b);
            }
        }
        for (String p : pairs) {
            tokens.add(p.replace(" ", ""));
            merges.add(p);
        }
        outer:
        for (String p : pairs) {
            String pt = p.replace(" ", "");
            for (String c : chars) {
                if (tokens.size() >= vocab) {
                    break outer;
                }
                if (c.equals(SPACE)) {
                    continue;
                }
                tokens.add(pt + c);
                merges.add(pt + " " + c);
            }
        }
        if (tokens.size() != vocab) {
            throw new SparsaException.UsageException("synthetic tokenizer: cannot generate " + vocab + " tokens (got "
                    + tokens.size() + ")");
        }
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < 3; i++) {
            ObjectNode a = added.addObject();
            a.put("id", i);
            a.put("content", tokens.get(i));
            a.put("single_word", false);
            a.put("lstrip", false);
            a.put("rstrip", false);
            a.put("normalized", false);
            a.put("special", true);
        }
        ObjectNode norm = root.putObject("normalizer");
        norm.put("type", "Sequence");
        ArrayNode ns = norm.putArray("normalizers");
        ns.addObject().put("type", "Prepend").put("prepend", SPACE);
        ObjectNode rep = ns.addObject().put("type", "Replace");
        rep.putObject("pattern").put("String", " ");
        rep.put("content", SPACE);
        root.putNull("pre_tokenizer");
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 1);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode sp = post.putObject("special_tokens").putObject("<s>");
        sp.put("id", "<s>");
        sp.putArray("ids").add(1);
        sp.putArray("tokens").add("<s>");
        ObjectNode dec = root.putObject("decoder");
        dec.put("type", "Sequence");
        ArrayNode ds = dec.putArray("decoders");
        ObjectNode d1 = ds.addObject().put("type", "Replace");
        d1.putObject("pattern").put("String", SPACE);
        d1.put("content", " ");
        ds.addObject().put("type", "ByteFallback");
        ds.addObject().put("type", "Fuse");
        ds.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", "<unk>");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true);
        model.put("byte_fallback", true);
        ObjectNode v = model.putObject("vocab");
        for (int i = 0; i < tokens.size(); i++) {
            v.put(tokens.get(i), i);
        }
        ArrayNode m = model.putArray("merges");
        merges.forEach(m::add);
        try {
            return JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new SparsaException("synthetic tokenizer: cannot encode tokenizer.json", e);
        }
    }
}
