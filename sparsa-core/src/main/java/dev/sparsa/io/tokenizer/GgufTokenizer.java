package dev.sparsa.io.tokenizer;

import dev.sparsa.SparsaException.FormatException;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link Tokenizer} from GGUF {@code tokenizer.ggml.*} metadata, encoding as llama.cpp does:
 * <ul>
 *   <li>{@code tokenizer.ggml.model = "llama"}: SentencePiece BPE ({@link Spm}: merge the adjacent pair with the
 *       highest {@code scores} entry, byte fallback to {@code <0xXX>}); a space is prepended to each run of text
 *       ({@code add_space_prefix}, default true) and spaces become ▁.</li>
 *   <li>{@code "gpt2"}: byte-level BPE over {@code merges}, after the split regex that {@code tokenizer.ggml.pre}
 *       names ({@link Regexes#GGUF_PRE}); {@code llama-bpe} also emits whole words found in the vocab
 *       (llama.cpp's {@code ignore_merges}).</li>
 * </ul>
 * Tokens of type UNKNOWN (2), CONTROL (3) and USER_DEFINED (4) are split out of the text before encoding, as
 * llama.cpp does with {@code parse_special = true} (and as HF does with added tokens); CONTROL and UNKNOWN ones are
 * special. BOS/EOS are added per {@code add_bos_token} / {@code add_eos_token} (defaults as llama.cpp: BOS on for
 * "llama" and "llama-bpe", off otherwise; EOS off). Unlike HF's Qwen tokenizer.json, no NFC normalization is
 * applied (llama.cpp applies none).
 *
 * <p>Metadata values: String, Integer/Long, Float/Double, Boolean, arrays as {@link List}.
 */
public final class GgufTokenizer {
    static final int TYPE_NORMAL = 1;
    static final int TYPE_UNKNOWN = 2;
    static final int TYPE_CONTROL = 3;
    static final int TYPE_USER_DEFINED = 4;
    static final int TYPE_UNUSED = 5;
    static final int TYPE_BYTE = 6;

    private GgufTokenizer() {
    }

    /** Builds the tokenizer; {@code source} (e.g. the GGUF file) names it in error messages. */
    public static Tokenizer fromMetadata(Map<String, Object> md, Object source) {
        Md m = new Md(md, source);
        String model = m.str("tokenizer.ggml.model");
        List<String> tokens = m.strings("tokenizer.ggml.tokens");
        if (tokens.isEmpty()) {
            throw m.err("tokenizer.ggml.tokens", "empty");
        }
        int n = tokens.size();
        int[] types = new int[n];
        List<?> typeList = m.optList("tokenizer.ggml.token_type");
        if (typeList != null && typeList.size() != n) {
            throw m.err("tokenizer.ggml.token_type", typeList.size() + " entries for " + n + " tokens");
        }
        for (int i = 0; i < n; i++) {
            types[i] = typeList == null ? TYPE_NORMAL : m.intAt(typeList, i, "tokenizer.ggml.token_type");
        }
        Map<String, Integer> vocab = new HashMap<>(n * 2);
        for (int i = 0; i < n; i++) {
            vocab.putIfAbsent(tokens.get(i), i);
        }
        List<AddedVocabulary.AddedToken> added = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int t = types[i];
            if (t == TYPE_UNKNOWN || t == TYPE_CONTROL || t == TYPE_USER_DEFINED) {
                added.add(new AddedVocabulary.AddedToken(i, tokens.get(i), t != TYPE_USER_DEFINED, false, false, false,
                        false));
            }
        }
        int bos = m.optInt("tokenizer.ggml.bos_token_id", -1, n);
        int eos = m.optInt("tokenizer.ggml.eos_token_id", -1, n);
        String pre = m.optStr("tokenizer.ggml.pre");
        boolean llama3Pre = "llama-bpe".equals(pre) || "llama3".equals(pre);
        boolean addBos = m.optBool("tokenizer.ggml.add_bos_token", "llama".equals(model) || llama3Pre);
        boolean addEos = m.optBool("tokenizer.ggml.add_eos_token", false);
        Ids prefix = new Ids(1);
        Ids suffix = new Ids(1);
        if (addBos) {
            if (bos < 0) {
                throw m.err("tokenizer.ggml.add_bos_token", "is true but tokenizer.ggml.bos_token_id is missing");
            }
            prefix.add(bos);
        }
        if (addEos) {
            if (eos < 0) {
                throw m.err("tokenizer.ggml.add_eos_token", "is true but tokenizer.ggml.eos_token_id is missing");
            }
            suffix.add(eos);
        }
        PostProcessor post = new PostProcessor.Template(prefix.toArray(), suffix.toArray());
        Map<String, Integer> frozen = java.util.Collections.unmodifiableMap(vocab);
        return switch (model) {
            case "llama" -> {
                List<?> scoreList = m.list("tokenizer.ggml.scores");
                if (scoreList.size() != n) {
                    throw m.err("tokenizer.ggml.scores", scoreList.size() + " entries for " + n + " tokens");
                }
                float[] scores = new float[n];
                for (int i = 0; i < n; i++) {
                    if (!(scoreList.get(i) instanceof Number x)) {
                        throw m.err("tokenizer.ggml.scores[" + i + "]", "expected a number");
                    }
                    scores[i] = x.floatValue();
                }
                int unk = m.optInt("tokenizer.ggml.unknown_token_id", frozen.getOrDefault("<unk>", -1), n);
                boolean spacePrefix = m.optBool("tokenizer.ggml.add_space_prefix", true);
                List<Normalizer> norm = new ArrayList<>();
                if (spacePrefix) {
                    norm.add(new Normalizer.Prepend("\u2581"));
                }
                norm.add(new Normalizer.Replace(" ", null, "\u2581"));
                Normalizer normalizer = new Normalizer.Sequence(List.copyOf(norm));
                List<Decoder> dec = new ArrayList<>(List.of(new Decoder.Replace("\u2581", null, " "),
                        new Decoder.ByteFallback(), new Decoder.Fuse()));
                if (spacePrefix) {
                    dec.add(new Decoder.Strip(' ', 1, 0));
                }
                String[] idToToken = tokens.toArray(String[]::new);
                yield new PipelineTokenizer(new AddedVocabulary(added, normalizer), normalizer, null,
                        new Spm(frozen, idToToken, scores, unk), post, new Decoder.Sequence(List.copyOf(dec)), bos, eos);
            }
            case "gpt2" -> {
                String regex = Regexes.GGUF_PRE.get(pre == null ? "default" : pre);
                if (regex == null) {
                    throw m.err("tokenizer.ggml.pre", "unsupported pre-tokenizer \"" + pre + "\" (supported: "
                            + String.join(", ", new java.util.TreeSet<>(Regexes.GGUF_PRE.keySet())) + ")");
                }
                List<String> mergeStrings = m.strings("tokenizer.ggml.merges");
                List<String[]> merges = new ArrayList<>(mergeStrings.size());
                for (int i = 0; i < mergeStrings.size(); i++) {
                    String s = mergeStrings.get(i);
                    int sp = s.indexOf(' ', 1);
                    if (sp <= 0 || sp == s.length() - 1) {
                        throw m.err("tokenizer.ggml.merges[" + i + "]", "expected \"left right\", got \"" + s + "\"");
                    }
                    merges.add(new String[] {s.substring(0, sp), s.substring(sp + 1)});
                }
                Bpe bpe = new Bpe(frozen, merges, null, false, false, null, null, llama3Pre, source);
                PreTokenizer preTok = new PreTokenizer.Sequence(List.of(
                        new PreTokenizer.Split(Regexes.compile(regex), PreTokenizer.Behavior.ISOLATED, false),
                        new PreTokenizer.ByteLevelPre(false, false)));
                yield new PipelineTokenizer(new AddedVocabulary(added, null), null, preTok, bpe, post,
                        new Decoder.ByteLevelDec(), bos, eos);
            }
            default -> throw m.err("tokenizer.ggml.model", "unsupported tokenizer model \"" + model
                    + "\" (supported: llama, gpt2)");
        };
    }

    /** Typed access to the metadata map with one-line errors naming the key. */
    private record Md(Map<String, Object> md, Object source) {
        FormatException err(String key, String problem) {
            return FormatException.of(source, key + ": " + problem);
        }

        Object req(String key) {
            Object v = md.get(key);
            if (v == null) {
                throw err(key, "missing");
            }
            return v;
        }

        String str(String key) {
            if (!(req(key) instanceof String s)) {
                throw err(key, "expected a string");
            }
            return s;
        }

        String optStr(String key) {
            Object v = md.get(key);
            if (v != null && !(v instanceof String)) {
                throw err(key, "expected a string");
            }
            return (String) v;
        }

        boolean optBool(String key, boolean dflt) {
            Object v = md.get(key);
            if (v == null) {
                return dflt;
            }
            if (!(v instanceof Boolean b)) {
                throw err(key, "expected a boolean");
            }
            return b;
        }

        int optInt(String key, int dflt, int vocabSize) {
            Object v = md.get(key);
            if (v == null) {
                return dflt;
            }
            if (!(v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte)) {
                throw err(key, "expected an integer");
            }
            long x = ((Number) v).longValue();
            if (x < 0 || x >= vocabSize) {
                throw err(key, x + " is not a token id (vocabulary of " + vocabSize + ")");
            }
            return (int) x;
        }

        List<?> list(String key) {
            if (!(req(key) instanceof List<?> l)) {
                throw err(key, "expected an array");
            }
            return l;
        }

        List<?> optList(String key) {
            return md.get(key) == null ? null : list(key);
        }

        List<String> strings(String key) {
            List<?> l = list(key);
            List<String> out = new ArrayList<>(l.size());
            for (int i = 0; i < l.size(); i++) {
                if (!(l.get(i) instanceof String s)) {
                    throw err(key + "[" + i + "]", "expected a string");
                }
                out.add(s);
            }
            return out;
        }

        int intAt(List<?> l, int i, String key) {
            if (!(l.get(i) instanceof Number x) || x instanceof Float || x instanceof Double) {
                throw err(key + "[" + i + "]", "expected an integer");
            }
            return x.intValue();
        }
    }
}
