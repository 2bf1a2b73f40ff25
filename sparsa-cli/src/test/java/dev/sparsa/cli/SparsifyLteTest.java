package dev.sparsa.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.model.LteRouters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * {@code sparsa sparsify --method lte} on the trainer's tiny SiLU model (FFN 64, experts of 16): two stages of 2 steps,
 * the routers saved beside the weights (lte_routers.safetensors, read back with the model's shape), train.json and
 * the log carry the method and its stages, the in-loop validation of a stage-2 step exists, and {@code eval --sparse
 * lte} on the saved F32 model reports the trainer's final validation (dense eval does not); {@code generate} and
 * {@code bench} run it with {@code --sparse lte}. Bad LTE options are one line each, before anything is written.
 */
class SparsifyLteTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void twoStagesThenEvalGenerateAndBenchRunTheRouters() throws Exception {
        TrainFixture f = new TrainFixture(tmp.resolve("in"));
        Path base = tmp.resolve("base");
        CliRun pre = CliRun.of(f.pretrain(base, "--steps", "2", "--checkpoint-every", "0"));
        assertThat(pre.code()).as(pre.err()).isZero();
        Path out = tmp.resolve("lte");
        CliRun sp = CliRun.of(f.sparsify(base, out, "--method", "lte", "--expert-size", "16", "--eta", "2",
                "--stage1-steps", "2", "--stage2-steps", "2", "--val-text", f.valText.toString(), "--val-every", "3",
                "--dtype", "f32", "--checkpoint-every", "0"));
        assertThat(sp.code()).as(sp.err()).isZero();
        assertThat(sp.out()).contains("steps      4 in", "final      bits/byte");
        assertThat(out.resolve(LteRouters.FILE)).isRegularFile();
        try (ModelFiles mf = ModelFiles.open(out)) {
            LteRouters r = LteRouters.read(out, mf.config());
            assertThat(r.expertSize()).isEqualTo(16);
            assertThat(r.experts()).isEqualTo(4);
            assertThat(r.tau()).isEqualTo(0.5f);
            assertThat(mf.config().hiddenAct()).isEqualTo("silu");
        }
        JsonNode tj = JSON.readTree(out.resolve("train.json").toFile());
        assertThat(tj.get("method").asText()).isEqualTo("lte");
        assertThat(tj.get("steps").asInt()).isEqualTo(4);
        assertThat(tj.get("routers").get("file").asText()).isEqualTo(LteRouters.FILE);
        assertThat(tj.get("routers").get("experts").asInt()).isEqualTo(4);
        JsonNode ms = tj.get("methodSummary");
        assertThat(ms.get("expertSize").asText()).isEqualTo("16");
        assertThat(ms.get("eta").asText()).isEqualTo("2.0");
        List<Integer> stages = new ArrayList<>();
        ms.get("log").forEach(e -> stages.add((int) e.get(1).asDouble()));
        assertThat(stages).containsExactly(1, 1, 2, 2);
        assertThat(tj.get("validations")).extracting(v -> v.get("step").asInt()).containsExactly(3, 4);
        double fin = tj.get("final").get("bitsPerByte").asDouble();

        CliRun ev = CliRun.of("eval", "--model", out.toString(), "--sparse", "lte", "--text", f.valText.toString(),
                "--ctx", "16", "--threads", "2", "--json");
        assertThat(ev.code()).as(ev.err()).isZero();
        JsonNode e = JSON.readTree(ev.out());
        assertThat(e.get("bitsPerByte").asDouble()).as("eval --sparse lte = the final validation").isCloseTo(fin,
                within(1e-9));
        assertThat(e.get("sparsity").asDouble()).isCloseTo(tj.get("final").get("sparsity").asDouble(), within(1e-9));
        CliRun dense = CliRun.of("eval", "--model", out.toString(), "--text", f.valText.toString(), "--ctx", "16",
                "--threads", "2", "--json");
        assertThat(dense.code()).as(dense.err()).isZero();
        assertThat(Math.abs(JSON.readTree(dense.out()).get("bitsPerByte").asDouble() - fin))
                .as("the routers change the loss").isGreaterThan(1e-6);

        CliRun gen = CliRun.of("generate", "--model", out.toString(), "--prompt-ids", "1,2,3", "--max-tokens", "4",
                "--sparse", "lte", "--json");
        assertThat(gen.code()).as(gen.err()).isZero();
        assertThat(JSON.readTree(gen.out()).get("ffn").asText()).isEqualTo("lte");
        CliRun bench = CliRun.of("bench", "--model", out.toString(), "--sparse", "lte", "--prompt-tokens", "8",
                "--decode-tokens", "4", "--reps", "1", "--warmup", "0", "--bandwidth-mib", "1", "--threads", "2");
        assertThat(bench.code()).as(bench.err()).isZero();
    }

    @Test
    void aResumedRunSavesTheSameWeightsAndRouters() throws Exception {
        TrainFixture f = new TrainFixture(tmp.resolve("in"));
        Path base = tmp.resolve("base");
        CliRun pre = CliRun.of(f.pretrain(base, "--steps", "1", "--checkpoint-every", "0"));
        assertThat(pre.code()).as(pre.err()).isZero();
        String[] opts = {"--method", "lte", "--expert-size", "16", "--eta", "4", "--stage1-steps", "3",
            "--stage2-steps", "2", "--dtype", "f32", "--checkpoint-every", "2"};
        Path whole = tmp.resolve("whole");
        CliRun a = CliRun.of(f.sparsify(base, whole, opts));
        assertThat(a.code()).as(a.err()).isZero();
        Path cut = tmp.resolve("cut");
        CliRun b = CliRun.of(f.sparsify(base, cut, opts));
        assertThat(b.code()).as(b.err()).isZero();
        Files.delete(cut.resolve("checkpoints").resolve("step-00000005.safetensors"));
        Files.delete(cut.resolve("checkpoints").resolve("step-00000004.safetensors"));
        Files.delete(cut.resolve(LteRouters.FILE));
        CliRun resumed = CliRun.of(TrainKillResumeTest.cat(f.sparsify(base, cut, opts), "--resume"));
        assertThat(resumed.code()).as(resumed.err()).isZero();
        assertThat(resumed.err()).contains("resumed from", "step 2 of 5");
        for (String file : List.of("model.safetensors", LteRouters.FILE)) {
            assertThat(cut.resolve(file)).as(file + " (the routers come back from the stage-1 checkpoint)")
                    .hasSameBinaryContentAs(whole.resolve(file));
        }
    }

    @Test
    void badLteOptionsAreOneLineAndWriteNothing() throws Exception {
        TrainFixture f = new TrainFixture(tmp.resolve("in"));
        Path base = tmp.resolve("base");
        CliRun pre = CliRun.of(f.pretrain(base, "--steps", "1", "--checkpoint-every", "0"));
        assertThat(pre.code()).as(pre.err()).isZero();
        Path out = tmp.resolve("bad");
        String[] ok = f.sparsify(base, out, "--method", "lte", "--expert-size", "16", "--stage1-steps", "1",
                "--stage2-steps", "1");
        String[][] cases = {
            {"--expert-size", "24", "--expert-size 24 must divide the model's FFN width 64"},
            {"--expert-size", "0", "--expert-size must be >= 1, got 0"},
            {"--eta", "-0.5", "--eta (LTE's efficiency coefficient) must be >= 0, got -0.5"},
            {"--stage1-steps", "-1", "--stage1-steps must be >= 0, got -1"},
            {"--stage2-steps", "-3", "--stage2-steps must be >= 0, got -3"},
            {"--steps", "5", "lte runs 1 + 1 = 2 steps; --steps 5 disagrees"},
            {"--fatrelu-threshold", "0", "--fatrelu-threshold applies to prosparse only"},
        };
        for (String[] c : cases) {
            EvalCommandTest.oneLineError(CliRun.of(TrainFixture.with(ok, c[0], c[1])), c[2]);
            assertThat(out).as(c[0] + " " + c[1]).doesNotExist();
        }
        String[] both = TrainFixture.with(TrainFixture.with(ok, "--stage1-steps", "0"), "--stage2-steps", "0");
        EvalCommandTest.oneLineError(CliRun.of(both), "--stage1-steps + --stage2-steps must be >= 1");
        String[] prosparse = f.sparsify(base, out, "--method", "prosparse", "--fatrelu-threshold", "0", "--eta", "1");
        EvalCommandTest.oneLineError(CliRun.of(prosparse), "--eta applies to lte only (not prosparse)");
        assertThat(out).doesNotExist();
    }
}
