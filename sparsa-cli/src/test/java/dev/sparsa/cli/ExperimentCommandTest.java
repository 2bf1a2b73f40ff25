package dev.sparsa.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.experiment.DenseLlamaCache;
import dev.sparsa.experiment.TinyDense;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * {@code sparsa experiment sparsify} end to end on the tiny dense model and generated text (every method, a
 * two-point λ sweep, a few steps each: seconds), the structure and ranges of results.json, the report and the
 * Markdown section, resuming, and the one-line errors. The --quick variant itself (a micro-llama pretrained on Brown,
 * ~5 minutes) is run by hand: EXPERIMENTS.md.
 */
class ExperimentCommandTest {

    @TempDir
    static Path tmp;
    static DenseLlamaCache.Entry model;
    static Path train;
    static Path valid;

    @BeforeAll
    static void tinyModel() throws Exception {
        model = TinyDense.model(tmp.resolve("cache"));
        train = TinyDense.write(TinyDense.train(), tmp.resolve("train.txt"));
        valid = TinyDense.write(TinyDense.valid(), tmp.resolve("valid.txt"));
    }

    static List<String> args(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("experiment", "sparsify", "--model", model.dir().toString(),
                "--text", train.toString(), "--val-text", valid.toString(), "--steps", "4", "--stage-steps", "2",
                "--lambdas", "0.5,2", "--lambda-scales", "0.5,1", "--batch", "2", "--seq", "32", "--warmup", "1",
                "--val-tokens", "400", "--threads", "1", "--out", out.toString()));
        a.addAll(List.of(more));
        return a;
    }

    @Test
    void everyMethodIsTrainedAndEvaluatedAlikeAndTheResultsAreInRange() throws Exception {
        Path out = tmp.resolve("exp");
        CliRun r = CliRun.of(args(out).toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        assertThat(j.get("schema").asText()).isEqualTo("sparsa.experiment.sparsify/1");
        JsonNode setup = j.get("setup");
        assertThat(setup.get("model").asText()).isEqualTo(model.dir().getFileName().toString());
        assertThat(setup.get("modelSource").asText()).isEqualTo("given");
        assertThat(setup.get("quick").asBoolean()).isFalse();
        assertThat(setup.get("contextLength").asInt()).isEqualTo(32);
        assertThat(setup.get("validTokens").asLong()).isEqualTo(400 - 13);     // 13 windows of 32 predict n - 1
        JsonNode dense = j.get("dense");
        double denseBpb = dense.get("bitsPerByte").asDouble();
        assertThat(denseBpb).isBetween(0.1, 20.0);
        assertThat(dense.get("sparsity").asDouble()).isLessThan(0.01);        // SiLU: (almost) no exact zero
        List<String> ids = new ArrayList<>();
        j.get("runs").forEach(run -> ids.add(run.get("id").asText()));
        assertThat(ids).containsExactly("dense", "relu", "relu2", "relufy", "drelu", "prosparse",
                "prosparse+distill", "prosparse-x0.5");
        for (JsonNode run : j.get("runs")) {
            String id = run.get("id").asText();
            int steps = run.get("steps").asInt();
            assertThat(steps).as(id).isEqualTo(4);                            // 2 stages x 2 for prosparse
            assertThat(run.get("curve").get("ce")).as(id).hasSize(steps);
            assertThat(run.get("curve").get("sparsity")).as(id).hasSize(steps);
            for (String at : List.of("atZero", "chosen")) {
                JsonNode e = run.get(at);
                double bpb = e.get("bitsPerByte").asDouble();
                assertThat(bpb).as(id + " " + at).isBetween(0.1, 20.0);
                assertThat(e.get("sparsity").asDouble()).as(id + " " + at).isBetween(0.0, 1.0);
                assertThat(e.get("sparsityPerLayer")).hasSize(2);
                assertThat(e.get("delta").asDouble()).as(id + " " + at).isCloseTo(bpb / denseBpb - 1, within(1e-12));
                assertThat(e.get("threshold").asDouble()).isGreaterThanOrEqualTo(0);
            }
            assertThat(run.get("atZero").get("threshold").asDouble()).isZero();
            String rule = run.get("thresholdRule").asText();
            switch (id) {
                case "dense", "relu2", "drelu" -> {
                    assertThat(rule).as(id).isEqualTo("none");
                    assertThat(run.get("chosen")).as(id).isEqualTo(run.get("atZero"));
                }
                case "relu", "relufy" -> assertThat(rule).as(id).isEqualTo("post-hoc-auto");
                default -> assertThat(rule).as(id).isEqualTo("prosparse-auto");
            }
            if (!rule.equals("none")) {
                // a threshold only removes more: sparsity at T >= at 0; and the grid starts at T = 0
                assertThat(run.get("chosen").get("sparsity").asDouble()).as(id)
                        .isGreaterThanOrEqualTo(run.get("atZero").get("sparsity").asDouble());
                assertThat(run.get("methodSummary").get("thresholdGrid").get(0).get("threshold").asDouble()).isZero();
                // within the tolerance (1%) of the same model at T = 0
                assertThat(run.get("chosen").get("bitsPerByte").asDouble()).as(id)
                        .isLessThanOrEqualTo(run.get("atZero").get("bitsPerByte").asDouble() * 1.01 + 1e-12);
            }
            if (!id.equals("dense")) {
                assertThat(run.get("atZero").get("sparsity").asDouble()).as(id).isGreaterThan(0.05);
            }
        }
        JsonNode ps = j.get("runs").get(5);
        JsonNode half = j.get("runs").get(7);
        assertThat(ps.get("lambdas").get(1).asDouble()).isEqualTo(2.0);
        assertThat(half.get("lambdas").get(1).asDouble()).isEqualTo(1.0);
        assertThat(half.get("group").asText()).isEqualTo("sweep");
        assertThat(half.get("curve").get("lambda").get(3).asDouble()).isCloseTo(1.0, within(1e-6));
        assertThat(j.get("runs").get(6).get("distill").asDouble()).isEqualTo(0.5);
        assertThat(j.get("runs").get(6).get("curve").get("kl").get(0).asDouble()).isPositive();
        assertThat(ps.get("curve").get("kl").get(0).asDouble()).isZero();
        String html = Files.readString(out.resolve("report.html"));
        assertThat(html).startsWith("<!DOCTYPE html>").contains("<svg", "Sparsity vs Δ bits/byte", "λ sweep",
                "Training CE, methods", "Training sparsity, λ sweep", "Threshold search", "prosparse+distill");
        assertThat(html).doesNotContain("<script", "http://", "https://", "src=", "NaN");
        String md = Files.readString(out.resolve("section.md"));
        assertThat(r.out()).contains(md.strip(), "results:", "report:");
        assertThat(md).contains("./sparsa experiment sparsify --model", "| run | steps |", "| prosparse+distill | 4 |",
                "λ sweep", "Goal (prosparse + distill");
        assertThat(r.err()).contains("run 1/8: dense", "run 8/8: prosparse-x0.5", "ETA");
        ReportAgain.sameAsWritten(out.resolve("results.json"), tmp.resolve("again"));

        // --resume takes every finished run from OUT/runs/ (no training) and gives the same runs
        CliRun again2 = CliRun.of(args(out, "--resume").toArray(String[]::new));
        assertThat(again2.code()).as(again2.err()).isZero();
        assertThat(again2.err()).contains("resumed prosparse-x0.5").doesNotContain("run 1/8");
        JsonNode k = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        assertThat(k.get("runs")).isEqualTo(j.get("runs"));
        assertThat(k.get("dense")).isEqualTo(j.get("dense"));
        // ... but not runs made under other options
        CliRun other = CliRun.of(args(out, "--resume", "--lr", "2e-3").toArray(String[]::new));
        assertThat(other.code()).isEqualTo(2);
        List<String> lines = other.err().strip().lines().toList();
        assertThat(lines.getLast()).startsWith("sparsa: ").contains("runs/", "made with other options");
    }

    @Test
    void badOptionsAreOneLineAndWriteNothing() {
        Path out = tmp.resolve("never");
        String[][] cases = {
                {"experiment", "sparsify", "--out", out.toString()},
                {"experiment", "sparsify", "--model", "x", "--methods", "dense,lasso", "--out", out.toString()},
                {"experiment", "sparsify", "--model", "x", "--methods", "relu,relu", "--out", out.toString()},
                {"experiment", "sparsify", "--model", "x", "--lambda-scales", "1,0", "--out", out.toString()},
                {"experiment", "sparsify", "--model", "x", "--steps", "1", "--out", out.toString()},
                {"experiment", "sparsify", "--model", "x", "--distill", "0", "--out", out.toString()},
                {"experiment", "sparsify", "--model", "x", "--text", "t.txt", "--out", out.toString()},
                {"experiment", "sparsify", "--model", tmp.resolve("absent").toString(), "--text", train.toString(),
                        "--val-text", valid.toString(), "--out", out.toString()},
                {"experiment", "sparsify", "--model", model.dir().toString(), "--text", train.toString(),
                        "--val-text", valid.toString(), "--seq", "65", "--out", out.toString()},
        };
        String[] expect = {"--model DIR is required", "unknown method 'lasso'", "listed twice",
                "--lambda-scales", "--steps must be >= 2", "--distill must be in (0, 1]", "--text and --val-text",
                "absent", "--seq 65 exceeds"};
        for (int i = 0; i < cases.length; i++) {
            CliRun r = CliRun.of(cases[i]);
            assertThat(r.code()).as(String.join(" ", cases[i])).isEqualTo(2);
            assertThat(r.err().strip()).as(String.join(" ", cases[i])).startsWith("sparsa: ").contains(expect[i])
                    .doesNotContain("\n", "Exception");
        }
        assertThat(out).doesNotExist();
        CliRun group = CliRun.of("experiment");
        assertThat(group.code()).isZero();
        assertThat(group.out()).contains("sparsify");
    }
}
