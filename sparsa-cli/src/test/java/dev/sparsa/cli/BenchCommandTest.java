package dev.sparsa.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Bad input to {@code sparsa bench} and {@code sparsa synth}: one line naming the problem, non-zero exit, no work. */
class BenchCommandTest {

    @TempDir
    Path tmp;

    private static void oneLineError(CliRun r, String... fragments) {
        assertThat(r.code()).as(r.err()).isNotZero();
        assertThat(r.err().strip().lines()).as(r.err()).hasSize(1);
        assertThat(r.err()).contains(fragments);
        assertThat(r.err()).as("fails before the bandwidth probe").doesNotContain("memory bandwidth");
    }

    @Test
    void benchRejectsMissingAndHostileModelsBeforeMeasuringAnything() throws Exception {
        oneLineError(CliRun.of("bench", "--model", tmp.resolve("nope").toString()), "nope", "no such file");
        Path bad = Files.writeString(tmp.resolve("bad.gguf"), "GGUX not a model");
        oneLineError(CliRun.of("bench", "--model", bad.toString()), "bad.gguf");
        Path truncated = Files.write(tmp.resolve("t.gguf"), new byte[] {'G', 'G', 'U', 'F', 3, 0});
        oneLineError(CliRun.of("bench", "--model", truncated.toString()), "t.gguf");
        oneLineError(CliRun.of("bench", "--model", tmp.toString()), "config.json");
    }

    @Test
    void benchRejectsBadNumbers() {
        oneLineError(CliRun.of("bench", "--model", tmp.toString(), "--decode-tokens", "1"), "--decode-tokens");
        oneLineError(CliRun.of("bench", "--model", tmp.toString(), "--reps", "0"), "--reps");
        oneLineError(CliRun.of("bench", "--model", tmp.toString(), "--ffn", "magic"), "magic");
    }

    @Test
    void synthRejectsUnknownShapeAndImpossibleSparsity() {
        Path out = tmp.resolve("m");
        oneLineError(CliRun.of("synth", "--shape", "huge", "--out", out.toString()), "huge");
        oneLineError(CliRun.of("synth", "--shape", "tiny", "--out", out.toString(), "--act", "fatrelu",
                "--sparsity", "1.5"), "--sparsity");
        assertThat(out).doesNotExist();
    }
}
