package dev.sparsa.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static dev.sparsa.cli.TrainKillResumeTest.cat;
import static dev.sparsa.cli.TrainFixture.with;
import static dev.sparsa.cli.TrainKillResumeTest.checkpoints;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checkpoints under damage: a flipped bit (in a tensor or in the metadata), a truncated file, a checkpoint of another
 * run (other --lr, --seq, model, data, method, λs), stale temp files, a write that fails mid-run. Each refused resume
 * is one line on stderr naming the file and the problem, and leaves every file as it was.
 */
class TrainCheckpointTest {
    @TempDir
    static Path tmp;
    static TrainFixture f;
    static Path base;
    static Path sparse;
    static final String[] RUN = {"--steps", "4", "--checkpoint-every", "1", "--keep-checkpoints", "3"};
    static final String[] SPARSE = {"--method", "prosparse", "--stage-steps", "1", "--lambdas", "0.1,0.2",
            "--fatrelu-threshold", "0", "--checkpoint-every", "1"};
    static int cases;

    @BeforeAll
    static void runs() {
        f = new TrainFixture(tmp.resolve("in"));
        base = tmp.resolve("base");
        CliRun r = CliRun.of(f.pretrain(base, RUN));
        assertThat(r.code()).as(r.err()).isZero();
        sparse = tmp.resolve("sparse");
        CliRun s = CliRun.of(f.sparsify(base, sparse, SPARSE));
        assertThat(s.code()).as(s.err()).isZero();
    }

    /** A copy of {@code from} to damage. */
    static Path copy(Path from) {
        return TrainFixture.copyTree(from, tmp.resolve("case" + cases++));
    }

    static Path ckpt(Path out, int step) {
        return out.resolve("checkpoints").resolve(String.format("step-%08d.safetensors", step));
    }

    /** Runs {@code args}, expects a refusal in one line holding {@code fragments}, and no file changed. */
    static void refused(Path out, String[] args, String... fragments) {
        Map<String, String> before = TrainFixture.snapshot(out);
        CliRun r = CliRun.of(args);
        assertThat(r.code()).as(r.err()).isNotZero();
        assertThat(r.err().lines().toList()).as(r.err()).hasSize(1);
        assertThat(r.err()).startsWith("sparsa: ").contains(fragments).doesNotContain("Exception", "internal error");
        assertThat(TrainFixture.snapshot(out)).as("files after the refused run").isEqualTo(before);
    }

    @Test
    void keepsTheNewestKAndNoTempFiles() throws IOException {
        assertThat(checkpoints(base)).containsExactly(2, 3, 4);
        assertThat(checkpoints(sparse)).containsExactly(1, 2);
        try (var s = Files.list(base.resolve("checkpoints"))) {
            assertThat(s.map(p -> p.getFileName().toString())).allMatch(n -> n.matches("step-\\d{8}\\.safetensors"));
        }
    }

    @Test
    void aFlippedBitInATensorIsCorrupt() throws IOException {
        Path out = copy(base);
        Path c = ckpt(out, 4);
        byte[] b = Files.readAllBytes(c);
        b[b.length - 1001] ^= 0x10;                                 // inside adam_v of the last parameter
        Files.write(c, b);
        refused(out, f.pretrain(out, cat(RUN, "--resume")), "step-00000004.safetensors", "corrupt: CRC-32C");
    }

    @Test
    void aFlippedDigitInTheMetadataIsCorrupt() throws IOException {
        Path out = copy(base);
        Path c = ckpt(out, 4);
        byte[] b = Files.readAllBytes(c);
        String head = new String(b, 0, 4096, StandardCharsets.ISO_8859_1);
        int at = head.indexOf("\"cursor\":\"") + "\"cursor\":\"".length();
        assertThat(b[at]).isBetween((byte) '0', (byte) '9');
        b[at] = (byte) (b[at] == '9' ? '8' : b[at] + 1);            // the data position, still valid JSON
        Files.write(c, b);
        refused(out, f.pretrain(out, cat(RUN, "--resume")), "step-00000004.safetensors", "corrupt: CRC-32C");
    }

    @Test
    void aTruncatedCheckpointIsNamed() throws IOException {
        Path out = copy(base);
        Path c = ckpt(out, 4);
        byte[] b = Files.readAllBytes(c);
        Files.write(c, Arrays.copyOf(b, b.length / 2));
        refused(out, f.pretrain(out, cat(RUN, "--resume")), "step-00000004.safetensors", "run past");
        Files.write(c, Arrays.copyOf(b, 5));
        refused(out, f.pretrain(out, cat(RUN, "--resume")), "step-00000004.safetensors", "truncated");
    }

    @Test
    void aFileThatIsNoCheckpointIsNamed() throws IOException {
        Path out = copy(base);
        Files.copy(out.resolve("model.safetensors"), ckpt(out, 9));
        refused(out, f.pretrain(out, cat(RUN, "--resume")), "step-00000009.safetensors",
                "not a Sparsa training checkpoint");
    }

    @Test
    void aCheckpointOfAnotherRunNamesTheOption() throws IOException {
        Path out = copy(base);
        String[] resume = f.pretrain(out, cat(RUN, "--resume"));
        refused(out, with(resume, "--lr", "2e-3"), "step-00000004.safetensors",
                "another run: --lr is 0.003 there, 0.002 now");
        refused(out, with(resume, "--seq", "8"), "--seq is 16 there, 8 now");
        refused(out, with(resume, "--steps", "6"), "--steps is 4 there, 6 now");
        refused(out, with(resume, "--micro-batches", "2"), "--micro-batches is 1 there, 2 now");
        refused(out, with(resume, "--seed", "7"), "--seed is 1234 there, 7 now");
        Path wide = Files.writeString(tmp.resolve("wide.json"), TrainFixture.CONFIG.replace("\"intermediate_size\": 64",
                "\"intermediate_size\": 96"));
        refused(out, with(resume, "--config", wide.toString()),
                "the model (config) differs: intermediateSize=64 there, intermediateSize=96 now");
        Path other = Files.write(tmp.resolve("other.txt"), Files.readAllLines(f.valText));
        refused(out, with(resume, "--text", other.toString()), "the training data (text and tokenizer) is ");
    }

    @Test
    void aSparsifyCheckpointOfAnotherMethodOrLambdas() {
        Path out = copy(sparse);
        refused(out, f.sparsify(base, out, "--method", "relu", "--steps", "2", "--checkpoint-every", "1",
                "--resume"), "step-00000002.safetensors", "another run: --method is prosparse there, relu now");
        refused(out, with(f.sparsify(base, out, cat(SPARSE, "--resume")), "--lambdas", "0.1,0.3"),
                "--lambdas is [0.1, 0.2] there, [0.1, 0.3] now");
    }

    @Test
    void staleTempFilesAndATornLogLineAreIgnored() throws IOException {
        Path out = copy(base);
        Files.delete(ckpt(out, 4));
        Path stale = Files.writeString(out.resolve("checkpoints").resolve(".step-00000004.safetensors.123.tmp"),
                "half a checkpoint");
        // the line a kill cut in the middle of its write
        Files.writeString(out.resolve("train-log.jsonl"), "{\"step\":5,\"ce\":5.1",
                java.nio.file.StandardOpenOption.APPEND);
        CliRun r = CliRun.of(f.pretrain(out, cat(RUN, "--resume")));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("resumed from", "step-00000003.safetensors");
        assertThat(stale).doesNotExist();
        assertThat(checkpoints(out)).containsExactly(2, 3, 4);
        assertThat(TrainKillResumeTest.stepLines(out)).isEqualTo(TrainKillResumeTest.stepLines(base));
        for (String file : List.of("model.safetensors", "checkpoints/step-00000004.safetensors")) {
            assertThat(TrainFixture.sha256(Files.readAllBytes(out.resolve(file)))).as(file)
                    .isEqualTo(TrainFixture.sha256(Files.readAllBytes(base.resolve(file))));
        }
    }

    @Test
    void aFailedCheckpointWriteKeepsThePreviousOne() throws IOException {
        Path out = tmp.resolve("blocked");
        // a directory where step 3's file goes: the write of step 3 fails mid-run, as on a full or broken disk
        Path blocker = Files.createDirectories(ckpt(out, 3));
        CliRun r = CliRun.of(f.pretrain(out, RUN));
        assertThat(r.code()).isNotZero();
        List<String> err = r.err().lines().toList();
        assertThat(err.getLast()).startsWith("sparsa: ").contains("step-00000003.safetensors", "cannot write")
                .doesNotContain("Exception");
        assertThat(out.resolve("model.safetensors")).doesNotExist();
        assertThat(checkpoints(out)).containsExactly(1, 2);
        assertThat(TrainFixture.sha256(Files.readAllBytes(ckpt(out, 2))))
                .isEqualTo(TrainFixture.sha256(Files.readAllBytes(ckpt(base, 2))));
        // the previous checkpoint is good: resumed from it, the run ends as the uninterrupted one
        Files.delete(blocker);
        CliRun again = CliRun.of(f.pretrain(out, cat(RUN, "--resume")));
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.err()).contains("step-00000002.safetensors");
        assertThat(TrainFixture.sha256(Files.readAllBytes(out.resolve("model.safetensors"))))
                .isEqualTo(TrainFixture.sha256(Files.readAllBytes(base.resolve("model.safetensors"))));
    }

    @Test
    void aNewRunDoesNotOverwriteAnotherRunsCheckpoints() {
        Path out = copy(base);
        refused(out, f.pretrain(out, RUN), "holds the checkpoints of an earlier run", "step-00000004.safetensors",
                "--resume");
        Path empty = tmp.resolve("never-ran");
        refused(empty, f.pretrain(empty, cat(RUN, "--resume")), "--resume: no checkpoint under");
        assertThat(empty).doesNotExist();
    }
}
