package dev.sparsa.profile;

import dev.sparsa.SparsaException;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.profile.toy.ToyModel;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WindowsTest {
    private final ToyModel toy = ToyModel.of("toy-relu");

    @Test
    void cutsTheTokenStreamIntoFullWindowsAndCountsBytes() {
        // Byte tokenizer: "abcd" = 4 tokens + newline byte counted in bytes only.
        Corpus c = new Corpus("t", List.of("abcd", "efghij", "kl"));
        Windows w = Windows.of(c, toy.tokenizer(), 3, 100);
        assertThat(w.windows()).hasSize(4);
        assertThat(w.tokens()).isEqualTo(12);
        assertThat(w.windows().get(1)).containsExactly('d', 'e', 'f');
        assertThat(w.bytes()).isEqualTo(5 + 7 + 3);
        Windows budget = Windows.of(c, toy.tokenizer(), 3, 7); // 2 windows = 6 tokens: "abcd" + 2 of "efghij"
        assertThat(budget.windows()).hasSize(2);
        assertThat(budget.bytes()).isEqualTo(5 + Math.round(7 * 2 / 6.0));
    }

    @Test
    void badBudgetsAndShortTextsAreClearErrors() {
        Corpus c = new Corpus("short.txt", List.of("ab"));
        assertThatThrownBy(() -> Windows.of(c, toy.tokenizer(), 64, 0))
                .isInstanceOf(SparsaException.UsageException.class).hasMessage("--tokens must be at least 1, got 0");
        assertThatThrownBy(() -> Windows.of(c, toy.tokenizer(), 64, 10))
                .hasMessage("--tokens 10 is less than one context window (64 tokens)");
        assertThatThrownBy(() -> Windows.of(c, toy.tokenizer(), 64, 1000))
                .hasMessage("short.txt: the text has 2 tokens, fewer than one context window (64 tokens)");
    }
}
