package dev.sparsa.cli;

import com.fasterxml.jackson.databind.JsonNode;
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
 * {@code sparsa experiment clnp|sparcl} end to end on the tiny dense model's shape and two generated task texts (a
 * test-only size, seconds; the --quick variants need Brown and the cached micro-llama and are run by hand,
 * EXPERIMENTS.md): every run's accuracy matrix in range with the baselines beside the method, the metrics, CLNP's
 * task-1 bits/byte unchanged by task 2 (its network is frozen and isolated), SparCL's counted multiply-adds below
 * replay's, the report and section, resuming, and the one-line errors.
 */
class ClExperimentsTest {
    @TempDir
    static Path tmp;
    static DenseLlamaCache.Entry model;
    static Path p1;
    static Path p2;

    @BeforeAll
    static void texts() throws Exception {
        model = TinyDense.model(tmp.resolve("cache"));
        p1 = TinyDense.write(TinyDense.corpus("first", 200, 21), tmp.resolve("cl-first.txt"));
        p2 = TinyDense.write(TinyDense.corpus("second", 200, 22), tmp.resolve("cl-second.txt"));
    }

    static JsonNode run(List<String> args, Path out) throws Exception {
        CliRun r = CliRun.of(args.toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = NeuronExperimentsTest.JSON.readTree(out.resolve("results.json").toFile());
        String html = Files.readString(out.resolve("report.html"));
        assertThat(html).startsWith("<!DOCTYPE html>").contains("<svg", "<table", "Accuracy matrices");
        assertThat(html).doesNotContain("<script", "http://", "https://", "NaN", "Infinity");
        String md = Files.readString(out.resolve("section.md"));
        assertThat(md).contains("./sparsa experiment " + args.get(1), "|---|", "avg final bits/byte");
        assertThat(r.out()).contains(md.strip(), "results:", "report:");
        Path again = tmp.resolve(args.get(1) + "-again.html");
        assertThat(CliRun.of("report", out.resolve("results.json").toString(), "--out", again.toString()).code())
                .isZero();
        assertThat(Files.readString(again)).isEqualTo(html);
        return j;
    }

    static List<String> args(String name, Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("experiment", name, "--model",
                model.dir().toString(), "--seq", "16", "--batch", "2", "--warmup", "1",
                "--val-tokens", "200", "--threads", "1", "--epochs", "2", "--windows-per-task", "8", "--replay-rows",
                "1", "--buffer", "2", "--task-text", p1.toString(), "--task-text", p2.toString(), "--out",
                out.toString()));
        a.addAll(List.of(more));
        return a;
    }

    static void common(JsonNode j, String method) {
        assertThat(j.get("schema").asText()).isEqualTo("sparsa.experiment.cl/1");
        assertThat(j.get("experiment").asText()).isEqualTo(method);
        assertThat(j.get("setup").get("tasks")).hasSize(2);
        assertThat(j.get("setup").get("activation").asText()).isEqualTo("relu");
        assertThat(j.get("startBitsPerByte")).hasSize(2);
        assertThat(j.get("runs")).extracting(r -> r.get("id").asText())
                .containsExactly("sequential", "joint", "replay", method);
        for (JsonNode r : j.get("runs")) {
            String id = r.get("id").asText();
            JsonNode m = r.get("bitsPerByte");
            assertThat(m).as(id).hasSize(id.equals("joint") ? 1 : 2);
            for (JsonNode row : m) {
                assertThat(row).hasSize(2);
                row.forEach(v -> NeuronExperimentsTest.bpb(v, id));
            }
            JsonNode met = r.get("metrics");
            double last = (m.get(m.size() - 1).get(0).asDouble() + m.get(m.size() - 1).get(1).asDouble()) / 2;
            assertThat(met.get("averageFinal").asDouble()).isCloseTo(last, within(1e-9));
            if (id.equals("joint")) {
                assertThat(met.get("bwt").isNull()).isTrue();
            } else {
                // BWT of 2 tasks = R[0][0] − R[1][0]; forgetting = −BWT when the best is the first row
                assertThat(met.get("bwt").asDouble()).isCloseTo(m.get(0).get(0).asDouble()
                        - m.get(1).get(0).asDouble(), within(1e-9));
                assertThat(met.get("averageForgetting").asDouble()).isCloseTo(-met.get("bwt").asDouble(),
                        within(1e-9));
                assertThat(Double.isFinite(met.get("fwt").asDouble())).isTrue();
            }
            assertThat(r.get("flops").asLong()).as(id).isPositive();
            assertThat(r.get("ce")).hasSize(r.get("steps").asInt());
            assertThat(r.get("stageEndStep").get(r.get("stageEndStep").size() - 1).asInt())
                    .isEqualTo(r.get("steps").asInt());
        }
        JsonNode seq = j.get("runs").get(0);
        JsonNode joint = j.get("runs").get(1);
        JsonNode replay = j.get("runs").get(2);
        assertThat(joint.get("steps").asInt()).as("joint: as many steps as the sequence")
                .isEqualTo(seq.get("steps").asInt());
        assertThat(replay.get("flops").asLong()).as("replay rows cost compute").isGreaterThan(seq.get("flops")
                .asLong());
    }

    @Test
    void clnpFreezesTaskOneAndReportsItsNeurons() throws Exception {
        Path out = tmp.resolve("clnp");
        List<String> a = args("clnp", out, "--lambda", "0.01", "--graceful", "0.05", "--freeze-ratio", "0.5");
        JsonNode j = run(a, out);
        common(j, "clnp");
        JsonNode c = j.get("runs").get(3);
        assertThat(c.get("ce").get(0).asDouble()).as("same fresh weights, same first batch as sequential")
                .isEqualTo(j.get("runs").get(0).get("ce").get(0).asDouble());
        JsonNode m = c.get("bitsPerByte");
        assertThat(m.get(1).get(0).asDouble()).as("task 1 isolated: no forgetting at all")
                .isEqualTo(m.get(0).get(0).asDouble());
        assertThat(c.get("metrics").get("averageForgetting").asDouble()).isZero();
        // without the task's identity: all claimed neurons; the same network after the first task and for task 2
        JsonNode agn = c.get("agnosticBitsPerByte");
        assertThat(agn.get(0)).isEqualTo(m.get(0));
        assertThat(agn.get(1).get(1)).isEqualTo(m.get(1).get(1));
        assertThat(c.get("agnosticMetrics").get("averageFinal").asDouble()).isCloseTo((agn.get(1).get(0)
                .asDouble() + agn.get(1).get(1).asDouble()) / 2, within(1e-9));
        assertThat(j.get("runs").get(0).get("agnosticBitsPerByte").isNull()).isTrue();
        assertThat(Files.readString(out.resolve("report.html"))).contains("clnp task-agnostic: bits/byte");
        assertThat(Files.readString(out.resolve("section.md"))).contains("| clnp task-agnostic |",
                "| clnp task-agnostic after ");
        JsonNode pt = c.get("perTask");
        int total = 2 * 64;                                                    // 2 layers × FFN 64
        double free0 = pt.get("freeNeurons").get(0).asDouble();
        double claimed0 = pt.get("claimedNeurons").get(0).asDouble();
        assertThat(free0 + claimed0).isEqualTo(total);
        assertThat(claimed0).isBetween(0.0, total / 2.0);                     // --freeze-ratio 0.5
        assertThat(pt.get("freeNeurons").get(1).asDouble())
                .isEqualTo(free0 - pt.get("claimedNeurons").get(1).asDouble());
        assertThat(pt.get("reusedShare").get(1).asDouble()).isBetween(0.0, 1.0);
        // resume: every run from OUT/runs, the same results
        List<String> again = new ArrayList<>(a);
        again.add("--resume");
        CliRun r = CliRun.of(again.toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(NeuronExperimentsTest.JSON.readTree(out.resolve("results.json").toFile()).get("runs"))
                .isEqualTo(j.get("runs"));
        // resuming with other options is refused in one line
        List<String> other = new ArrayList<>(a);
        other.set(other.indexOf("--graceful") + 1, "0.2");
        other.add("--resume");
        CliRun bad = CliRun.of(other.toArray(String[]::new));
        assertThat(bad.code()).isNotZero();
        assertThat(bad.err().strip().lines().toList().getLast()).contains("made with other options or another "
                + "model");
        // and with another model (same shape, other weights and folder)
        DenseLlamaCache.Entry other2;
        try (dev.sparsa.tensor.Parallel par = new dev.sparsa.tensor.Parallel(1)) {
            other2 = DenseLlamaCache.obtain(tmp.resolve("cache2"), new DenseLlamaCache.Spec("tiny-other",
                    TinyDense.config(), 30, 4, 32, 1e-2f, 3, 8, 512), TinyDense::train, TinyDense::valid, par,
                    new dev.sparsa.train.Trainer.Listener() {
                    });
        }
        List<String> otherModel = new ArrayList<>(a);
        otherModel.set(otherModel.indexOf("--model") + 1, other2.dir().toString());
        otherModel.add("--resume");
        CliRun bad2 = CliRun.of(otherModel.toArray(String[]::new));
        assertThat(bad2.code()).isNotZero();
        assertThat(bad2.err().strip().lines().toList().getLast()).contains("sequential.json: made with other options "
                + "or another model");
    }

    @Test
    void sparclCountsFewerMultiplyAddsThanReplay() throws Exception {
        Path out = tmp.resolve("sparcl");
        JsonNode j = run(args("sparcl", out, "--sparsity", "0.75", "--update-every", "2",
                "--removal", "0.25"), out);
        common(j, "sparcl");
        JsonNode replay = j.get("runs").get(2);
        JsonNode sp = j.get("runs").get(3);
        // the tiny model's LM head (dense) is over a third of its multiply-adds, so the saving is well under 4×
        assertThat(sp.get("flops").asLong()).isLessThan(replay.get("flops").asLong() * 3 / 4);
        assertThat(sp.get("steps").asInt()).as("DDR removes windows, so fewer steps")
                .isLessThan(replay.get("steps").asInt());
        assertThat(sp.get("perTask").get("weightDensity").get(1).asDouble()).isCloseTo(0.25,
                within(0.01));
    }

    @Test
    void sparclAtItsNeutralSettingsIsReplay() throws Exception {
        // density 1, no mask change, every gradient kept, no removal: the same bits as the replay baseline
        Path out = tmp.resolve("sparcl-neutral");
        JsonNode j = run(args("sparcl", out, "--sparsity", "0", "--update-share", "0", "--grad-keep", "1",
                "--removal", "0"), out);
        JsonNode replay = j.get("runs").get(2);
        JsonNode sp = j.get("runs").get(3);
        assertThat(sp.get("bitsPerByte")).isEqualTo(replay.get("bitsPerByte"));
        assertThat(sp.get("ce")).isEqualTo(replay.get("ce"));
        assertThat(sp.get("flops").asLong()).isEqualTo(replay.get("flops").asLong());
    }

    @Test
    void badInputIsOneLine() {
        String m = model.dir().toString();
        Path out = tmp.resolve("cl-bad");
        String[][] cases = {
                {"experiment", "clnp", "--model", m, "--tasks", "press,x", "--out", out.toString()},
                {"experiment", "clnp", "--model", m, "--tasks", "press,a+j", "--out", out.toString()},
                {"experiment", "sparcl", "--model", m, "--tasks", "press,m+r", "--out", out.toString()},
                {"experiment", "clnp", "--model", m, "--freeze-ratio", "1.5", "--out", out.toString()},
                {"experiment", "sparcl", "--model", m, "--sparsity", "1", "--out", out.toString()},
                {"experiment", "clnp", "--model", m, "--tasks", "press,j", "--task-text", p1.toString(), "--out",
                        out.toString()},
        };
        String[] says = {"unknown Brown genre 'x'", "is in task 1 and task 2", "no validation documents",
                "--freeze-ratio must be in [0, 1]", "--sparsity must be in [0, 1)", "not both"};
        for (int k = 0; k < cases.length; k++) {
            CliRun r = CliRun.of(cases[k]);
            assertThat(r.code()).as(String.join(" ", cases[k])).isNotZero();
            assertThat(r.err().strip()).contains(says[k]).doesNotContain("\n");
        }
        assertThat(CliRun.of("experiment", "clnp", "--help").out()).contains("--freeze-ratio", "--tasks");
        assertThat(CliRun.of("experiment", "sparcl", "--help").out()).contains("--grad-keep", "--removal");
    }
}
