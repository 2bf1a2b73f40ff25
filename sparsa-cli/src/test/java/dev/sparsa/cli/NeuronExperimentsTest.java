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
 * {@code sparsa experiment redo|ap|sap|attribution} end to end on the tiny dense model and generated text (a
 * test-only size, a few seconds each: the --quick variants need Brown and the cached micro-llama and are run by hand,
 * EXPERIMENTS.md): the structure and ranges of results.json, the invariants a correct run must show (dormant shares
 * grow with τ, the pruned shares of the floor recursion, no deactivation at sparsity 0 gives the dense bits/byte),
 * the report and section, resuming, and the one-line errors for bad input.
 */
class NeuronExperimentsTest {

    @TempDir
    static Path tmp;
    static DenseLlamaCache.Entry model;
    static Path train;
    static Path valid;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void tinyModel() throws Exception {
        model = TinyDense.model(tmp.resolve("cache"));
        train = TinyDense.write(TinyDense.train(), tmp.resolve("train.txt"));
        valid = TinyDense.write(TinyDense.valid(), tmp.resolve("valid.txt"));
        // the attribution experiment's encoder half fetches all-MiniLM-L6-v2 into the default cache: once, quietly,
        // here, so that no run's stderr starts with the fetch line
        dev.sparsa.io.onnx.MiniLm.fetch(new dev.sparsa.io.Fetch(dev.sparsa.io.Fetch.defaultCache().root(),
                new java.io.PrintStream(java.io.OutputStream.nullOutputStream())));
    }

    static List<String> common(String name, Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("experiment", name, "--model", model.dir().toString(), "--seq", "16",
                "--batch", "2", "--warmup", "1", "--val-tokens", "200", "--threads", "1", "--out", out.toString()));
        if (!name.equals("redo")) {
            a.addAll(List.of("--val-text", valid.toString()));
            if (!name.equals("attribution")) {
                a.addAll(List.of("--text", train.toString()));
            }
        }
        a.addAll(List.of(more));
        return a;
    }

    static JsonNode run(List<String> args, Path out) throws Exception {
        CliRun r = CliRun.of(args.toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = JSON.readTree(out.resolve("results.json").toFile());
        String html = Files.readString(out.resolve("report.html"));
        assertThat(html).startsWith("<!DOCTYPE html>").contains("<svg", "<table");
        assertThat(html).doesNotContain("<script", "http://", "https://", "NaN", "Infinity");
        String md = Files.readString(out.resolve("section.md"));
        assertThat(md).contains("./sparsa experiment " + args.get(1), "|---|");
        assertThat(r.out()).contains(md.strip(), "results:", "report:");
        assertThat(j.get("command").asText()).startsWith("./sparsa experiment " + args.get(1) + " ");
        assertThat(md).contains("```\n" + j.get("command").asText() + "\n```");
        ReportAgain.sameAsWritten(out.resolve("results.json"), Files.createTempDirectory(tmp, args.get(1))
                .resolve("again"));
        return j;
    }

    static void bpb(JsonNode v, String what) {
        assertThat(v.isNumber()).as(what).isTrue();
        assertThat(v.asDouble()).as(what).isBetween(0.1, 20.0);
    }

    @Test
    void redoRecordsDormantSharesAndBitsPerBytePerPhase() throws Exception {
        Path p1 = TinyDense.write(TinyDense.corpus("first", 400, 11), tmp.resolve("first.txt"));
        // genres of very different sizes (one over the per-phase cap, one under): each still gets exactly its steps
        Path p2 = TinyDense.write(TinyDense.corpus("second", 3, 12), tmp.resolve("second.txt"));
        Path out = tmp.resolve("redo");
        JsonNode j = run(common("redo", out, "--phase-text", p1.toString(), "--phase-text", p2.toString(),
                "--steps-per-phase", "3", "--redo-every", "2", "--tau", "0.5"), out);
        assertThat(j.get("schema").asText()).isEqualTo("sparsa.experiment.redo/1");
        JsonNode s = j.get("setup");
        assertThat(s.get("activation").asText()).isEqualTo("relu");
        assertThat(s.get("genres")).hasSize(2);
        int steps = s.get("steps").asInt();
        assertThat(steps).isEqualTo(6);
        assertThat(s.get("phaseEndStep").toString()).isEqualTo("[3,6]");
        assertThat(j.get("runs")).extracting(r -> r.get("id").asText()).containsExactly("baseline", "redo");
        for (JsonNode r : j.get("runs")) {
            String id = r.get("id").asText();
            JsonNode d = r.get("dormant");
            assertThat(d).hasSize(3);
            for (int t = 0; t < steps; t++) {
                double prev = 0;
                for (int k = 0; k < 3; k++) {
                    double v = d.get(k).get(t).asDouble();
                    assertThat(v).as("%s τ%d step %d", id, k, t).isBetween(0.0, 1.0).isGreaterThanOrEqualTo(prev);
                    prev = v;
                }
            }
            assertThat(r.get("ce")).hasSize(steps);
            assertThat(r.get("phaseBitsPerByte")).hasSize(2);
            for (JsonNode row : r.get("phaseBitsPerByte")) {
                assertThat(row).hasSize(2);
                row.forEach(v -> bpb(v, id));
            }
            assertThat(r.get("finalBitsPerByte")).isEqualTo(r.get("phaseBitsPerByte").get(1));
        }
        assertThat(j.get("runs").get(0).get("recycledStep")).isEmpty();
        assertThat(j.get("runs").get(1).get("recycledStep").toString()).isEqualTo("[2,4,6]");
        // both runs start from the same weights and batches: the first step's CE is the same
        assertThat(j.get("runs").get(1).get("ce").get(0).asDouble())
                .isEqualTo(j.get("runs").get(0).get("ce").get(0).asDouble());
    }

    @Test
    void apPrunesToEachShareAndApLowersItsOwnShareFromTheGate() throws Exception {
        Path out = tmp.resolve("ap");
        List<String> args = common("ap", out, "--convert-steps", "2", "--ratios", "0.5,0.9", "--rounds", "2",
                "--round-steps", "2", "--ap-share", "0.5");
        JsonNode j = run(args, out);
        assertThat(j.get("schema").asText()).isEqualTo("sparsa.experiment.ap/1");
        assertThat(j.get("setup").get("activation").asText()).isEqualTo("relu");
        assertThat(j.get("setup").get("modelSource").asText()).isEqualTo("given+relu-2");
        double dense = j.get("dense").get("bitsPerByte").asDouble();
        assertThat(j.get("runs")).extracting(r -> r.get("id").asText()).containsExactly("magnitude-50",
                "ap-magnitude-50", "wanda-50", "ap-wanda-50", "magnitude-90", "ap-magnitude-90", "wanda-90",
                "ap-wanda-90");
        for (JsonNode r : j.get("runs")) {
            String id = r.get("id").asText();
            double target = r.get("target").asDouble();
            assertThat(r.get("steps").asInt()).isEqualTo(6);
            assertThat(r.get("deadRate")).hasSize(6);
            r.get("deadRate").forEach(v -> assertThat(v.asDouble()).as(id).isBetween(0.0, 1.0));
            // two rounds at 1 − √(1 − S) each: within rounding (per matrix, or per row for Wanda) of S
            assertThat(r.get("weightSparsity").asDouble()).as(id).isCloseTo(target, within(0.03));
            JsonNode f = r.get("final_");
            bpb(f.get("bitsPerByte"), id);
            assertThat(f.get("delta").asDouble()).isCloseTo(f.get("bitsPerByte").asDouble() / dense - 1,
                    within(1e-12));
            assertThat(f.get("zeroSparsity").asDouble()).isBetween(0.0, 1.0);
            long byAp = 0;
            for (JsonNode v : r.get("prunedByAp")) {
                byAp += v.asLong();
            }
            if (id.startsWith("ap-")) {
                assertThat(byAp).as(id).isPositive();
            } else {
                assertThat(byAp).as(id).isZero();
            }
        }
        // --resume takes every run from OUT/runs/ and gives the same results
        List<String> resume = new ArrayList<>(args);
        resume.add("--resume");
        CliRun again = CliRun.of(resume.toArray(String[]::new));
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.err()).contains("resumed ap-wanda-90").doesNotContain("run 1/8");
        assertThat(JSON.readTree(out.resolve("results.json").toFile()).get("runs")).isEqualTo(j.get("runs"));
    }

    @Test
    void sapAndTheFixedRatioBaselinePruneRoundByRound() throws Exception {
        Path out = tmp.resolve("sap");
        JsonNode j = run(common("sap", out, "--rounds", "3", "--round-steps", "2"), out);
        assertThat(j.get("schema").asText()).isEqualTo("sparsa.experiment.sap/1");
        assertThat(j.get("runs")).extracting(r -> r.get("id").asText()).containsExactly("sap", "imp");
        for (JsonNode r : j.get("runs")) {
            String id = r.get("id").asText();
            JsonNode rem = r.get("remaining");
            assertThat(rem).hasSize(4);                                 // before each of 3 prunes, and the end
            assertThat(rem.get(0).asDouble()).isEqualTo(1.0);
            for (int k = 1; k < 4; k++) {
                assertThat(rem.get(k).asDouble()).as(id).isLessThanOrEqualTo(rem.get(k - 1).asDouble());
            }
            r.get("bitsPerByte").forEach(v -> bpb(v, id));
            assertThat(r.get("pqIndexMean")).hasSize(3);
            r.get("pqIndexMean").forEach(v -> assertThat(v.asDouble()).as(id).isBetween(0.0, 1.0));
            assertThat(r.get("pqIndex").get(0)).hasSize(6);              // 2 layers × gate, up, down
            assertThat(r.get("weightSparsity").asDouble()).isCloseTo(1 - rem.get(3).asDouble(), within(1e-12));
        }
        JsonNode imp = j.get("runs").get(1).get("remaining");
        assertThat(imp.get(3).asDouble()).isCloseTo(0.512, within(0.002));   // 0.8³, floors per matrix
        // SAP prunes something every round (PQ Index > 0 for trained weights)
        JsonNode sap = j.get("runs").get(0).get("remaining");
        assertThat(sap.get(3).asDouble()).isLessThan(sap.get(2).asDouble());
    }

    @Test
    void attributionAtZeroSparsityIsTheDenseModelAndEveryScoreIsInRange() throws Exception {
        Path out = tmp.resolve("attribution");
        JsonNode j = run(common("attribution", out, "--sparsities", "0,0.5,0.9"), out);
        assertThat(j.get("schema").asText()).isEqualTo("sparsa.experiment.attribution/1");
        JsonNode w = j.get("llama");
        double dense = w.get("dense").asDouble();
        bpb(w.get("dense"), "dense");
        assertThat(j.get("setup").get("scores")).extracting(JsonNode::asText).containsExactly("magnitude", "gxo",
                "snip", "cor-gxo");
        assertThat(w.get("quality")).hasSize(4);
        for (int i = 0; i < 4; i++) {
            JsonNode q = w.get("quality").get(i);
            assertThat(q).hasSize(3);
            assertThat(q.get(0).asDouble()).as("score %d at sparsity 0", i).isCloseTo(dense, within(1e-9));
            for (JsonNode v : q) {
                bpb(v, "score " + i);
            }
            assertThat(w.get("delta").get(i).get(2).asDouble()).isCloseTo(q.get(2).asDouble() / dense - 1,
                    within(1e-12));
        }
        assertThat(w.get("deactivated").toString()).isEqualTo("[0.0,0.5,0.890625]");      // ⌊0.9·64⌋ / 64
        // deactivating 90% of the neurons by magnitude costs more than 50%
        assertThat(w.get("quality").get(0).get(2).asDouble()).isGreaterThan(w.get("quality").get(0).get(1)
                .asDouble());
        // the encoder half: all-MiniLM-L6-v2 on the same text, windows of --seq 16 with [CLS] and [SEP]
        JsonNode e = j.get("encoder");
        assertThat(e.get("model").asText()).isEqualTo("all-MiniLM-L6-v2");
        assertThat(e.get("scores")).extracting(JsonNode::asText).containsExactly("magnitude", "snip", "cor-gxo");
        assertThat(e.get("windowTokens").asInt()).isEqualTo(16);
        assertThat(e.get("windows").asInt()).isEqualTo(200 / 14);
        assertThat(e.get("projections").asInt()).isEqualTo(16);
        JsonNode es = e.get("sweep");
        assertThat(es.get("measure").asText()).isEqualTo("embedding cosine");
        assertThat(es.get("deactivated").toString()).isEqualTo("[0.0,0.5,0.8997395833333334]");   // ⌊0.9·1536⌋
        for (int i = 0; i < 3; i++) {
            JsonNode q = es.get("quality").get(i);
            assertThat(q.get(0).asDouble()).as("encoder score %d at sparsity 0", i).isCloseTo(1.0, within(1e-5));
            assertThat(q.get(1).asDouble()).isBetween(0.0, 1.0 + 1e-6);
            assertThat(q.get(2).asDouble()).isBetween(-1.0, q.get(1).asDouble());
        }
        assertThat(j.get("notes").toString()).contains("Encoder: per window the dense embedding e");
        String html = Files.readString(out.resolve("report.html"));
        assertThat(html).contains("Encoder: embedding cosine at each sparsity", "all-MiniLM-L6-v2");
        // --encoder none: the decoder alone, with a note
        Path none = tmp.resolve("attribution-none");
        JsonNode n = run(common("attribution", none, "--sparsities", "0.5", "--scores", "magnitude", "--encoder",
                "none"), none);
        assertThat(n.get("encoder").isNull()).isTrue();
        assertThat(n.get("notes").toString()).contains("Not run: the encoder half (--encoder none).");
    }

    @Test
    void profileWithAttributionWritesTheSweepBesideTheProfile() throws Exception {
        Path out = tmp.resolve("profile");
        CliRun r = CliRun.of("profile", "--model", model.dir().toString(), "--text", valid.toString(), "--tokens",
                "256", "--eval-tokens", "128", "--bisection-steps", "1", "--predictor-tokens", "128",
                "--calibration-tokens", "128", "--cett-tokens", "256", "--threads", "1", "--attribution", "--out",
                out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(out.resolve("results.json")).exists();
        JsonNode j = JSON.readTree(out.resolve("attribution.json").toFile());
        assertThat(j.get("schema").asText()).isEqualTo("sparsa.experiment.attribution/1");
        assertThat(j.get("llama").get("quality")).hasSize(4);
        assertThat(j.get("setup").get("sparsities")).hasSize(4);
        for (JsonNode q : j.get("llama").get("quality")) {
            for (JsonNode v : q) {
                bpb(v, "profile attribution");
            }
        }
        assertThat(Files.readString(out.resolve("attribution.html"))).contains("<svg", "cor-gxo");
        assertThat(r.out()).contains("attribution:", "| cor-gxo |");
        // sparsa report attribution.json: attribution.html byte for byte, attribution.md the section printed above
        ReportAgain again = ReportAgain.of(out.resolve("attribution.json"), tmp.resolve("profile-again"));
        assertThat(again.html()).isEqualTo(Files.readAllBytes(out.resolve("attribution.html")));
        String md = new String(again.markdown(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(md).contains("```\n./sparsa profile --attribution\n```", "| cor-gxo |");
        assertThat(r.out()).contains(md);
        // an encoder: the BERT backward's sweep (cosine to the dense embedding) in the profile's windows
        Path bout = tmp.resolve("profile-minilm");
        CliRun bert = CliRun.of("profile", "--model", "minilm", "--text", valid.toString(), "--tokens", "128",
                "--max-length", "32", "--eval-tokens", "96", "--bisection-steps", "1", "--predictor-tokens", "64",
                "--calibration-tokens", "64", "--cett-tokens", "64", "--threads", "1", "--attribution", "--out",
                bout.toString());
        assertThat(bert.code()).as(bert.err()).isZero();
        JsonNode b = JSON.readTree(bout.resolve("attribution.json").toFile());
        assertThat(b.get("llama").isNull()).isTrue();
        assertThat(b.get("encoder").get("windows").asInt()).isEqualTo(96 / 30);
        assertThat(b.get("encoder").get("windowTokens").asInt()).isEqualTo(32);
        assertThat(b.get("encoder").get("sweep").get("quality")).hasSize(3);
        for (JsonNode q : b.get("encoder").get("sweep").get("quality")) {
            assertThat(q).hasSize(4);
            for (JsonNode v : q) {
                assertThat(v.asDouble()).isBetween(-1.0, 1.0 + 1e-6);
            }
        }
        assertThat(Files.readString(bout.resolve("attribution.html"))).contains("Encoder: embedding cosine", "<svg");
        assertThat(bert.out()).contains("| snip |", "attribution:");
        ReportAgain bagain = ReportAgain.of(bout.resolve("attribution.json"), tmp.resolve("profile-minilm-again"));
        assertThat(bagain.html()).isEqualTo(Files.readAllBytes(bout.resolve("attribution.html")));
    }

    @Test
    void badInputIsOneLineAndWritesNothing() {
        Path out = tmp.resolve("never");
        String m = model.dir().toString();
        String o = out.toString();
        String[][] cases = {
                {"experiment", "lasso", "--out", o},
                {"experiment", "redo", "--model", m, "--tau", "1.5", "--out", o},
                {"experiment", "redo", "--model", m, "--taus", "0,-0.1", "--out", o},
                {"experiment", "redo", "--model", m, "--genres", "a,z", "--out", o},
                {"experiment", "redo", "--out", o},
                {"experiment", "ap", "--model", m, "--ratios", "0.5,1", "--out", o},
                {"experiment", "ap", "--model", m, "--ap-share", "-0.1", "--out", o},
                {"experiment", "ap", "--model", m, "--pruners", "magnitude,lasso", "--out", o},
                {"experiment", "ap", "--model", m, "--text", train.toString(), "--val-text", valid.toString(),
                        "--seq", "16", "--out", o},
                {"experiment", "sap", "--model", m, "--imp-ratio", "1", "--out", o},
                {"experiment", "sap", "--model", m, "--rounds", "0", "--out", o},
                {"experiment", "attribution", "--model", m, "--sparsities", "0.5,1.2", "--out", o},
                {"experiment", "attribution", "--model", "minilm", "--out", o},
                {"experiment", "attribution", "--model", m, "--encoder", "nope.onnx", "--out", o},
                {"experiment", "attribution", "--model", m, "--projections", "0", "--out", o},
                {"experiment", "attribution", "--model", m, "--projections", "385", "--val-text",
                        valid.toString(), "--val-tokens", "200", "--seq", "16", "--out", o},
        };
        String[] expect = {"lasso", "--tau: τ must be in [0, 1], got 1.5", "--taus: τ must be in [0, 1], got -0.1",
                "unknown Brown genre 'z'", "--model DIR is required", "--ratios: a pruning ratio must be in [0, 1), "
                + "got 1.0", "--ap-share: a pruning ratio must be in [0, 1)", "unknown pruning method 'lasso'",
                "needs a ReLU-family model", "--imp-ratio: a pruning ratio must be in [0, 1), got 1.0",
                "--rounds must be >= 1", "--sparsities: a sparsity must be in [0, 1), got 1.2", "--model minilm: --model "
                + "is the Llama decoder; the encoder half runs on --encoder (default minilm)", "--encoder nope.onnx: "
                + "no such file, and not a built-in encoder", "--projections must be >= 1, got 0", "--projections "
                + "must be at most all-MiniLM-L6-v2's embedding size 384, got 385"};
        for (int i = 0; i < cases.length; i++) {
            CliRun r = CliRun.of(cases[i]);
            assertThat(r.code()).as(String.join(" ", cases[i]) + "\n" + r.err()).isEqualTo(2);
            assertThat(r.err().strip()).as(String.join(" ", cases[i])).startsWith("sparsa: ").contains(expect[i])
                    .doesNotContain("\n", "Exception");
        }
        CliRun silu = CliRun.of(cases[8]);
        assertThat(silu.err()).contains("convert it first", "./sparsa sparsify --method relu", "--convert-steps");
        assertThat(out).doesNotExist();
        CliRun group = CliRun.of("experiment");
        assertThat(group.out()).contains("redo", "ap", "sap", "attribution");
    }
}
