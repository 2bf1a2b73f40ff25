package dev.sparsa.cli;

import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code sparsa tokenizer train}: a small training run end to end, and bad input refused in one line. */
class TokenizerCommandTest {

    @TempDir
    Path tmp;

    private static final String TEXT = """
            The river ran low that summer, and the children walked along its bed.
            They found green stones, grey stones, and a single red stone.

            In the evenings the old ferryman told stories about the flood.
            "It's never been that high since," he said. Nobody believed him.
            """;

    private Path text() throws Exception {
        return Files.writeString(tmp.resolve("text.txt"), TEXT.repeat(3));
    }

    private static void oneLineError(CliRun r, String... fragments) {
        assertThat(r.code()).as(r.err()).isNotZero();
        assertThat(r.err().strip().lines()).as(r.err()).hasSize(1);
        assertThat(r.err()).contains(fragments);
        assertThat(r.out()).isEmpty();
    }

    private static String[] files(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toArray(String[]::new);
        }
    }

    @Test
    void trainsWritesBothFilesAndSummarizesInOneLine() throws Exception {
        Path out = tmp.resolve("tok").resolve("tokenizer.json");
        CliRun r = CliRun.of("tokenizer", "train", "--text", text().toString(), "--vocab", "300", "--out",
                out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out().strip().lines()).hasSize(1);
        assertThat(r.out()).contains("wrote " + out, "tokenizer_config.json", "300 tokens", "1 special",
                "<|endoftext|> = id 0", "text.txt (12 lines", "tokens/byte");
        assertThat(r.err()).contains("counting words", "merging", "measuring");
        assertThat(files(out.getParent())).containsExactly("tokenizer.json", "tokenizer_config.json");
        Tokenizer tok = TokenizerJson.load(out);
        assertThat(tok.vocabSize()).isEqualTo(300);
        assertThat(tok.eosId()).isZero();
        String s = "The children found a red stone <|endoftext|>";
        assertThat(tok.decode(tok.encode(s, false), false)).isEqualTo(s);
    }

    @Test
    void specialTokensAndMinFrequencyAreHonoured() throws Exception {
        Path out = tmp.resolve("tokenizer.json");
        CliRun r = CliRun.of("tokenizer", "train", "--text", text().toString(), "--vocab", "2000",
                "--min-frequency", "3", "--special", "<s>", "--special", "</s>", "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("2 special", "<s> = id 0");
        assertThat(r.err()).as("fewer tokens than asked: a warning").contains("warning: stopped at",
                "--min-frequency 3");
        Tokenizer tok = TokenizerJson.load(out);
        assertThat(tok.encode("</s>", false)).containsExactly(1);
        assertThat(tok.vocabSize()).isLessThan(2000);
    }

    @Test
    void helpListsTheOptions() {
        CliRun r = CliRun.of("tokenizer", "train", "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("--corpus", "--text", "--vocab", "--min-frequency", "--special", "--out");
        CliRun group = CliRun.of("tokenizer", "--help");
        assertThat(group.code()).isZero();
        assertThat(group.out()).contains("train");
        assertThat(CliRun.of("--help").out()).contains("tokenizer");
    }

    @Test
    void badOptionsAreRefusedBeforeAnyWork() throws Exception {
        Path text = text();
        Path dir = Files.createDirectories(tmp.resolve("out"));
        String out = dir.resolve("tokenizer.json").toString();
        oneLineError(CliRun.of("tokenizer", "train", "--text", text.toString(), "--vocab", "257", "--out", out),
                "--vocab 257", "must exceed 257");
        oneLineError(CliRun.of("tokenizer", "train", "--text", text.toString(), "--vocab", "258", "--special", "<a>",
                "--special", "<b>", "--out", out), "--vocab 258", "must exceed 258");
        oneLineError(CliRun.of("tokenizer", "train", "--text", text.toString(), "--vocab", "abc", "--out", out),
                "--vocab", "abc");
        oneLineError(CliRun.of("tokenizer", "train", "--text", text.toString(), "--min-frequency", "-1", "--out",
                out), "--min-frequency -1");
        oneLineError(CliRun.of("tokenizer", "train", "--text", text.toString(), "--special", "<s>", "--special",
                "<s>", "--out", out), "--special", "<s>", "twice");
        oneLineError(CliRun.of("tokenizer", "train", "--text", text.toString(), "--special", "a", "--out", out),
                "--special", "byte symbol");
        oneLineError(CliRun.of("tokenizer", "train", "--text", text.toString(), "--special", "", "--out", out),
                "--special", "empty");
        oneLineError(CliRun.of("tokenizer", "train", "--corpus", "brown-test", "--out", out), "--corpus brown-test",
                "unknown corpus");
        oneLineError(CliRun.of("tokenizer", "train", "--corpus", "brown-train", "--text", text.toString(), "--out",
                out), "mutually exclusive");
        oneLineError(CliRun.of("tokenizer", "train", "--text", text.toString()), "--out");
        oneLineError(CliRun.of("tokenizer", "train", "--text", tmp.resolve("none.txt").toString(), "--out", out),
                "none.txt", "no such file");
        assertThat(files(dir)).as("nothing written").isEmpty();
    }

    @Test
    void badTextsAndOutputsAreRefusedWithNothingHalfWritten() throws Exception {
        Path text = text();
        Path blank = Files.writeString(tmp.resolve("blank.txt"), "\n   \n\t\n");
        Path binary = Files.write(tmp.resolve("bad.txt"), new byte[] {'o', 'k', '\n', (byte) 0xC3, '(', '\n'});
        Path dir = Files.createDirectories(tmp.resolve("out"));
        Path existing = Files.writeString(dir.resolve("tokenizer.json"), "{\"old\": true}");
        String out = existing.toString();
        oneLineError(CliRun.of("tokenizer", "train", "--text", blank.toString(), "--out", out), "blank.txt",
                "empty text");
        oneLineError(CliRun.of("tokenizer", "train", "--text", binary.toString(), "--out", out), "bad.txt",
                "invalid UTF-8 at byte offset 3");
        oneLineError(CliRun.of("tokenizer", "train", "--text", text.toString(), "--out", dir.toString()),
                "--out " + dir, "is a directory");
        Path file = Files.writeString(tmp.resolve("plain"), "x");
        oneLineError(CliRun.of("tokenizer", "train", "--text", text.toString(), "--out",
                file.resolve("sub").resolve("tokenizer.json").toString()), "plain", "is not a directory");
        oneLineError(CliRun.of("tokenizer", "train", "--text", text.toString(), "--out",
                dir.resolve("tokenizer_config.json").toString()), "tokenizer_config.json", "taken");
        Path configDir = Files.createDirectories(tmp.resolve("cfg").resolve("tokenizer_config.json"));
        oneLineError(CliRun.of("tokenizer", "train", "--text", text.toString(), "--out",
                configDir.resolveSibling("tokenizer.json").toString()), "tokenizer_config.json", "is a directory");
        assertThat(Files.readString(existing)).as("the old file is untouched").isEqualTo("{\"old\": true}");
        assertThat(files(dir)).containsExactly("tokenizer.json");
    }
}
