package dev.sparsa.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparsa.model.LteRouters;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.sparsa.cli.NeuronExperimentsTest.JSON;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * {@code sparsa experiment lte} end to end on the tiny dense model and generated text (a few seconds; --quick needs
 * Brown and the cached micro-llama and is run by hand, EXPERIMENTS.md): the structure and ranges of results.json
 * (every run's curves, every point's bits/byte, FLOPs and shares, consistent with each other; a higher τ computes
 * no more), the report and section, the saved model running under {@code eval --sparse lte}, {@code --resume}, and
 * the one-line errors for bad input.
 */
class LteExperimentTest {
    @org.junit.jupiter.api.io.TempDir
    static Path tmp;
    static dev.sparsa.experiment.DenseLlamaCache.Entry model;
    static Path train;
    static Path valid;

    @org.junit.jupiter.api.BeforeAll
    static void tinyModel() throws Exception {
        model = dev.sparsa.experiment.TinyDense.model(tmp.resolve("cache"));
        train = dev.sparsa.experiment.TinyDense.write(dev.sparsa.experiment.TinyDense.train(), tmp.resolve("train.txt"));
        valid = dev.sparsa.experiment.TinyDense.write(dev.sparsa.experiment.TinyDense.valid(), tmp.resolve("valid.txt"));
    }

    static java.util.List<String> base(Path out, String... more) {
        java.util.List<String> a = new java.util.ArrayList<>(java.util.List.of("experiment", "lte", "--model",
                model.dir().toString(), "--seq", "16", "--batch", "2", "--warmup", "1", "--val-tokens", "200",
                "--threads", "1", "--out", out.toString(), "--val-text", valid.toString(), "--text", train.toString(),
                "--stage1-steps", "3", "--stage2-steps", "2", "--lambdas", "0.05"));
        a.addAll(java.util.List.of(more));
        return a;
    }

    static java.util.List<String> args(Path out, String... more) {
        java.util.List<String> a = base(out, "--expert-size", "8", "--etas", "0.5,8", "--taus", "0.3,0.5,0.7");
        a.addAll(java.util.List.of(more));
        return a;
    }

    static JsonNode run(java.util.List<String> args, Path out) throws Exception {
        CliRun r = CliRun.of(args.toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = JSON.readTree(out.resolve("results.json").toFile());
        String html = Files.readString(out.resolve("report.html"));
        assertThat(html).startsWith("<!DOCTYPE html>").contains("<svg", "<table");
        assertThat(html).doesNotContain("<script", "http://", "https://", "NaN", "Infinity");
        String md = Files.readString(out.resolve("section.md"));
        assertThat(md).contains("./sparsa experiment lte", "|---|");
        assertThat(r.out()).contains(md.strip(), "results:", "report:");
        ReportAgain.sameAsWritten(out.resolve("results.json"), tmp.resolve("lte-again"));
        return j;
    }

    @Test
    void lteAgainstProSparseWithCountedFlops() throws Exception {
        Path out = tmp.resolve("lte");
        JsonNode j = run(args(out), out);
        assertThat(j.get("schema").asText()).isEqualTo("sparsa-experiment-lte/1");
        JsonNode s = j.get("setup");
        assertThat(s.get("experts").asInt()).isEqualTo(8);
        NeuronExperimentsTest.bpb(j.get("denseBitsPerByte"), "dense");
        assertThat(j.get("runs")).extracting(r -> r.get("id").asText())
                .containsExactly("lte-eta-0.5", "lte-eta-8.0", "prosparse-lambda-0.05");
        for (JsonNode r : j.get("runs")) {
            assertThat(r.get("ce")).hasSize(5);
            if (r.get("method").asText().equals("lte")) {
                assertThat(r.get("stage").toString()).isEqualTo("[1,1,1,2,2]");
                for (JsonNode v : r.get("selectedShare")) {
                    assertThat(v.asDouble()).isBetween(0.0, 1.0);
                }
            }
        }
        int d = 32;
        int f = 64;
        double dense = 3.0 * d * f * 2;
        double lastShare = 2;
        for (JsonNode p : j.get("points")) {
            String what = p.get("run").asText() + " " + p.get("threshold").asDouble();
            NeuronExperimentsTest.bpb(p.get("bitsPerByte"), what);
            double fl = p.get("flopsPerToken").asDouble();
            assertThat(p.get("flopsShare").asDouble()).as(what).isCloseTo(fl / dense, within(1e-9));
            double c = p.get("computedShare").asDouble();
            assertThat(c).as(what).isBetween(0.0, 1.0);
            if (p.get("method").asText().equals("lte")) {
                // router 8·32 per layer + 3·8·32 per selected expert: the share follows from the computed share
                assertThat(fl).as(what).isCloseTo(2 * (8.0 * d + c * 8 * 3 * 8 * d), within(1e-6 * dense));
                if (p.get("threshold").asDouble() > 0.3) {
                    assertThat(c).as(what + ": a higher τ computes no more").isLessThanOrEqualTo(lastShare);
                }
                lastShare = c;
            } else {
                assertThat(fl).as(what).isCloseTo(2 * (d * f + c * f * 2.0 * d), within(1e-6 * dense));
            }
        }
        assertThat(j.get("comparisons")).hasSize(6);
        Path saved = out.resolve("models").resolve("lte-eta-8.0");
        assertThat(LteRouters.present(saved)).isTrue();
        CliRun e = CliRun.of("eval", "--model", saved.toString(), "--sparse", "lte", "--text",
                valid.toString(), "--ctx", "16", "--json");
        assertThat(e.code()).as(e.err()).isZero();
        double bpbEval = JSON.readTree(e.out()).get("bitsPerByte").asDouble();
        NeuronExperimentsTest.bpb(JSON.readTree(e.out()).get("bitsPerByte"), "eval --sparse lte");
        assertThat(bpbEval).isPositive();

        // --resume takes every finished run from OUT/runs/
        CliRun again = CliRun.of(args(out, "--resume").toArray(String[]::new));
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(JSON.readTree(out.resolve("results.json").toFile()).get("points")).isEqualTo(j.get("points"));
    }

    @Test
    void badInputIsOneLine() throws Exception {
        Path out = tmp.resolve("lte-bad");
        EvalCommandTest.oneLineError(CliRun.of(base(out, "--expert-size", "7").toArray(String[]::new)),
                "--expert-size 7 must divide");
        EvalCommandTest.oneLineError(CliRun.of(base(out.resolveSibling("lte-bad2"), "--etas", "-1")
                .toArray(String[]::new)), "--etas");
        EvalCommandTest.oneLineError(CliRun.of(base(out.resolveSibling("lte-bad3"), "--taus", "1.5")
                .toArray(String[]::new)), "--taus");
        EvalCommandTest.oneLineError(CliRun.of("eval", "--model", model.dir().toString(),
                "--sparse", "lte", "--text", valid.toString()), "sparsa experiment lte");
        assertThat(Files.exists(out.resolve("results.json"))).isFalse();
    }
}
