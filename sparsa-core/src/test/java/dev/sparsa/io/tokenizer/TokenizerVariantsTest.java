package dev.sparsa.io.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparsa.io.tokenizer.TokenizerFixtures.Tok;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The components real files do not exercise (Metaspace, other normalizers, split behaviors, added-token flags,
 * other post-processors, merges as arrays): the real files edited to use them, each edit checked against
 * HF tokenizers on the same corpus.
 */
class TokenizerVariantsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> CORPUS = variantCorpus();

    @TempDir
    Path tmp;

    private static List<String> variantCorpus() {
        List<String> all = new ArrayList<>(TokenizerFixtures.brownLines(10, 3));
        all.addAll(TokenizerFixtures.CRAFTED);
        all.addAll(TokenizerFixtures.random(7, 40, 30));
        all.addAll(List.of("Hello World again", "say hello world", "xHello Worldx", " Hello World ",
                "<|im_start|>  spaced  <|im_end|>", "a  <|im_start|>\n", "word<|im_end|>word", "MiXeD CaSe",
                "<|im_start|>"));
        return all;
    }

    private void check(Tok base, String name, Consumer<ObjectNode> edit) throws IOException {
        ObjectNode root = (ObjectNode) JSON.readTree(base.file().toFile());
        edit.accept(root);
        Path file = tmp.resolve(name + ".json");
        JSON.writeValue(file.toFile(), root);
        Tokenizer ours = TokenizerJson.load(file);
        List<String> bad = new ArrayList<>();
        try (HuggingFaceTokenizer ref = TokenizerFixtures.reference(file)) {
            for (String s : CORPUS) {
                for (boolean special : new boolean[] {false, true}) {
                    int[] want = TokenizerFixtures.refIds(ref, s, special);
                    int[] got = ours.encode(s, special);
                    if (!Arrays.equals(want, got)) {
                        bad.add(TokenizerReferenceTest.describe(ours, s, special, want, got));
                    }
                }
                int[] ids = TokenizerFixtures.refIds(ref, s, true);
                for (boolean skip : new boolean[] {false, true}) {
                    String want = ref.decode(TokenizerFixtures.longs(ids), skip);
                    String got = ours.decode(ids, skip);
                    if (!want.equals(got)) {
                        bad.add("decode skip=" + skip + " " + TokenizerReferenceTest.esc(s) + "\n   want "
                                + TokenizerReferenceTest.esc(want) + "\n   got  " + TokenizerReferenceTest.esc(got));
                    }
                }
            }
        }
        assertThat(bad).as("%s: differences from HF tokenizers", name).isEmpty();
    }

    private static ObjectNode obj(String json) {
        try {
            return (ObjectNode) JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException(e);
        }
    }

    @Test
    void metaspacePrependFirstNoSplit() throws IOException {
        // Newer Llama-2 / Mistral files: Metaspace pre-tokenizer instead of Prepend+Replace normalizers.
        check(Tok.LLAMA2, "metaspace-first", r -> {
            r.putNull("normalizer");
            r.set("pre_tokenizer", obj("{\"type\":\"Metaspace\",\"replacement\":\"▁\",\"prepend_scheme\":\"first\","
                    + "\"split\":false}"));
            r.set("decoder", obj("{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":"
                    + "\"▁\"},\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\","
                    + "\"content\":\" \",\"start\":1,\"stop\":0}]}"));
        });
    }

    @Test
    void metaspaceAlwaysSplitWithMetaspaceDecoder() throws IOException {
        check(Tok.LLAMA2, "metaspace-always", r -> {
            r.putNull("normalizer");
            r.set("pre_tokenizer", obj("{\"type\":\"Metaspace\",\"replacement\":\"▁\",\"prepend_scheme\":\"always\","
                    + "\"split\":true}"));
            r.set("decoder", obj("{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"ByteFallback\"},"
                    + "{\"type\":\"Metaspace\",\"replacement\":\"▁\",\"prepend_scheme\":\"always\",\"split\":true}]}"));
        });
    }

    @Test
    void gpt2StyleByteLevelWithRegexAndTemplate() throws IOException {
        // GPT-2 style: ByteLevel does the regex split itself (with a prefix space); a BOS+EOS template inside a
        // Sequence post-processor. (Qwen3's merges are [a, b] arrays, Llama-3's "a b" strings: both formats are
        // covered by the reference test.)
        check(Tok.QWEN3, "gpt2-style", r -> {
            r.set("pre_tokenizer", obj("{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,"
                    + "\"use_regex\":true}"));
            r.set("post_processor", obj("{\"type\":\"Sequence\",\"processors\":[{\"type\":\"ByteLevel\","
                    + "\"add_prefix_space\":true,\"trim_offsets\":false,\"use_regex\":true},"
                    + "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<|im_start|>\","
                    + "\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"SpecialToken\":{\"id\":"
                    + "\"<|im_end|>\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":{\"<|im_start|>\":"
                    + "{\"id\":\"<|im_start|>\",\"ids\":[151644],\"tokens\":[\"<|im_start|>\"]},"
                    + "\"<|im_end|>\":{\"id\":\"<|im_end|>\",\"ids\":[151645],\"tokens\":"
                    + "[\"<|im_end|>\"]}}}]}"));
        });
    }

    @Test
    void addedTokenFlagsAndNormalizers() throws IOException {
        // lstrip / rstrip / single_word on special tokens, a normalized non-special added token, and a
        // normalizer sequence (NFKC, Lowercase, regex Replace) in front of byte-level BPE.
        check(Tok.QWEN3, "added-flags", r -> {
            ArrayNode added = (ArrayNode) r.get("added_tokens");
            ((ObjectNode) added.get(1)).put("lstrip", true).put("rstrip", true); // <|im_start|>
            ((ObjectNode) added.get(2)).put("single_word", true); // <|im_end|>
            ((ObjectNode) added.get(24)).put("normalized", true).put("content", "hello world"); // was <think>
            r.set("normalizer", obj("{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFKC\"},"
                    + "{\"type\":\"Lowercase\"},{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"\\\\s{3,}\"},"
                    + "\"content\":\" \"}]}"));
        });
    }

    @Test
    void splitBehaviorsAndDigits() throws IOException {
        check(Tok.QWEN3, "split-behaviors", r -> r.set("pre_tokenizer", obj(
                "{\"type\":\"Sequence\",\"pretokenizers\":["
                        + "{\"type\":\"Split\",\"pattern\":{\"String\":\",\"},\"behavior\":\"MergedWithPrevious\","
                        + "\"invert\":false},"
                        + "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"[.!?]+\"},\"behavior\":\"MergedWithNext\","
                        + "\"invert\":false},"
                        + "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\p{Lu}\"},\"behavior\":\"Contiguous\","
                        + "\"invert\":false},"
                        + "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\w+\"},\"behavior\":\"Removed\","
                        + "\"invert\":true},"
                        + "{\"type\":\"Digits\",\"individual_digits\":true},"
                        + "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":false,"
                        + "\"use_regex\":false}]}")));
    }

    @Test
    void casedBertWithBertProcessing() throws IOException {
        check(Tok.MINILM, "bert-cased", r -> {
            r.set("normalizer", obj("{\"type\":\"BertNormalizer\",\"clean_text\":true,\"handle_chinese_chars\":false,"
                    + "\"strip_accents\":false,\"lowercase\":false}"));
            r.set("post_processor", obj("{\"type\":\"BertProcessing\",\"sep\":[\"[SEP]\",102],\"cls\":[\"[CLS]\",101]}"));
            r.set("decoder", obj("{\"type\":\"WordPiece\",\"prefix\":\"##\",\"cleanup\":false}"));
        });
    }

    @Test
    void bertWithStripAccentsAndWhitespacePreTokenizers() throws IOException {
        check(Tok.MINILM, "bert-variants", r -> {
            r.set("normalizer", obj("{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFD\"},"
                    + "{\"type\":\"StripAccents\"},{\"type\":\"Lowercase\"},{\"type\":\"Strip\",\"strip_left\":true,"
                    + "\"strip_right\":true}]}"));
            r.set("pre_tokenizer", obj("{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"WhitespaceSplit\"},"
                    + "{\"type\":\"Punctuation\",\"behavior\":\"Isolated\"},{\"type\":\"Whitespace\"}]}"));
            ((ObjectNode) r.get("model")).put("max_input_chars_per_word", 12);
        });
    }
}
