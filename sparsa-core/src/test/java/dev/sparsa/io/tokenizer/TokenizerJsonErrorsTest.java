package dev.sparsa.io.tokenizer;

import dev.sparsa.SparsaException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Bad tokenizer.json files fail with one line naming the file, the field and the problem. */
class TokenizerJsonErrorsTest {
    @TempDir
    Path dir;

    private static final String BPE = "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},"
            + "\"merges\":[\"a b\"]}}";

    private String fail(String json) throws IOException {
        Path f = dir.resolve("tokenizer.json");
        Files.writeString(f, json);
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> TokenizerJson.load(f));
        assertThat(t).isInstanceOf(SparsaException.FormatException.class);
        assertThat(t.getMessage()).startsWith(f + ": ").doesNotContain("\n");
        return "tokenizer.json" + t.getMessage().substring(f.toString().length());
    }

    @Test
    void tinyBpeWorks() throws IOException {
        Path f = dir.resolve("tokenizer.json");
        Files.writeString(f, BPE);
        Tokenizer t = TokenizerJson.load(f);
        assertThat(t.encode("abba", true)).containsExactly(2, 1, 0);
        assertThat(t.decode(new int[] {2, 1, 0}, false)).isEqualTo("ab b a"); // no decoder: joined with spaces
        assertThat(t.vocabSize()).isEqualTo(3);
        assertThat(t.bosId()).isEqualTo(-1);
        assertThat(t.encode("", true)).isEmpty();
        assertThat(t.encode("xyz", false)).as("unknown chars without unk or byte fallback are dropped").isEmpty();
    }

    @Test
    void errorsNameFieldAndProblem() throws IOException {
        assertThat(fail("{")).isEqualTo("tokenizer.json: malformed JSON: Unexpected end-of-input: expected close "
                + "marker for Object (line 1)");
        assertThat(fail("[1]")).isEqualTo("tokenizer.json: not a JSON object");
        assertThat(fail("{}")).isEqualTo("tokenizer.json: model: missing");
        assertThat(fail("{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}"))
                .isEqualTo("tokenizer.json: model.type: unsupported model type \"Unigram\" (supported: BPE, WordPiece)");
        assertThat(fail("{\"model\":{\"type\":\"BPE\",\"merges\":[]}}"))
                .isEqualTo("tokenizer.json: model.vocab: missing");
        assertThat(fail("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a c\"]}}"))
                .isEqualTo("tokenizer.json: model.merges[0] \"a c\": c is not in model.vocab");
        assertThat(fail("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"abc\"]}}"))
                .isEqualTo("tokenizer.json: model.merges[0]: expected \"left right\", got \"abc\"");
        assertThat(fail("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":\"x\"},\"merges\":[]}}"))
                .isEqualTo("tokenizer.json: model.vocab[\"a\"]: expected a non-negative integer id");
        assertThat(fail("{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":0},\"unk_token\":\"[UNK]\"}}"))
                .isEqualTo("tokenizer.json: model.unk_token \"[UNK]\" is not in model.vocab");
        String withBpe = BPE.substring(0, BPE.length() - 1);
        assertThat(fail(withBpe + ",\"normalizer\":{\"type\":\"Precompiled\"}}"))
                .isEqualTo("tokenizer.json: normalizer.type: unsupported normalizer \"Precompiled\"");
        assertThat(fail(withBpe + ",\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(\"},"
                + "\"behavior\":\"Isolated\"}}"))
                .startsWith("tokenizer.json: pre_tokenizer.pattern.Regex: unsupported regex: ");
        assertThat(fail(withBpe + ",\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\","
                + "\"pattern\":{\"String\":\" \"},\"behavior\":\"Sideways\"}]}}"))
                .isEqualTo("tokenizer.json: pre_tokenizer.pretokenizers[0].behavior: unknown split behavior "
                        + "\"Sideways\"");
        assertThat(fail(withBpe + ",\"decoder\":{\"kind\":\"x\"}}")).isEqualTo("tokenizer.json: decoder.type: missing");
        assertThat(fail(withBpe + ",\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":"
                + "[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}]}}"))
                .isEqualTo("tokenizer.json: post_processor.single[0].SpecialToken.id: token \"<s>\" is not in the "
                        + "vocabulary");
        assertThat(fail(withBpe + ",\"added_tokens\":[{\"id\":-1,\"content\":\"x\"}]}"))
                .isEqualTo("tokenizer.json: added_tokens[0].id: expected a non-negative integer up to 16000000");
        assertThat(fail("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":2000000000},\"merges\":[]}}"))
                .isEqualTo("tokenizer.json: model.vocab[\"a\"]: id 2000000000 is too large");
    }

    @Test
    void missingFile() {
        assertThatThrownBy(() -> TokenizerJson.load(dir.resolve("nope.json")))
                .isInstanceOf(SparsaException.FormatException.class).hasMessageEndingWith("nope.json: no such file");
    }
}
