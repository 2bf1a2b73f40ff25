package dev.sparsa.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.eval.EvalGolden;
import dev.sparsa.io.TinyModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * {@code sparsa calibrate} and {@code --sparse MODE} end to end on the eval golden's models written as HF folders:
 * the file lands beside the model, every command finds it, eval reports the measured sparsity (and a predictor's
 * recall), and every bad input of the issue is one line and a non-zero exit.
 */
class CalibrateCommandTest {
    @TempDir
    static Path tmp;
    static EvalGolden g;
    static Path silu;
    static Path relu;
    static String text;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void models() {
        g = EvalGolden.load();
        silu = g.writeModelDir("silu", tmp.resolve("silu"));
        relu = g.writeModelDir("relu", tmp.resolve("relu"));
        text = g.text.toString();
    }

    static JsonNode json(CliRun r) throws Exception {
        assertThat(r.code()).as(r.err()).isZero();
        return JSON.readTree(r.out());
    }

    static CliRun calibrate(Path model, String... more) {
        List<String> a = new java.util.ArrayList<>(List.of("calibrate", "--model", model.toString(), "--text", text,
                "--ctx", "64", "--threads", "2", "--json"));
        a.addAll(List.of(more));
        return CliRun.of(a.toArray(String[]::new));
    }

    static CliRun eval(Path model, String... more) {
        List<String> a = new java.util.ArrayList<>(List.of("eval", "--model", model.toString(), "--text", text,
                "--ctx", "64", "--threads", "2", "--json"));
        a.addAll(List.of(more));
        return CliRun.of(a.toArray(String[]::new));
    }

    @Test
    void calibratedModesAreFoundBesideTheModelByEveryCommand() throws Exception {
        for (String method : new String[] {"cats", "topk", "teal"}) {
            JsonNode c = json(calibrate(silu, "--method", method, "--target", "0.5"));
            Path file = silu.toAbsolutePath().resolve("sparsa-calibration-" + method + ".safetensors");
            assertThat(c.get("calibration").asText()).isEqualTo(file.toString());
            assertThat(Files.isRegularFile(file)).isTrue();
            assertThat(c.get("measuredSparsity").asDouble()).as(method).isCloseTo(0.5, within(0.01));
            assertThat(c.get("bitsPerByte").asDouble()).isFinite();
            JsonNode e = json(eval(silu, "--sparse", method));
            assertThat(e.get("mode").asText()).isEqualTo(method);
            assertThat(e.get("calibration").asText()).isEqualTo(file.toString());
            double measured = method.equals("teal") ? e.get("sparse").get("tealSparsity").asDouble()
                    : e.get("sparsity").asDouble();
            assertThat(measured).as(method).isCloseTo(0.5, within(0.01));
            assertThat(e.get("sparsityPerLayer")).hasSize(2);
        }
        CliRun gen = CliRun.of("generate", "--model", silu.toString(), "--prompt-ids", "1,2,3", "--max-tokens", "4",
                "--sparse", "cats", "--json");
        assertThat(json(gen).get("ffn").asText()).isEqualTo("cats");
        CliRun prof = CliRun.of("profile", "--model", silu.toString(), "--text", text, "--tokens", "300",
                "--sparse", "topk", "--out", tmp.resolve("prof").toString(), "--eval-tokens", "64",
                "--predictor-tokens", "64", "--calibration-tokens", "64", "--threads", "2");
        assertThat(prof.code()).as(prof.err()).isZero();
    }

    /** --sparse attribution from the command line: calibrate writes the file beside the model, eval finds it. */
    @Test
    void attributionModeIsCalibratedAndFoundBesideTheModel() throws Exception {
        JsonNode c = json(calibrate(silu, "--method", "attribution", "--target", "0.5"));
        Path file = silu.toAbsolutePath().resolve("sparsa-calibration-attribution.safetensors");
        assertThat(c.get("calibration").asText()).isEqualTo(file.toString());
        assertThat(c.get("measuredSparsity").asDouble()).isCloseTo(0.5, within(0.01));
        JsonNode e = json(eval(silu, "--sparse", "attribution"));
        assertThat(e.get("mode").asText()).isEqualTo("attribution");
        assertThat(e.get("sparsity").asDouble()).isCloseTo(0.5, within(0.01));
        Path cats = tmp.resolve("foreign-cats.safetensors");
        json(calibrate(silu, "--method", "cats", "--out", cats.toString(), "--no-check", "--tokens", "500"));
        EvalCommandTest.oneLineError(eval(silu, "--sparse", "attribution", "--calibration", cats.toString()),
                "is a calibration for --sparse cats, not attribution");
    }

    @Test
    void predictedModeReportsRecallAndPrecision() throws Exception {
        JsonNode c = json(calibrate(relu, "--method", "predictor", "--recall", "0.95", "--rank", "32",
                "--epochs", "4", "--out", tmp.resolve("relu-pred.safetensors").toString()));
        assertThat(c.get("target").isNull()).isTrue();                    // labels: the exact zeros
        assertThat(c.get("measuredRecall").asDouble()).isGreaterThan(0.85);
        JsonNode e = json(eval(relu, "--sparse", "predicted", "--calibration",
                tmp.resolve("relu-pred.safetensors").toString()));
        assertThat(e.get("recall").asDouble()).isGreaterThan(0.85).isLessThanOrEqualTo(1.0);
        assertThat(e.get("precision").asDouble()).isBetween(0.0, 1.0);
        assertThat(e.get("sparsity").asDouble()).isGreaterThan(0.3);
        JsonNode exact = json(eval(relu, "--sparse", "exact"));
        JsonNode dense = json(eval(relu));
        assertThat(exact.get("bitsPerByte").asDouble()).isCloseTo(dense.get("bitsPerByte").asDouble(),
                within(1e-5));
        assertThat(exact.get("sparsity").asDouble()).isCloseTo(dense.get("sparsity").asDouble(), within(1e-9));
    }

    @Test
    void badInputIsOneLine() throws Exception {
        String s = silu.toString();
        EvalCommandTest.oneLineError(eval(silu, "--sparse", "exact"), "--sparse exact needs a ReLU-family model",
                "this model uses silu: use --sparse cats, teal or predicted");
        Path fresh = g.writeModelDir("silu", tmp.resolve("fresh"));
        EvalCommandTest.oneLineError(eval(fresh, "--sparse", "cats"), "sparsa-calibration-cats.safetensors",
                "no calibration file for --sparse cats; make one with sparsa calibrate --method cats");
        // a calibration of another mode, of a model of another shape, of changed weights
        Path cats = tmp.resolve("cats.safetensors");
        json(calibrate(fresh, "--method", "cats", "--out", cats.toString(), "--no-check", "--tokens", "500"));
        EvalCommandTest.oneLineError(eval(fresh, "--sparse", "teal", "--calibration", cats.toString()),
                "is a calibration for --sparse cats, not teal");
        Path other = TinyModels.writeDir(tmp.resolve("other"), TinyModels.llama(), 3);
        EvalCommandTest.oneLineError(CliRun.of("generate", "--model", other.toString(), "--prompt-ids", "1,2",
                        "--sparse", "cats", "--calibration", cats.toString()),
                "was made for another model: its intermediate_size 176, this model has 96");
        dev.sparsa.io.MapWeights retrained = g.weights("silu");              // one layer's up projection retrained
        String name = "model.layers.1.mlp.up_proj.weight";
        dev.sparsa.tensor.Tensor up = retrained.tensor(name);
        float[] v = dev.sparsa.tensor.Kernels.toFloats(up);
        for (int i = 0; i < v.length; i++) {
            v[i] *= 1.001f;
        }
        retrained.put(dev.sparsa.tensor.Tensor.f32(name, v, up.shape()));
        dev.sparsa.io.SafetensorsWriter.write(fresh.resolve("model.safetensors"),
                new java.util.ArrayList<>(retrained.asMap().values()), Map.of("format", "pt"));
        EvalCommandTest.oneLineError(eval(fresh, "--sparse", "cats", "--calibration", cats.toString()),
                "is stale: the model's weights changed since calibration");
        // targets and recalls out of range, unknown modes and methods, options that do not go together
        for (String t : new String[] {"0", "1", "1.5", "-0.2"}) {
            EvalCommandTest.oneLineError(calibrate(silu, "--method", "cats", "--target", t),
                    "--target must be in (0, 1), got");
        }
        for (String r : new String[] {"0", "1.2"}) {
            EvalCommandTest.oneLineError(calibrate(silu, "--method", "predictor", "--recall", r),
                    "--recall must be in (0, 1], got");
        }
        EvalCommandTest.oneLineError(calibrate(silu, "--method", "magic"), "--method must be one of cats, teal, "
                + "topk, predictor, attribution, got magic");
        EvalCommandTest.oneLineError(eval(silu, "--sparse", "magic"), "--sparse must be one of dense, exact, cats, "
                + "teal, topk, predicted, lte, attribution, got magic");
        EvalCommandTest.oneLineError(eval(silu, "--sparse", "dense", "--calibration", cats.toString()),
                "--calibration is for the calibrated modes");
        EvalCommandTest.oneLineError(calibrate(relu, "--method", "predictor", "--target", "0.5"),
                "a predictor of a ReLU-family model (relu) learns its exact zeros; give no --target");
        EvalCommandTest.oneLineError(calibrate(silu, "--method", "teal", "--allocation", "random"),
                "--allocation must be uniform or greedy, got random");
        EvalCommandTest.oneLineError(calibrate(silu, "--method", "predictor", "--predictor-dtype", "q4_0"),
                "--predictor-dtype must be auto, f32, bf16 or q8_0, got q4_0");
        EvalCommandTest.oneLineError(calibrate(silu, "--method", "predictor", "--rank", "8", "--predictor-dtype",
                "q8_0"), "--predictor-dtype q8_0 needs the hidden size (");
        EvalCommandTest.oneLineError(calibrate(silu, "--method", "predictor", "--rank", "8", "--predictor-dtype",
                "q8_0"), ") and --rank (8) to be multiples of 32; use bf16 or f32");
        EvalCommandTest.oneLineError(CliRun.of("generate", "--model", s, "--prompt-ids", "1", "--sparse", "cats",
                "--ffn", "exact-sparse"), "give --sparse MODE or --ffn KERNEL, not both");
    }
}
