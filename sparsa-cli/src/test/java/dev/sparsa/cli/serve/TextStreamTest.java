package dev.sparsa.cli.serve;

import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link Detokenizer} and {@link StopStrings}: text token by token, held back where it must be. */
class TextStreamTest {
    @TempDir
    Path tmp;

    @Test
    void tokenByTokenTextEqualsTheWholeDecode() throws Exception {
        Path dir = ServeFixture.model(tmp.resolve("m"), "silu", 1, false);
        Tokenizer tok = TokenizerJson.load(dir.resolve("tokenizer.json"));
        String text = " lazy dog, é中文 — saves nine.";
        int[] prompt = tok.encode("The quick brown fox", false);
        int[] gen = tok.encode(text, false);
        Detokenizer d = new Detokenizer(tok, prompt);
        StringBuilder out = new StringBuilder();
        int held = 0;
        for (int id : gen) {
            String piece = d.push(id);
            held += piece.isEmpty() ? 1 : 0;
            assertThat(piece).doesNotContain("\uFFFD");
            out.append(piece);
        }
        out.append(d.flush());
        assertThat(out.toString()).isEqualTo(text).isEqualTo(tok.decode(gen, true));
        assertThat(held).as("multi-byte characters split over byte tokens are held back").isPositive();
    }

    @Test
    void stopStringsAreCutAcrossPiecesAndPrefixesAreHeldBack() {
        StopStrings s = new StopStrings(List.of("END", "\n\n"));
        assertThat(s.push("Hello E")).isEqualTo("Hello ");        // "E" may start END
        assertThat(s.push("N")).isEmpty();
        assertThat(s.push("ough")).isEqualTo("ENough");           // it did not
        assertThat(s.push(" then\n")).isEqualTo(" then");
        assertThat(s.push("\nmore")).isEmpty();                   // "\n\n" completed: the text ends before it
        assertThat(s.stopped()).isTrue();
        assertThat(s.push("x")).isEmpty();
        StopStrings t = new StopStrings(List.of("xyz"));
        assertThat(t.push("abx")).isEqualTo("ab");
        assertThat(t.flush()).isEqualTo("x");                    // the end: what was held back comes out
        assertThat(t.stopped()).isFalse();
        StopStrings u = new StopStrings(List.of("b", "abc"));
        assertThat(u.push("zab")).isEqualTo("za");                // the earliest stop string wins
        assertThat(u.stopped()).isTrue();
        assertThat(new StopStrings(List.of()).push("anything")).isEqualTo("anything");
    }
}
