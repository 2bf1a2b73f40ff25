package dev.sparsa.io.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.SparsaException.FormatException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Loads a Hugging Face {@code tokenizer.json} (the tokenizers library's serialization) into a {@link Tokenizer}.
 * Supported: models BPE (byte-level or byte-fallback) and WordPiece; the normalizers, pre-tokenizers, decoders and
 * post-processors that GPT-2 / Llama-2 / Llama-3 / Mistral / Qwen / BERT files use (see the sealed hierarchies).
 * {@code truncation} and {@code padding} are ignored: encode returns all ids, unpadded.
 *
 * <p>BOS/EOS come from a {@code tokenizer_config.json} next to the file when there is one ({@code bos_token},
 * {@code eos_token}), else from well-known special tokens ({@code <s>}, {@code <|begin_of_text|>}, {@code [CLS]}...).
 */
public final class TokenizerJson {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Largest token id accepted (real vocabularies stay below a few hundred thousand). */
    static final int MAX_ID = 16_000_000;

    private TokenizerJson() {
    }

    /** Loads {@code file}; bad or unsupported content throws a one-line {@link FormatException}. */
    public static Tokenizer load(Path file) {
        JsonNode root;
        try (InputStream in = Files.newInputStream(file)) {
            root = JSON.readTree(in);
        } catch (NoSuchFileException e) {
            throw FormatException.of(file, "no such file");
        } catch (JsonProcessingException e) {
            throw FormatException.of(file, "malformed JSON: " + jsonProblem(e)
                    + (e.getLocation() != null ? " (line " + e.getLocation().getLineNr() + ")" : ""));
        } catch (IOException e) {
            throw FormatException.of(file, "cannot read: " + e.getMessage());
        }
        JsonNode config = null;
        Path cfg = file.resolveSibling("tokenizer_config.json");
        if (Files.isRegularFile(cfg)) {
            try (InputStream in = Files.newInputStream(cfg)) {
                config = JSON.readTree(in);
            } catch (IOException e) {
                throw FormatException.of(cfg, "cannot read: " + e.getMessage());
            }
        }
        return build(root, config, file.toString());
    }

    /** Loads tokenizer.json content from a stream (e.g. a classpath resource); {@code name} names it in errors. */
    public static Tokenizer load(InputStream in, String name) {
        try {
            return build(JSON.readTree(in), null, name);
        } catch (JsonProcessingException e) {
            throw FormatException.of(name, "malformed JSON: " + jsonProblem(e));
        } catch (IOException e) {
            throw FormatException.of(name, "cannot read: " + e.getMessage());
        }
    }

    /** Jackson's message without its "[Source: ...]" noise, on one line. */
    private static String jsonProblem(JsonProcessingException e) {
        return e.getOriginalMessage().replaceAll("\\s*\\(start marker at \\[Source:[^\\]]*\\]\\)", "")
                .replaceAll("\\s+", " ").strip();
    }

    private static Tokenizer build(JsonNode root, JsonNode config, String src) {
        if (root == null || !root.isObject()) {
            throw FormatException.of(src, "not a JSON object");
        }
        Loader l = new Loader(src);
        Normalizer normalizer = l.normalizer(root.get("normalizer"), "normalizer");
        PreTokenizer pre = l.preTokenizer(root.get("pre_tokenizer"), "pre_tokenizer");
        Model model = l.model(root.get("model"));
        List<AddedVocabulary.AddedToken> addedTokens = l.addedTokens(root.get("added_tokens"));
        AddedVocabulary added = new AddedVocabulary(addedTokens, normalizer);
        Map<String, Integer> ids = new HashMap<>(model.vocab());
        for (AddedVocabulary.AddedToken t : addedTokens) {
            ids.put(t.content(), t.id());
        }
        PostProcessor post = l.postProcessor(root.get("post_processor"), "post_processor", ids);
        Decoder decoder = l.decoder(root.get("decoder"), "decoder");
        int bos = specialId(config, "bos_token", ids, post == null ? null : post.prefix(),
                "<|begin_of_text|>", "<s>", "<|startoftext|>", "<bos>", "[CLS]");
        int eos = specialId(config, "eos_token", ids, post == null ? null : post.suffix(),
                "<|end_of_text|>", "</s>", "<|endoftext|>", "<eos>", "[SEP]");
        return new PipelineTokenizer(added, normalizer, pre, model, post, decoder, bos, eos);
    }

    private static int specialId(JsonNode config, String key, Map<String, Integer> ids, int[] fromPost,
            String... wellKnown) {
        if (config != null && config.has(key)) {
            JsonNode v = config.get(key);
            String s = v.isTextual() ? v.asText() : v.isObject() && v.has("content") ? v.get("content").asText() : null;
            return s == null ? -1 : ids.getOrDefault(s, -1);
        }
        if (fromPost != null && fromPost.length > 0) {
            return key.startsWith("bos") ? fromPost[0] : fromPost[fromPost.length - 1];
        }
        for (String w : wellKnown) {
            Integer id = ids.get(w);
            if (id != null) {
                return id;
            }
        }
        return -1;
    }

    /** Reads the components; every error names the JSON path of the bad field. */
    private record Loader(String src) {

        FormatException err(String field, String problem) {
            return FormatException.of(src, field + ": " + problem);
        }

        String type(JsonNode n, String field) {
            if (!n.isObject()) {
                throw err(field, "expected an object");
            }
            JsonNode t = n.get("type");
            if (t == null || !t.isTextual()) {
                throw err(field + ".type", "missing");
            }
            return t.asText();
        }

        JsonNode req(JsonNode n, String key, String field) {
            JsonNode v = n.get(key);
            if (v == null || v.isNull()) {
                throw err(field + "." + key, "missing");
            }
            return v;
        }

        /** n.key, null when absent or null; "expected WHAT" when present but failing {@code ok}. */
        JsonNode opt(JsonNode n, String key, String field, Predicate<JsonNode> ok, String what) {
            JsonNode v = n.get(key);
            if (v == null || v.isNull()) {
                return null;
            }
            if (!ok.test(v)) {
                throw err(field + "." + key, "expected " + what);
            }
            return v;
        }

        /** {@code v}, or "missing" when it is null. */
        <T> T must(T v, String key, String field) {
            if (v == null) {
                throw err(field + "." + key, "missing");
            }
            return v;
        }

        String str(JsonNode n, String key, String field) {
            return must(optStr(n, key, field), key, field);
        }

        String optStr(JsonNode n, String key, String field) {
            JsonNode v = opt(n, key, field, JsonNode::isTextual, "a string");
            return v == null ? null : v.asText();
        }

        boolean bool(JsonNode n, String key, boolean dflt, String field) {
            JsonNode v = opt(n, key, field, JsonNode::isBoolean, "true or false");
            return v == null ? dflt : v.asBoolean();
        }

        int integer(JsonNode n, String key, int dflt, String field) {
            JsonNode v = opt(n, key, field, JsonNode::canConvertToInt, "an integer");
            return v == null ? dflt : v.asInt();
        }

        JsonNode array(JsonNode n, String key, String field) {
            return must(opt(n, key, field, JsonNode::isArray, "an array"), key, field);
        }

        /** The array n.key, each element read by {@code item} (given its JSON path); null results are dropped. */
        <T> List<T> list(JsonNode n, String key, String field, BiFunction<JsonNode, String, T> item) {
            JsonNode a = array(n, key, field);
            List<T> list = new ArrayList<>();
            for (int i = 0; i < a.size(); i++) {
                T x = item.apply(a.get(i), field + "." + key + "[" + i + "]");
                if (x != null) {
                    list.add(x);
                }
            }
            return List.copyOf(list);
        }

        /** The one-char n.replacement of Metaspace. */
        char replacement(JsonNode n, String field) {
            String rep = str(n, "replacement", field);
            if (rep.length() != 1) {
                throw err(field + ".replacement", "expected one char");
            }
            return rep.charAt(0);
        }

        /** A Split / Replace pattern: exactly one of {@code literal} and {@code regex} is set. */
        record Pat(String literal, Pattern regex) {
            Pattern asRegex() {
                return literal != null ? Pattern.compile(Pattern.quote(literal)) : regex;
            }
        }

        /** {"String": s} → literal, {"Regex": r} → compiled Oniguruma-dialect regex. */
        Pat pattern(JsonNode n, String field) {
            JsonNode p = req(n, "pattern", field);
            if (p.has("String") && p.get("String").isTextual()) {
                return new Pat(p.get("String").asText(), null);
            }
            if (p.has("Regex") && p.get("Regex").isTextual()) {
                try {
                    return new Pat(null, Regexes.compile(p.get("Regex").asText()));
                } catch (PatternSyntaxException e) {
                    throw err(field + ".pattern.Regex", "unsupported regex: " + e.getDescription());
                }
            }
            throw err(field + ".pattern", "expected {\"String\": ...} or {\"Regex\": ...}");
        }

        Normalizer normalizer(JsonNode n, String field) {
            if (n == null || n.isNull()) {
                return null;
            }
            String type = type(n, field);
            return switch (type) {
                case "NFC" -> new Normalizer.Unicode(java.text.Normalizer.Form.NFC);
                case "NFD" -> new Normalizer.Unicode(java.text.Normalizer.Form.NFD);
                case "NFKC" -> new Normalizer.Unicode(java.text.Normalizer.Form.NFKC);
                case "NFKD" -> new Normalizer.Unicode(java.text.Normalizer.Form.NFKD);
                case "Lowercase" -> new Normalizer.Lowercase();
                case "StripAccents" -> new Normalizer.StripAccents();
                case "Prepend" -> new Normalizer.Prepend(str(n, "prepend", field));
                case "Replace" -> {
                    Pat p = pattern(n, field);
                    yield new Normalizer.Replace(p.literal(), p.regex(), str(n, "content", field));
                }
                case "Strip" -> new Normalizer.Strip(bool(n, "strip_left", true, field),
                        bool(n, "strip_right", true, field));
                case "BertNormalizer" -> {
                    boolean lowercase = bool(n, "lowercase", true, field);
                    // HF: strip_accents null means "same as lowercase".
                    boolean strip = bool(n, "strip_accents", lowercase, field);
                    yield new Normalizer.Bert(bool(n, "clean_text", true, field),
                            bool(n, "handle_chinese_chars", true, field), strip, lowercase);
                }
                case "Sequence" -> new Normalizer.Sequence(list(n, "normalizers", field, this::normalizer));
                default -> throw err(field + ".type", "unsupported normalizer \"" + type + "\"");
            };
        }

        PreTokenizer preTokenizer(JsonNode n, String field) {
            if (n == null || n.isNull()) {
                return null;
            }
            String type = type(n, field);
            return switch (type) {
                case "ByteLevel" -> new PreTokenizer.ByteLevelPre(bool(n, "add_prefix_space", true, field),
                        bool(n, "use_regex", true, field));
                case "Split" -> {
                    Pattern re = pattern(n, field).asRegex();
                    yield new PreTokenizer.Split(re, behavior(str(n, "behavior", field), field + ".behavior"),
                            bool(n, "invert", false, field));
                }
                case "Metaspace" -> {
                    char rep = replacement(n, field);
                    String scheme = optStr(n, "prepend_scheme", field);
                    PreTokenizer.PrependScheme ps = scheme == null
                            ? (bool(n, "add_prefix_space", true, field) ? PreTokenizer.PrependScheme.ALWAYS
                                    : PreTokenizer.PrependScheme.NEVER)
                            : prependScheme(scheme, field);
                    yield new PreTokenizer.Metaspace(rep, ps, bool(n, "split", true, field));
                }
                case "BertPreTokenizer" -> new PreTokenizer.BertPre();
                case "Whitespace" -> new PreTokenizer.WhitespacePre();
                case "WhitespaceSplit" -> new PreTokenizer.WhitespaceSplit();
                case "Punctuation" -> new PreTokenizer.Punctuation(
                        n.has("behavior") ? behavior(str(n, "behavior", field), field + ".behavior")
                                : PreTokenizer.Behavior.ISOLATED);
                case "Digits" -> new PreTokenizer.Digits(bool(n, "individual_digits", false, field));
                case "Sequence" -> new PreTokenizer.Sequence(list(n, "pretokenizers", field, this::preTokenizer));
                default -> throw err(field + ".type", "unsupported pre-tokenizer \"" + type + "\"");
            };
        }

        PreTokenizer.PrependScheme prependScheme(String s, String field) {
            return switch (s) {
                case "first" -> PreTokenizer.PrependScheme.FIRST;
                case "always" -> PreTokenizer.PrependScheme.ALWAYS;
                case "never" -> PreTokenizer.PrependScheme.NEVER;
                default -> throw err(field + ".prepend_scheme", "expected first, always or never, got \"" + s + "\"");
            };
        }

        PreTokenizer.Behavior behavior(String s, String field) {
            return switch (s) {
                case "Removed" -> PreTokenizer.Behavior.REMOVED;
                case "Isolated" -> PreTokenizer.Behavior.ISOLATED;
                case "MergedWithPrevious" -> PreTokenizer.Behavior.MERGED_WITH_PREVIOUS;
                case "MergedWithNext" -> PreTokenizer.Behavior.MERGED_WITH_NEXT;
                case "Contiguous" -> PreTokenizer.Behavior.CONTIGUOUS;
                default -> throw err(field, "unknown split behavior \"" + s + "\"");
            };
        }

        Map<String, Integer> vocab(JsonNode m) {
            JsonNode v = req(m, "vocab", "model");
            if (!v.isObject()) {
                throw err("model.vocab", "expected an object {token: id}");
            }
            Map<String, Integer> vocab = new HashMap<>(v.size() * 2);
            for (var e : v.properties()) {
                if (!e.getValue().canConvertToInt() || e.getValue().asInt() < 0) {
                    throw err("model.vocab[\"" + e.getKey() + "\"]", "expected a non-negative integer id");
                }
                if (e.getValue().asInt() > MAX_ID) {
                    // Ids index arrays: refuse absurd ones rather than allocate gigabytes.
                    throw err("model.vocab[\"" + e.getKey() + "\"]", "id " + e.getValue().asInt() + " is too large");
                }
                vocab.put(e.getKey(), e.getValue().asInt());
            }
            if (vocab.isEmpty()) {
                throw err("model.vocab", "empty");
            }
            return java.util.Collections.unmodifiableMap(vocab); // HashMap: Map.copyOf probes slowly at this size
        }

        Model model(JsonNode m) {
            if (m == null || m.isNull()) {
                throw err("model", "missing");
            }
            if (!m.isObject()) {
                throw err("model", "expected an object");
            }
            // Old files may omit model.type; HF then tells the models apart by their fields.
            String type = m.has("type") ? str(m, "type", "model")
                    : m.has("merges") ? "BPE" : m.has("continuing_subword_prefix") ? "WordPiece" : "?";
            return switch (type) {
                case "BPE" -> {
                    JsonNode ms = array(m, "merges", "model");
                    List<String[]> merges = new ArrayList<>(ms.size());
                    for (int i = 0; i < ms.size(); i++) {
                        JsonNode x = ms.get(i);
                        if (x.isTextual()) {
                            String s = x.asText();
                            int sp = s.indexOf(' ');
                            if (sp <= 0 || sp == s.length() - 1 || s.indexOf(' ', sp + 1) >= 0) {
                                throw err("model.merges[" + i + "]", "expected \"left right\", got \"" + s + "\"");
                            }
                            merges.add(new String[] {s.substring(0, sp), s.substring(sp + 1)});
                        } else if (x.isArray() && x.size() == 2 && x.get(0).isTextual() && x.get(1).isTextual()) {
                            merges.add(new String[] {x.get(0).asText(), x.get(1).asText()});
                        } else {
                            throw err("model.merges[" + i + "]", "expected \"left right\" or [left, right]");
                        }
                    }
                    if (m.hasNonNull("dropout") && m.get("dropout").asDouble() > 0) {
                        throw err("model.dropout", "BPE dropout is not supported (it makes encoding random)");
                    }
                    yield new Bpe(vocab(m), merges, optStr(m, "unk_token", "model"), bool(m, "fuse_unk", false, "model"),
                            bool(m, "byte_fallback", false, "model"), optStr(m, "continuing_subword_prefix", "model"),
                            optStr(m, "end_of_word_suffix", "model"), bool(m, "ignore_merges", false, "model"), src);
                }
                case "WordPiece" -> new WordPiece(vocab(m), m.has("unk_token") ? str(m, "unk_token", "model") : "[UNK]",
                        m.has("continuing_subword_prefix") ? str(m, "continuing_subword_prefix", "model") : "##",
                        integer(m, "max_input_chars_per_word", 100, "model"), src);
                default -> throw err("model.type", "unsupported model type \"" + type
                        + "\" (supported: BPE, WordPiece)");
            };
        }

        List<AddedVocabulary.AddedToken> addedTokens(JsonNode a) {
            List<AddedVocabulary.AddedToken> list = new ArrayList<>();
            if (a == null || a.isNull()) {
                return list;
            }
            if (!a.isArray()) {
                throw err("added_tokens", "expected an array");
            }
            for (int i = 0; i < a.size(); i++) {
                JsonNode t = a.get(i);
                String f = "added_tokens[" + i + "]";
                if (!t.isObject()) {
                    throw err(f, "expected an object");
                }
                JsonNode id = req(t, "id", f);
                if (!id.canConvertToInt() || id.asInt() < 0 || id.asInt() > MAX_ID) {
                    throw err(f + ".id", "expected a non-negative integer up to " + MAX_ID);
                }
                boolean special = bool(t, "special", false, f);
                list.add(new AddedVocabulary.AddedToken(id.asInt(), str(t, "content", f), special,
                        bool(t, "single_word", false, f), bool(t, "lstrip", false, f), bool(t, "rstrip", false, f),
                        bool(t, "normalized", !special, f)));
            }
            return list;
        }

        int tokenId(String token, Map<String, Integer> ids, String field) {
            Integer id = ids.get(token);
            if (id == null) {
                throw err(field, "token \"" + token + "\" is not in the vocabulary");
            }
            return id;
        }

        PostProcessor postProcessor(JsonNode n, String field, Map<String, Integer> ids) {
            if (n == null || n.isNull()) {
                return null;
            }
            String type = type(n, field);
            return switch (type) {
                case "ByteLevel" -> new PostProcessor.ByteLevelPost();
                case "BertProcessing", "RobertaProcessing" -> {
                    int cls = pairId(req(n, "cls", field), field + ".cls");
                    int sep = pairId(req(n, "sep", field), field + ".sep");
                    yield new PostProcessor.ClsSep(cls, sep);
                }
                case "TemplateProcessing" -> {
                    JsonNode single = array(n, "single", field);
                    JsonNode specials = n.get("special_tokens");
                    Ids pre = new Ids(2);
                    Ids post = new Ids(2);
                    boolean seenA = false;
                    for (int i = 0; i < single.size(); i++) {
                        JsonNode piece = single.get(i);
                        String f = field + ".single[" + i + "]";
                        if (piece.has("Sequence")) {
                            seenA = true;
                        } else if (piece.has("SpecialToken")) {
                            String name = str(piece.get("SpecialToken"), "id", f + ".SpecialToken");
                            Ids target = seenA ? post : pre;
                            JsonNode sp = specials == null ? null : specials.get(name);
                            if (sp != null && sp.has("ids") && sp.get("ids").isArray()) {
                                for (JsonNode x : sp.get("ids")) {
                                    target.add(x.asInt());
                                }
                            } else {
                                target.add(tokenId(name, ids, f + ".SpecialToken.id"));
                            }
                        } else {
                            throw err(f, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
                        }
                    }
                    if (!seenA) {
                        throw err(field + ".single", "has no $A sequence");
                    }
                    yield new PostProcessor.Template(pre.toArray(), post.toArray());
                }
                case "Sequence" -> new PostProcessor.Sequence(list(n, "processors", field,
                        (x, f) -> postProcessor(x, f, ids)));
                default -> throw err(field + ".type", "unsupported post-processor \"" + type + "\"");
            };
        }

        /** BertProcessing's ["[CLS]", 101]. */
        int pairId(JsonNode p, String field) {
            if (!p.isArray() || p.size() != 2 || !p.get(1).canConvertToInt()) {
                throw err(field, "expected [token, id]");
            }
            return p.get(1).asInt();
        }

        Decoder decoder(JsonNode n, String field) {
            if (n == null || n.isNull()) {
                return null;
            }
            String type = type(n, field);
            return switch (type) {
                case "ByteLevel" -> new Decoder.ByteLevelDec();
                case "Replace" -> {
                    Pat p = pattern(n, field);
                    yield new Decoder.Replace(p.literal(), p.regex(), str(n, "content", field));
                }
                case "ByteFallback" -> new Decoder.ByteFallback();
                case "Fuse" -> new Decoder.Fuse();
                case "Strip" -> {
                    String c = str(n, "content", field);
                    if (c.codePointCount(0, c.length()) != 1) {
                        throw err(field + ".content", "expected one char");
                    }
                    yield new Decoder.Strip(c.codePointAt(0), integer(n, "start", 0, field),
                            integer(n, "stop", 0, field));
                }
                case "WordPiece" -> new Decoder.WordPieceDec(n.has("prefix") ? str(n, "prefix", field) : "##",
                        bool(n, "cleanup", true, field));
                case "Metaspace" -> {
                    char rep = replacement(n, field);
                    String scheme = optStr(n, "prepend_scheme", field);
                    boolean prepends = scheme == null ? bool(n, "add_prefix_space", true, field)
                            : prependScheme(scheme, field) != PreTokenizer.PrependScheme.NEVER;
                    yield new Decoder.MetaspaceDec(rep, prepends);
                }
                case "Sequence" -> new Decoder.Sequence(list(n, "decoders", field, this::decoder));
                default -> throw err(field + ".type", "unsupported decoder \"" + type + "\"");
            };
        }
    }
}
