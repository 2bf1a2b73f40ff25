package dev.sparsa.cli;

import dev.sparsa.SparsaException.UsageException;
import dev.sparsa.io.Fetch;
import dev.sparsa.io.onnx.Encoders;
import dev.sparsa.io.onnx.MiniLm;
import dev.sparsa.profile.adapter.BertProfiledModel;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code profile --max-length N} for encoders: windows follow the tokenizer.json's truncation (all-MiniLM-L6-v2
 * declares 128: 126 content tokens and [CLS], [SEP]) with a notice saying so, or N when given; bad values and
 * non-encoders are one-line errors.
 */
class ProfileMaxLengthTest {
    @TempDir
    static Path cache;
    static Encoders.Resolved miniLm;

    @BeforeAll
    static void fetch() {
        MiniLm.Files f = MiniLm.fetch(new Fetch(cache, new PrintStream(new ByteArrayOutputStream())));
        miniLm = new Encoders.Resolved("minilm", f.model(), f.tokenizer());
    }

    @Test
    void windowsFollowTheTruncationOrMaxLengthWithANotice() {
        List<String> notes = new ArrayList<>();
        try (Parallel par = new Parallel(1)) {
            BertProfiledModel byTokenizer = BertProfiledModel.open(miniLm, par, 0, notes::add);
            assertThat(byTokenizer.contextLength()).isEqualTo(126);
            BertProfiledModel cut = BertProfiledModel.open(miniLm, par, 16, notes::add);
            assertThat(cut.contextLength()).isEqualTo(14);
        }
        assertThat(notes).containsExactly(
                "minilm: windows of 126 tokens (128 with 2 special tokens), the truncation max_length of "
                        + miniLm.tokenizer().getFileName() + " (--max-length to change)",
                "minilm: windows of 14 tokens (16 with 2 special tokens), --max-length");
    }

    @Test
    void badMaxLengthsAreRefused() {
        try (Parallel par = new Parallel(1)) {
            assertThatThrownBy(() -> BertProfiledModel.open(miniLm, par, 513, s -> { }))
                    .isInstanceOf(UsageException.class).hasMessage("--max-length 513 exceeds minilm's 512 positions");
            assertThatThrownBy(() -> BertProfiledModel.open(miniLm, par, 2, s -> { }))
                    .isInstanceOf(UsageException.class)
                    .hasMessage("--max-length 2 leaves no room for text beside the 2 special tokens");
        }
    }

    @Test
    void theCliRefusesMaxLengthForNonEncodersAndNonPositiveValuesInOneLine(@TempDir Path dir) throws Exception {
        Path text = ProfileCommandTest.text(dir, 30);
        Path out = dir.resolve("never");
        String[][] cases = {
                {"toy-relu", "16", "sparsa: --max-length 16: only for BERT encoders (a decoder's windows are its "
                        + "context), not toy-relu"},
                {"toy-gelu", "0", "sparsa: --max-length must be positive, got 0"},
        };
        for (String[] c : cases) {
            ProfileCommandTest.Run r = ProfileCommandTest.cli("profile", "--model", c[0], "--max-length", c[1],
                    "--text", text.toString(), "--tokens", "256", "--out", out.toString());
            assertThat(r.code()).isEqualTo(2);
            assertThat(r.err().strip()).isEqualTo(c[2]);
        }
        // --attribution needs a backward (a Llama folder or a BERT encoder): the toy models are refused before any run
        for (String toy : new String[]{"toy-relu", "toy-gelu"}) {
            ProfileCommandTest.Run r = ProfileCommandTest.cli("profile", "--model", toy, "--attribution", "--out",
                    out.toString());
            assertThat(r.code()).isEqualTo(2);
            assertThat(r.err().strip()).isEqualTo("sparsa: --attribution needs a backward, and the toy models have "
                    + "none; use it with a Llama folder or a BERT encoder");
        }
        assertThat(out).doesNotExist();
        ProfileCommandTest.Run help = ProfileCommandTest.cli("profile", "--help");
        assertThat(help.out()).contains("--max-length=N");
    }
}
