package dev.sparsa.eval;

import dev.sparsa.SparsaException;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The protocol's token stream and windows on hand-checkable inputs. */
class TokenStreamTest {

    static final ByteTokenizer BYTES = ByteTokenizer.BYTES;

    static TokenStream stream(String... lines) {
        return BYTES.stream(lines);
    }

    @Test
    void eachLineIsFollowedByEosWhichCountsOneByte() {
        TokenStream s = stream("ab", "é"); // é = C3 A9
        assertThat(s.ids()).containsExactly('a' + 1, 'b' + 1, 0, 0xC3 + 1, 0xA9 + 1, 0);
        assertThat(s.tokenBytes()).containsExactly(1, 1, 1, 1, 1, 1);
        assertThat(s.totalBytes()).isEqualTo(6).isEqualTo(new Corpus("t", List.of("ab", "é")).bytes());
        assertThat(s.documents()).isEqualTo(2);
        assertThat(s.eosId()).isZero();
    }

    @Test
    void windowsFromTokenZeroWithTheLastPartialWindowKept() {
        TokenStream s = stream("abcd", "ef", "g"); // 5 + 3 + 2 = 10 tokens
        assertThat(s.size()).isEqualTo(10);
        EvalWindows w = EvalWindows.of(s, 4);
        assertThat(w.count()).isEqualTo(3);
        assertThat(new int[] {w.start(0), w.start(1), w.start(2)}).containsExactly(0, 4, 8);
        assertThat(new int[] {w.length(0), w.length(1), w.length(2)}).containsExactly(4, 4, 2);
        assertThat(w.ids(1)).containsExactly(0, 'e' + 1, 'f' + 1, 0); // "abcd" EOS | ... windows cross documents
        assertThat(w.predictedTokens()).isEqualTo(3 + 3 + 1);
        assertThat(w.predictedBytes()).isEqualTo(7);
        assertThat(w.predictedBytes(2)).isEqualTo(1); // the last EOS, predicted from "g"
    }

    @Test
    void aStreamOfExactlyOneWindow() {
        TokenStream s = stream("abcd"); // 5 tokens
        EvalWindows w = EvalWindows.of(s, 5);
        assertThat(w.count()).isEqualTo(1);
        assertThat(w.length(0)).isEqualTo(5);
        assertThat(w.predictedTokens()).isEqualTo(4);
        EvalWindows two = EvalWindows.of(stream("abcdefghi"), 5); // 10 tokens = exactly two windows
        assertThat(two.count()).isEqualTo(2);
        assertThat(two.length(1)).isEqualTo(5);
        assertThat(two.predictedTokens()).isEqualTo(8);
    }

    @Test
    void aCorpusShorterThanOneWindowIsOneWindow() {
        EvalWindows w = EvalWindows.of(stream("ab"), 256);
        assertThat(w.count()).isEqualTo(1);
        assertThat(w.length(0)).isEqualTo(3);
        assertThat(w.predictedTokens()).isEqualTo(2);
        assertThat(w.predictedBytes()).isEqualTo(2); // "b" and the EOS
    }

    @Test
    void aLastWindowOfOneTokenPredictsNothing() {
        EvalWindows w = EvalWindows.of(stream("abcd"), 4); // 5 tokens: 4 + 1
        assertThat(w.count()).isEqualTo(2);
        assertThat(w.length(1)).isEqualTo(1);
        assertThat(w.predictedBytes(1)).isZero();
        assertThat(w.predictedTokens()).isEqualTo(3);
    }

    @Test
    void predictedBytesAndTheWindowsFirstTokensMakeUpTheText() {
        TokenStream s = stream("The café — 10 €.", "日本語", "x");
        for (int ctx = 2; ctx < s.size() + 2; ctx++) {
            EvalWindows w = EvalWindows.of(s, ctx);
            long first = 0;
            for (int i = 0; i < w.count(); i++) {
                first += s.bytes(w.start(i));
            }
            assertThat(w.predictedBytes() + first).isEqualTo(s.totalBytes());
            assertThat(w.predictedTokens() + w.count()).isEqualTo(s.size());
        }
    }

    @Test
    void maxTokensCutsTheStream() {
        TokenStream s = TokenStream.of(new Corpus("t", List.of("abcd", "efgh", "ijkl")), BYTES, 0, 7);
        assertThat(s.size()).isEqualTo(7);
        assertThat(s.ids()).endsWith('e' + 1, 'f' + 1);
        assertThat(s.totalBytes()).isEqualTo(7);
        assertThat(s.documents()).isEqualTo(2);
    }

    @Test
    void documentBytesSettleTheDifferenceOnTheFirstTokens() {
        // each token claims 2 bytes more than it has: a prefix of sorts
        Tokenizer inflated = BYTES.withBytes(id -> id == 'a' + 1 ? 3 : 1);
        int[] out = new int[4];
        TokenStream.documentBytes(inflated, new int[] {'a' + 1, 'b' + 1, 'c' + 1}, 3, out, 1);
        assertThat(out).containsExactly(0, 1, 1, 1); // 3 + 1 + 1 = 5 > 3: −2 from the first token
        TokenStream.documentBytes(BYTES, new int[] {1, 2}, 5, out, 0);
        assertThat(out).startsWith(4, 1); // 2 < 5: +3 on the first token
        TokenStream.documentBytes(inflated, new int[] {2, 'a' + 1}, 1, out, 0);
        assertThat(out).startsWith(0, 1); // −3: the first token drops to 0, the second gives the rest
    }

    @Test
    void badInputIsAOneLineUsageError() {
        Corpus c = new Corpus("t", List.of("abc"));
        assertThatThrownBy(() -> TokenStream.of(c, BYTES, -1)).isInstanceOf(SparsaException.UsageException.class)
                .hasMessageContaining("no EOS token id");
        assertThatThrownBy(() -> TokenStream.of(new Corpus("empty", List.of()), BYTES, 0))
                .hasMessageContaining("empty: empty text");
        assertThatThrownBy(() -> TokenStream.of(c, BYTES, 0, 0)).hasMessageContaining("--max-tokens must be at least 1");
        TokenStream one = TokenStream.of(c, BYTES, 0, 1);
        assertThatThrownBy(() -> EvalWindows.of(one, 4)).isInstanceOf(SparsaException.UsageException.class)
                .hasMessageContaining("fewer than the 2 a prediction needs");
        assertThatThrownBy(() -> EvalWindows.of(stream("abc"), 1)).hasMessageContaining("--ctx must be at least 2");
    }
}
