package dev.sparsa.io.tokenizer;

import dev.sparsa.SparsaException;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The generated tokenizer of random-weight models: exact vocabulary size, loads, round-trips text. */
class SyntheticTokenizerTest {

    @Test
    void hasExactlyTheVocabularySizeAndRoundTripsText() {
        for (int vocab : new int[] {339, 4096, 32000}) {
            Tokenizer tok = TokenizerJson.load(new ByteArrayInputStream(SyntheticTokenizer.json(vocab)), "synthetic");
            assertThat(tok.vocabSize()).as("vocab %d", vocab).isEqualTo(vocab);
            assertThat(tok.bosId()).isEqualTo(1);
            for (String s : new String[] {"hello world", "Sparse models, 42 of them!", "ünïcode → bytes"}) {
                int[] ids = tok.encode(s, true);
                assertThat(ids[0]).isEqualTo(1);
                assertThat(tok.decode(ids, true)).as("vocab %d: %s", vocab, s).isEqualTo(s);
            }
        }
    }

    @Test
    void aVocabularyTooSmallForTheBytesIsAUsageError() {
        assertThatThrownBy(() -> SyntheticTokenizer.json(100)).isInstanceOf(SparsaException.UsageException.class)
                .hasMessage("synthetic tokenizer: vocabulary of 100 is too small (min 339)");
    }
}
