package dev.sparsa.io.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.SparsaException;
import dev.sparsa.io.tokenizer.TokenizerFixtures.Tok;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * GGUF {@code tokenizer.ggml.*} metadata built from the real tokenizer.json files (as llama.cpp's converter would
 * write it) must encode like the tokenizer.json path, which itself matches HF tokenizers.
 */
class TokenizerGgufTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * The metadata llama.cpp's converter writes for this tokenizer.json. SentencePiece scores are not in a
     * tokenizer.json; the original model's scores order pieces as HF's converter orders the merges, so a piece's
     * score is minus the rank of the first merge producing it (pieces no merge produces score below all of them).
     */
    static Map<String, Object> metadata(Path file, String model, String pre) throws IOException {
        JsonNode root = JSON.readTree(file.toFile());
        JsonNode m = root.get("model");
        Map<String, Integer> vocab = new HashMap<>();
        m.get("vocab").properties().forEach(e -> vocab.put(e.getKey(), e.getValue().asInt()));
        Map<Integer, Integer> types = new HashMap<>();
        for (JsonNode a : root.get("added_tokens")) {
            vocab.put(a.get("content").asText(), a.get("id").asInt());
            types.put(a.get("id").asInt(), a.get("special").asBoolean() ? GgufTokenizer.TYPE_CONTROL
                    : GgufTokenizer.TYPE_USER_DEFINED);
        }
        int n = vocab.values().stream().mapToInt(Integer::intValue).max().orElseThrow() + 1;
        String[] tokens = new String[n];
        vocab.forEach((t, id) -> tokens[id] = t);
        List<String> mergeStrings = new ArrayList<>();
        for (JsonNode x : m.get("merges")) {
            mergeStrings.add(x.isTextual() ? x.asText() : x.get(0).asText() + " " + x.get(1).asText());
        }
        List<Object> tokenList = new ArrayList<>();
        List<Object> typeList = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String t = tokens[i] == null ? "[PAD" + i + "]" : tokens[i];
            tokenList.add(t);
            int type = tokens[i] == null ? GgufTokenizer.TYPE_UNUSED
                    : types.getOrDefault(i, t.matches("<0x[0-9A-F]{2}>") ? GgufTokenizer.TYPE_BYTE
                            : GgufTokenizer.TYPE_NORMAL);
            if (model.equals("llama") && t.equals("<unk>")) {
                type = GgufTokenizer.TYPE_UNKNOWN;
            }
            typeList.add(type);
        }
        Map<String, Object> md = new HashMap<>();
        md.put("tokenizer.ggml.model", model);
        md.put("tokenizer.ggml.tokens", tokenList);
        md.put("tokenizer.ggml.token_type", typeList);
        if (model.equals("llama")) {
            Map<String, Integer> firstRank = new HashMap<>();
            for (int r = 0; r < mergeStrings.size(); r++) {
                firstRank.putIfAbsent(mergeStrings.get(r).replace(" ", ""), r);
            }
            List<Object> scores = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Integer r = firstRank.get(tokenList.get(i));
                scores.add(r != null ? (float) -r : (float) -(mergeStrings.size() + i));
            }
            md.put("tokenizer.ggml.scores", scores);
            md.put("tokenizer.ggml.bos_token_id", 1L);
            md.put("tokenizer.ggml.eos_token_id", 2L);
            md.put("tokenizer.ggml.unknown_token_id", 0);
            md.put("tokenizer.ggml.add_bos_token", true);
        } else {
            md.put("tokenizer.ggml.merges", mergeStrings);
            md.put("tokenizer.ggml.pre", pre);
        }
        return md;
    }

    private static void assertSameIds(Tokenizer json, Tokenizer gguf, List<String> corpus, String name) {
        List<String> bad = new ArrayList<>();
        for (String s : corpus) {
            for (boolean special : new boolean[] {false, true}) {
                int[] want = json.encode(s, special);
                int[] got = gguf.encode(s, special);
                if (!Arrays.equals(want, got)) {
                    bad.add(TokenizerReferenceTest.describe(json, s, special, want, got));
                }
            }
            int[] ids = gguf.encode(s, false);
            assertThat(gguf.decode(ids, false)).as("decode %s", name).isEqualTo(json.decode(ids, false));
        }
        assertThat(bad).as("%s: GGUF path differs from tokenizer.json path", name).isEmpty();
    }

    @Test
    void llamaSpmMatchesTokenizerJson() throws IOException {
        Path file = Tok.LLAMA2.file();
        Tokenizer gguf = GgufTokenizer.fromMetadata(metadata(file, "llama", null), "llama2.gguf");
        Tokenizer json = TokenizerReferenceTest.ours(Tok.LLAMA2);
        assertSameIds(json, gguf, TokenizerFixtures.corpus(), "llama2");
        assertThat(gguf.bosId()).isEqualTo(1);
        assertThat(gguf.eosId()).isEqualTo(2);
        assertThat(gguf.encode("Hello", true)[0]).isEqualTo(1);
        assertThat(gguf.isSpecial(1)).isTrue();
        assertThat(gguf.isSpecial(3)).isFalse();
    }

    @Test
    void llama3BpeMatchesTokenizerJson() throws IOException {
        Path file = Tok.LLAMA3.file();
        Map<String, Object> md = metadata(file, "gpt2", "llama-bpe");
        md.put("tokenizer.ggml.bos_token_id", 128000);
        md.put("tokenizer.ggml.eos_token_id", 128001);
        // The lenml Llama-3 tokenizer.json adds no BOS (its post-processor is ByteLevel); match it...
        md.put("tokenizer.ggml.add_bos_token", false);
        Tokenizer gguf = GgufTokenizer.fromMetadata(md, "llama3.gguf");
        assertSameIds(TokenizerReferenceTest.ours(Tok.LLAMA3), gguf, TokenizerFixtures.corpus(), "llama3");
        // ...while llama.cpp's default for llama-bpe is to add it.
        md.remove("tokenizer.ggml.add_bos_token");
        Tokenizer withBos = GgufTokenizer.fromMetadata(md, "llama3.gguf");
        assertThat(withBos.encode("Hi there", true)).startsWith(128000);
        assertThat(withBos.encode("Hi there", false)).isEqualTo(gguf.encode("Hi there", false));
    }

    @Test
    void qwen2BpeMatchesTokenizerJsonOnNfcText() throws IOException {
        Path file = Tok.QWEN3.file();
        Map<String, Object> md = metadata(file, "gpt2", "qwen2");
        md.put("tokenizer.ggml.eos_token_id", 151645);
        Tokenizer gguf = GgufTokenizer.fromMetadata(md, "qwen3.gguf");
        // llama.cpp does not NFC-normalize; the tokenizer.json does. Compare on text NFC leaves unchanged.
        List<String> nfc = TokenizerFixtures.corpus().stream()
                .filter(s -> Normalizer.isNormalized(s, Normalizer.Form.NFC)).toList();
        assertThat(nfc).hasSizeGreaterThan(300);
        assertSameIds(TokenizerReferenceTest.ours(Tok.QWEN3), gguf, nfc, "qwen3");
        assertThat(gguf.encode("x", true)).containsExactly(gguf.encode("x", false));
        assertThat(gguf.isSpecial(151644)).isTrue();
        assertThat(gguf.isSpecial(151667)).as("<think> is user-defined, not special").isFalse();
    }

    @Test
    void badMetadataGivesOneLineErrors() {
        Map<String, Object> md = new HashMap<>();
        assertThatThrownBy(() -> GgufTokenizer.fromMetadata(md, "m.gguf"))
                .isInstanceOf(SparsaException.FormatException.class)
                .hasMessage("m.gguf: tokenizer.ggml.model: missing");
        md.put("tokenizer.ggml.model", "t5");
        md.put("tokenizer.ggml.tokens", List.of("a", "b"));
        assertThatThrownBy(() -> GgufTokenizer.fromMetadata(md, "m.gguf"))
                .hasMessageContaining("tokenizer.ggml.model: unsupported tokenizer model \"t5\"");
        md.put("tokenizer.ggml.model", "gpt2");
        md.put("tokenizer.ggml.pre", "no-such-pre");
        md.put("tokenizer.ggml.merges", List.of("a b"));
        assertThatThrownBy(() -> GgufTokenizer.fromMetadata(md, "m.gguf"))
                .hasMessageContaining("tokenizer.ggml.pre: unsupported pre-tokenizer \"no-such-pre\"");
        md.put("tokenizer.ggml.pre", "default");
        assertThatThrownBy(() -> GgufTokenizer.fromMetadata(md, "m.gguf"))
                .hasMessage("m.gguf: model.merges[0] \"a b\": the merged token is not in model.vocab");
        md.put("tokenizer.ggml.model", "llama");
        md.put("tokenizer.ggml.add_bos_token", false);
        md.put("tokenizer.ggml.scores", List.of(0.0f));
        assertThatThrownBy(() -> GgufTokenizer.fromMetadata(md, "m.gguf"))
                .hasMessage("m.gguf: tokenizer.ggml.scores: 1 entries for 2 tokens");
        md.put("tokenizer.ggml.scores", List.of(0.0f, 0.0f));
        md.put("tokenizer.ggml.bos_token_id", 7L);
        assertThatThrownBy(() -> GgufTokenizer.fromMetadata(md, "m.gguf"))
                .hasMessage("m.gguf: tokenizer.ggml.bos_token_id: 7 is not a token id (vocabulary of 2)");
        md.put("tokenizer.ggml.bos_token_id", 0);
        md.put("tokenizer.ggml.tokens", List.of("a", 3));
        assertThatThrownBy(() -> GgufTokenizer.fromMetadata(md, "m.gguf"))
                .hasMessage("m.gguf: tokenizer.ggml.tokens[1]: expected a string");
    }
}
