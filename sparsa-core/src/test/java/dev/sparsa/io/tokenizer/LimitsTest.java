package dev.sparsa.io.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.SparsaException.FormatException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** tokenizer.json's truncation and padding, and cutting a single sequence as Hugging Face tokenizers does. */
class LimitsTest {
    private static Limits parse(String json) throws Exception {
        return Limits.of(new ObjectMapper().readTree(json), "t.json");
    }

    @Test
    void readsMiniLmsTruncationAndPadding() throws Exception {
        Limits l = parse("{\"truncation\": {\"direction\": \"Right\", \"max_length\": 128, \"strategy\": "
                + "\"LongestFirst\", \"stride\": 0}, \"padding\": {\"strategy\": {\"Fixed\": 128}, \"direction\": "
                + "\"Right\", \"pad_to_multiple_of\": null, \"pad_id\": 0, \"pad_type_id\": 0, \"pad_token\": "
                + "\"[PAD]\"}}");
        assertThat(l).isEqualTo(new Limits(128, false, 128, false, 0, 0));
        assertThat(l.pads()).isTrue();
        assertThat(l.padTo(9)).isEqualTo(128);
        assertThat(parse("{\"truncation\": null, \"padding\": null}")).isEqualTo(Limits.NONE);
        assertThat(parse("{\"padding\": {\"strategy\": \"BatchLongest\", \"pad_id\": 3}}").padLongest()).isTrue();
    }

    @Test
    void truncationKeepsTheSpecialTokensAndCutsTheContent() {
        int[] ids = {101, 1, 2, 3, 4, 5, 102};
        assertThat(new Limits(5, false, 0, false, 0, 0).truncate(ids, 1, 1)).containsExactly(101, 1, 2, 3, 102);
        assertThat(new Limits(5, true, 0, false, 0, 0).truncate(ids, 1, 1)).containsExactly(101, 3, 4, 5, 102);
        assertThat(new Limits(7, false, 0, false, 0, 0).truncate(ids, 1, 1)).isSameAs(ids);
        assertThat(Limits.NONE.truncate(ids, 1, 1)).isSameAs(ids);
        assertThat(new Limits(2, false, 0, false, 0, 0).truncate(ids, 1, 1)).containsExactly(101, 102);
    }

    @Test
    void badFieldsAreNamed() {
        assertThatThrownBy(() -> parse("{\"truncation\": {\"max_length\": -1}}")).isInstanceOf(FormatException.class)
                .hasMessageContaining("truncation.max_length");
        assertThatThrownBy(() -> parse("{\"padding\": {\"strategy\": \"Sideways\"}}"))
                .hasMessageContaining("padding.strategy");
    }
}
