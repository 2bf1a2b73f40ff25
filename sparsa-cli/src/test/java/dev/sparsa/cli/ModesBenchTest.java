package dev.sparsa.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.eval.EvalGolden;
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
 * {@code sparsa bench --modes} on the eval golden's tiny ReLU (speed and exact/predicted quality) and SiLU
 * (cats/teal/topk quality) models: the table and JSON hold every mode with finite figures, dense first; exact costs
 * nothing and agrees with dense on every greedy token; missing calibrations are made in-process and said, then
 * reused; the HTML section is written and re-rendered from the JSON; bad input is one line before anything runs.
 */
class ModesBenchTest {
    @TempDir
    static Path tmp;
    static Path silu;
    static Path relu;
    static String text;
    static final ObjectMapper JSON = new ObjectMapper();
    static final List<String> MODES = List.of("dense", "exact", "cats", "teal", "topk", "predicted");

    @BeforeAll
    static void models() {
        EvalGolden g = EvalGolden.load();
        silu = g.writeModelDir("silu", tmp.resolve("silu"));
        relu = g.writeModelDir("relu", tmp.resolve("relu"));
        text = g.text.toString();
    }

    static CliRun bench(Path model, String modes, String... more) {
        List<String> a = new ArrayList<>(List.of("bench", "--model", model.toString(), "--modes", modes,
                "--quality-text", text, "--calibrate-text", text, "--ctx", "64", "--quality-tokens", "600",
                "--calibrate-tokens", "600", "--prompt-tokens", "8", "--decode-tokens", "6", "--reps", "1",
                "--warmup", "0", "--bandwidth-mib", "1", "--threads", "2", "--agreement-prompts", "3",
                "--agreement-tokens", "12"));
        a.addAll(List.of(more));
        return CliRun.of(a.toArray(String[]::new));
    }

    @Test
    void everyModeSideBySideWithItsQualityCost() throws Exception {
        Path json = tmp.resolve("modes.json");
        Path html = tmp.resolve("modes.html");
        CliRun r = bench(relu, "exact,cats,teal,topk,predicted", "--quality-model", silu.toString(),
                "--quality-model", relu.toString(), "--json", json.toString(), "--html", html.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("| mode | speed model | prefill tok/s | decode tok/s", "greedy agreement", "in-process",
                "Bandwidth: dense decode reads ", "% of the read probe");
        for (String m : MODES) {
            assertThat(r.out()).contains("| " + m + " |");
        }
        JsonNode root = JSON.readTree(json.toFile());
        assertThat(root.get("schema").asText()).isEqualTo(ModesBench.SCHEMA);
        JsonNode rows = root.get("rows");
        assertThat(rows).hasSize(MODES.size());
        for (int i = 0; i < MODES.size(); i++) {
            JsonNode x = rows.get(i);
            String m = MODES.get(i);
            assertThat(x.get("mode").asText()).isEqualTo(m);
            for (String f : new String[] {"decode_speedup", "prefill_speedup", "sparsity", "ideal_speedup",
                "bits_per_byte", "dense_bits_per_byte", "bytes_per_token"}) {
                assertThat(x.get(f)).as(m + " " + f).isNotNull();
                assertThat(x.get(f).asDouble()).as(m + " " + f).isFinite();
            }
            assertThat(x.get("decode_tok_s").get("median").asDouble()).as(m).isPositive();
            assertThat(x.get("sparsity").asDouble()).as(m).isBetween(0.0, 1.0);
            if (!m.equals("dense")) {
                assertThat(x.get("bits_per_byte_delta").asDouble()).as(m).isFinite();
                assertThat(x.get("fraction_of_ideal").asDouble()).as(m).isFinite().isPositive();
                assertThat(x.get("greedy_agreement").asDouble()).as(m).isBetween(0.0, 1.0);
                assertThat(x.get("agreement_tokens").asInt()).as(m).isEqualTo(3 * 12);
            }
            String q = m.equals("exact") || m.equals("predicted") ? "relu" : "silu";   // dense: the first given
            assertThat(x.get("quality_model").asText()).as(m).isEqualTo(q);
        }
        JsonNode dense = rows.get(0);
        double share = dense.get("bytes_per_token").asDouble() * dense.get("decode_tok_s").get("median").asDouble()
                / 1e9 / root.get("bandwidth_gb_s").asDouble();
        assertThat(r.out()).as("the dense read share of the probe").contains(String.format(java.util.Locale.ROOT,
                "%.0f%% of the read probe", 100 * share));
        assertThat(dense.get("ideal_speedup").asDouble()).isEqualTo(1.0);
        assertThat(dense.get("decode_speedup").asDouble()).isEqualTo(1.0);
        JsonNode exact = rows.get(1);
        assertThat(exact.get("bits_per_byte_delta").asDouble()).isCloseTo(0, within(1e-6));
        assertThat(exact.get("greedy_agreement").asDouble()).isEqualTo(1.0);
        assertThat(exact.get("ideal_speedup").asDouble()).as("the ReLU model has zeros to skip").isGreaterThan(1);
        // the calibrated modes' sparsity near the default target 0.5 on the text they were calibrated on
        for (int i : new int[] {2, 4}) {
            assertThat(rows.get(i).get("quality_sparsity").asDouble()).as(MODES.get(i)).isCloseTo(0.5,
                    within(0.05));
        }
        assertThat(rows.get(5).get("quality_recall").asDouble()).isBetween(0.0, 1.0);
        for (String m : new String[] {"cats", "teal", "topk", "predicted"}) {
            assertThat(relu.resolve("sparsa-calibration-" + m + ".safetensors")).isRegularFile();
        }
        for (String m : new String[] {"cats", "teal", "topk"}) {
            assertThat(silu.resolve("sparsa-calibration-" + m + ".safetensors")).isRegularFile();
        }
        String page = Files.readString(html);
        assertThat(page).contains("Sparse modes side by side", "<svg", "predicted");
        // sparsa report: the --html page byte for byte, and a section with the command and the table printed above
        ReportAgain again = ReportAgain.of(json, tmp.resolve("again"));
        assertThat(again.html()).isEqualTo(Files.readAllBytes(html));
        String md = new String(again.markdown(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(root.get("command").asText()).startsWith("./sparsa bench --model ").contains("--modes");
        assertThat(md).startsWith("### Sparse modes: relu, ").contains("```\n" + root.get("command").asText()
                + "\n```\n").endsWith(r.out().strip() + "\n");

        CliRun second = bench(relu, "cats");                 // the files are found now: no calibration
        assertThat(second.code()).as(second.err()).isZero();
        assertThat(second.out()).doesNotContain("in-process").contains("relu: calibration "
                + "sparsa-calibration-cats.safetensors");
        assertThat(r.out()).as("a file just made is not listed twice").doesNotContain("relu: calibration "
                + "sparsa-calibration-cats.safetensors");
        // the same when the speed model is the quality model (exact and predicted run on relu for both): the
        // quality pass finds the file the speed pass just made
        assertThat(r.out()).as("made in this run, not listed again").contains("relu: no sparsa-calibration-"
                + "predicted.safetensors; calibrated predicted in-process").doesNotContain("relu: calibration "
                + "sparsa-calibration-predicted.safetensors");
    }

    @Test
    void predictedOnSyntheticWeightsReplaysTheTrainedModelsReads() throws Exception {
        Path synth = EvalGolden.load().writeModelDir("relu", tmp.resolve("relu-synth"));
        Files.writeString(synth.resolve(dev.sparsa.perf.Synth.MARKER), "{}");
        Path json = tmp.resolve("replay.json");
        Path fresh = EvalGolden.load().writeModelDir("relu", tmp.resolve("relu-replay"));   // no calibration yet
        CliRun r = bench(synth, "predicted", "--quality-model", fresh.toString(), "--json", json.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("replayed on these weights", "predicted replays a trained model's reads");
        JsonNode row = JSON.readTree(json.toFile()).get("rows").get(1);
        assertThat(row.get("mode").asText()).isEqualTo("predicted");
        // the replay calibrated the quality model itself: the row says so (the note was dropped before)
        assertThat(row.get("notes").toString()).contains("relu-replay: no sparsa-calibration-predicted.safetensors; "
                + "calibrated predicted in-process");
        assertThat(row.get("sparsity").asDouble()).as("the trained model's kept share").isBetween(0.05, 0.95);
        assertThat(row.get("ideal_speedup").asDouble()).isFinite().isPositive();
        assertThat(synth.resolve("sparsa-calibration-predicted.safetensors")).as("no predictor of random weights")
                .doesNotExist();
        CliRun alone = bench(synth, "predicted");                  // no ReLU quality model: said, not replayed
        assertThat(alone.code()).as(alone.err()).isZero();
        assertThat(alone.out()).contains("predictor speed on random weights").doesNotContain("replayed");
    }

    /** A SiLU speed model replays a SiLU quality model's reads (CATS labels), never a ReLU one's. */
    @Test
    void predictedOnSyntheticSiluReplaysASiluModelsReads() throws Exception {
        Path synth = EvalGolden.load().writeModelDir("silu", tmp.resolve("silu-synth-predicted"));
        Files.writeString(synth.resolve(dev.sparsa.perf.Synth.MARKER), "{}");
        Path relu = EvalGolden.load().writeModelDir("relu", tmp.resolve("relu-other"));
        Path silu = EvalGolden.load().writeModelDir("silu", tmp.resolve("silu-trained"));
        Path json = tmp.resolve("silu-replay.json");
        CliRun r = bench(synth, "predicted", "--quality-model", relu.toString(), "--quality-model", silu.toString(),
                "--replay-spread", "blocks", "--json", json.toString());
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode row = JSON.readTree(json.toFile()).get("rows").get(1);
        assertThat(row.get("notes").toString()).contains("the reads of silu-trained's predicted kernel",
                "neurons in blocks").doesNotContain("relu-other's predicted kernel");
        assertThat(row.get("sparsity").asDouble()).as("CATS labels at 0.5, recall 0.99").isBetween(0.2, 0.8);
        assertThat(row.get("quality_model").asText()).as("quality from the replayed model").isEqualTo("silu-trained");
        CliRun bad = bench(synth, "predicted", "--replay-spread", "sideways");
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err().strip()).isEqualTo("sparsa: --replay-spread must be scattered or blocks, got 'sideways'");
    }

    /** The calibration's own record of its tokens (the file's source), read back independently of the bench. */
    static long calibrationTokens(Path model, String mode) {
        try (var f = dev.sparsa.io.ModelFiles.open(model)) {
            dev.sparsa.infer.mode.SparseMode m = dev.sparsa.infer.mode.SparseMode.of(mode);
            return dev.sparsa.infer.mode.CalibrationFile.read(model.resolve("sparsa-calibration-" + mode
                    + ".safetensors"), m, dev.sparsa.infer.mode.ModelShape.of(f.config(), f.weights())).source()
                    .tokens();
        }
    }

    /** {@code bench --modes cats,topk} on {@code model}, calibrating on {@code tokens} of the text (null: no option). */
    static CliRun benchTokens(Path model, String tokens) {
        List<String> a = new ArrayList<>(List.of("bench", "--model", model.toString(), "--modes", "cats,topk",
                "--quality-text", text, "--ctx", "64", "--quality-tokens", "600", "--prompt-tokens", "8",
                "--decode-tokens", "6", "--reps", "1", "--warmup", "0", "--bandwidth-mib", "1", "--threads", "2",
                "--agreement-prompts", "3", "--agreement-tokens", "12"));
        if (tokens != null) {
            a.addAll(List.of("--calibrate-text", text, "--calibrate-tokens", tokens));
        }
        return CliRun.of(a.toArray(String[]::new));
    }

    @Test
    void calibrateTokensIsHonouredWhenAFileOfOtherTokensIsThere() throws Exception {
        Path m = EvalGolden.load().writeModelDir("silu", tmp.resolve("silu-tokens"));
        CliRun first = benchTokens(m, "400");
        assertThat(first.code()).as(first.err()).isZero();
        assertThat(first.err()).contains("calibrate: ", "over 400 tokens").doesNotContain("over 20000 tokens");
        assertThat(calibrationTokens(m, "cats")).isEqualTo(400);
        assertThat(calibrationTokens(m, "topk")).isEqualTo(400);
        // other tokens asked: calibrated on those (not the file's), the file left as it is
        CliRun other = benchTokens(m, "200");
        assertThat(other.code()).as(other.err()).isZero();
        assertThat(other.err()).contains("over 200 tokens").doesNotContain("over 400 tokens");
        assertThat(other.out()).contains("sparsa-calibration-cats.safetensors was made on 400 tokens",
                "not the 200 tokens", "kept in memory for this run");
        assertThat(calibrationTokens(m, "cats")).isEqualTo(400);
        // the file's tokens asked: the file, no calibration
        CliRun same = benchTokens(m, "400");
        assertThat(same.code()).as(same.err()).isZero();
        assertThat(same.err()).doesNotContain("calibrate: ");
        assertThat(same.out()).contains("silu-tokens: calibration sparsa-calibration-cats.safetensors (400 tokens "
                + "of ");
        // nothing asked: the file as it is, its tokens said
        CliRun plain = benchTokens(m, null);
        assertThat(plain.code()).as(plain.err()).isZero();
        assertThat(plain.err()).doesNotContain("calibrate: ");
        assertThat(plain.out()).contains("calibration sparsa-calibration-cats.safetensors (400 tokens of ");
    }

    /** The SiLU model with random LTE routers (experts of 16, N(0, 1/D) rows: about half the experts per token). */
    static Path lteModel(Path dir) {
        Path m = EvalGolden.load().writeModelDir("silu", dir);
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(11);
        List<float[]> rs = new ArrayList<>();
        for (int l = 0; l < 2; l++) {
            float[] r = new float[11 * 64];
            for (int i = 0; i < r.length; i++) {
                r[i] = (float) (rnd.nextGaussian() / 8);
            }
            rs.add(r);
        }
        new dev.sparsa.model.LteRouters(16, 0.5f, 64, 176, rs).write(m);
        return m;
    }

    @Test
    void lteRowRunsTheRoutersOrReplaysATrainedSelection() throws Exception {
        Path lte = lteModel(tmp.resolve("silu-lte"));
        Path json = tmp.resolve("lte.json");
        CliRun own = bench(lte, "lte", "--json", json.toString());
        assertThat(own.code()).as(own.err()).isZero();
        assertThat(own.out()).contains("| lte |", "routers trained, the speed model's own lte_routers.safetensors");
        JsonNode row = JSON.readTree(json.toFile()).get("rows").get(1);
        assertThat(row.get("mode").asText()).isEqualTo("lte");
        assertThat(row.get("quality_model").asText()).isEqualTo("silu-lte");
        assertThat(row.get("sparsity").asDouble()).as("about half the experts skipped").isBetween(0.2, 0.8);
        assertThat(row.get("ideal_speedup").asDouble()).isGreaterThan(1);
        assertThat(row.get("bits_per_byte").asDouble()).isFinite().isPositive();
        assertThat(row.get("bits_per_byte_delta").asDouble()).as("skipping experts costs quality").isNotZero();
        assertThat(row.get("greedy_agreement").asDouble()).isBetween(0.0, 1.0);

        Path synth = EvalGolden.load().writeModelDir("silu", tmp.resolve("silu-synth"));
        Files.writeString(synth.resolve(dev.sparsa.perf.Synth.MARKER), "{}");
        Path json2 = tmp.resolve("lte-replay.json");
        CliRun rep = bench(synth, "lte", "--quality-model", lte.toString(), "--json", json2.toString());
        assertThat(rep.code()).as(rep.err()).isZero();
        assertThat(rep.out()).contains("routers replayed from silu-lte", "as 11 experts of 16",
                "lte replays a trained LTE model's expert selection");
        JsonNode r2 = JSON.readTree(json2.toFile()).get("rows").get(1);
        assertThat(r2.get("quality_model").asText()).isEqualTo("silu-lte");
        assertThat(r2.get("bits_per_byte").asDouble()).as("quality from the trained model")
                .isEqualTo(row.get("bits_per_byte").asDouble());
        // the replayed share is the trained model's (the same prompt and the trained model's greedy tokens)
        assertThat(r2.get("sparsity").asDouble()).isBetween(0.2, 0.8);
        java.util.regex.Matcher share = java.util.regex.Pattern.compile("tokens: ([0-9.]+)% of 11 experts of 16")
                .matcher(rep.out());
        assertThat(share.find()).as(rep.out()).isTrue();
        assertThat(1 - r2.get("sparsity").asDouble()).isCloseTo(Double.parseDouble(share.group(1)) / 100,
                within(0.15));

        Path plain = EvalGolden.load().writeModelDir("silu", tmp.resolve("silu-plain"));
        EvalCommandTest.oneLineError(bench(plain, "lte"), "--quality-model: no model for --modes lte",
                "lte_routers.safetensors", "sparsify --method lte");
    }

    @Test
    void aReadOnlyModelFolderKeepsTheCalibrationInMemory() throws Exception {
        Path ro = EvalGolden.load().writeModelDir("silu", tmp.resolve("silu-ro"));
        Files.setPosixFilePermissions(ro, java.nio.file.attribute.PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            CliRun r = bench(ro, "cats");
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.out()).contains("kept in memory for this run").contains("| cats |");
            assertThat(ro.resolve("sparsa-calibration-cats.safetensors")).doesNotExist();
        } finally {
            Files.setPosixFilePermissions(ro, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    private static void oneLineError(CliRun r, String... fragments) {
        assertThat(r.code()).as(r.err()).isNotZero();
        assertThat(r.err().strip().lines()).as(r.err()).hasSize(1);
        assertThat(r.err()).contains(fragments);
        assertThat(r.err()).as("fails before the bandwidth probe").doesNotContain("memory bandwidth");
    }

    @Test
    void badModesAreOneLineBeforeAnythingRuns() {
        oneLineError(bench(relu, "dense,magic"), "--modes", "magic");
        oneLineError(bench(relu, "cats,cats"), "--modes", "cats", "twice");
        oneLineError(bench(silu, "exact"), "exact", "cats");
        oneLineError(bench(relu, "exact", "--quality-model", silu.toString()), "--quality-model", "exact");
        oneLineError(bench(relu, "cats", "--sparse", "cats"), "--modes");
        oneLineError(bench(relu, "cats", "--agreement-tokens", "0"), "--agreement-tokens");
        oneLineError(CliRun.of("bench", "--model", relu.toString(), "--html", tmp.resolve("x.html").toString()),
                "--html");
    }
}
