package dev.sparsa.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.model.llama.LlamaModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The trainer end to end through the CLI: {@code pretrain} a tiny model for 3 steps, {@code sparsify} it with
 * ProSparse (2 stages of 2 steps, λ 0.1 then 0.2, FATReLU threshold auto on validation text), {@code eval} the
 * result. The outputs exist and load; train.json and train-log.jsonl carry their fields; λ follows the paper's
 * sine schedule; eval's numbers on the saved F32 model are the trainer's final validation.
 */
class TrainEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> STEP_FIELDS = List.of("step", "ce", "l1", "lambda", "lr", "gradNorm", "sparsity",
            "sparsityPerLayer", "tokensPerSecond", "seconds");

    @TempDir
    Path tmp;

    @Test
    void pretrainThenProSparseThenEval() throws Exception {
        TrainFixture f = new TrainFixture(tmp.resolve("in"));
        Path base = tmp.resolve("base");
        CliRun pre = CliRun.of(f.pretrain(base, "--steps", "3", "--checkpoint-every", "0"));
        assertThat(pre.code()).as(pre.err()).isZero();
        assertThat(pre.out()).contains("model      " + base, "steps      3 in");
        for (String file : List.of("model.safetensors", "config.json", "tokenizer.json", "train.json",
                "train-log.jsonl")) {
            assertThat(base.resolve(file)).isRegularFile();
        }
        assertThat(base.resolve("checkpoints")).doesNotExist();
        JsonNode preJson = JSON.readTree(base.resolve("train.json").toFile());
        assertThat(preJson.get("command").asText()).isEqualTo("pretrain");
        assertThat(preJson.get("steps").asInt()).isEqualTo(3);
        assertThat(preJson.get("tokensSeen").asLong()).isEqualTo(3 * 4 * 16);
        assertThat(preJson.get("parameters").asLong()).isEqualTo(2L * 512 * 32 + 32
                + 2 * (2 * 32 + 32 * 32 * 2 + 2 * 16 * 32 + 3 * 64 * 32));
        List<JsonNode> preSteps = lines(base, "ce");
        assertThat(preSteps).hasSize(3);
        // warm-up 2 then cosine to 0 at step 3: lr 1.5e-3, 3e-3, 0
        assertThat(preSteps.stream().map(n -> n.get("lr").floatValue()).toList()).containsExactly(1.5e-3f, 3e-3f, 0f);

        Path out = tmp.resolve("sparse");
        CliRun sp = CliRun.of(f.sparsify(base, out, "--method", "prosparse", "--stage-steps", "2", "--lambdas",
                "0.1,0.2", "--fatrelu-threshold", "auto", "--val-text", f.valText.toString(), "--val-every", "2",
                "--dtype", "f32", "--checkpoint-every", "2"));
        assertThat(sp.code()).as(sp.err()).isZero();
        assertThat(sp.err()).contains("validating the starting model", "FATReLU T = ");
        assertThat(sp.out()).containsPattern("model +\\S+sparse \\((relu|fatrelu, T = [0-9.]+)\\)")
                .contains("steps      4 in", "start      bits/byte", "final      bits/byte");

        JsonNode tj = JSON.readTree(out.resolve("train.json").toFile());
        assertThat(tj.get("command").asText()).isEqualTo("sparsify");
        assertThat(tj.get("method").asText()).isEqualTo("prosparse");
        assertThat(tj.get("steps").asInt()).isEqualTo(4);
        assertThat(tj.get("hiddenAct").asText()).isIn("relu", "fatrelu");
        JsonNode ms = tj.get("methodSummary");
        assertThat(ms.get("thresholdChosen").asText()).isEqualTo("auto");
        assertThat(ms.get("thresholdGrid").size()).isGreaterThanOrEqualTo(2);
        assertThat(ms.get("stageSteps").asInt()).isEqualTo(2);
        float threshold = (float) tj.get("fatreluThreshold").asDouble();
        assertThat(threshold).isEqualTo((float) ms.get("fatreluThreshold").asDouble());
        for (String k : List.of("start", "final")) {
            assertThat(tj.get(k).get("bitsPerByte").asDouble()).as(k).isPositive();
            assertThat(tj.get(k).get("sparsity").asDouble()).as(k).isBetween(0.0, 1.0);
        }
        assertThat(tj.get("validations").size()).isEqualTo(2);

        List<JsonNode> steps = lines(out, "ce");
        assertThat(steps).hasSize(4);
        float[] lambdas = {0.1f, 0.2f};
        for (JsonNode s : steps) {
            assertThat(iterable(s.fieldNames())).containsExactlyElementsOf(STEP_FIELDS);
            int step = s.get("step").asInt();
            // ProSparse eq. 3: λ = λ_{k-1} + (λ_k − λ_{k-1}) · sin(π/2 · s_k / S), stage k of S = 2 steps
            int k = (step - 1) / 2;
            int sk = step - 2 * k;
            double prev = k == 0 ? 0 : lambdas[k - 1];
            double want = prev + (lambdas[k] - prev) * Math.sin(Math.PI / 2 * sk / 2);
            assertThat(s.get("lambda").asDouble()).as("λ at step %d", step).isCloseTo(want, within(1e-7));
            assertThat(s.get("lr").floatValue()).isEqualTo(2e-3f);
            assertThat(s.get("sparsityPerLayer")).hasSize(2);
            assertThat(s.get("sparsity").asDouble()).isBetween(0.0, 1.0);
            assertThat(s.get("l1").asDouble()).isPositive();
            assertThat(s.get("gradNorm").asDouble()).isPositive();
            assertThat(s.get("tokensPerSecond").asDouble()).isPositive();
        }
        assertThat(steps.stream().map(s -> s.get("step").asInt()).toList()).containsExactly(1, 2, 3, 4);
        assertThat(steps.get(1).get("lambda").asDouble()).isCloseTo(0.1, within(1e-7));
        assertThat(steps.get(3).get("lambda").asDouble()).isCloseTo(0.2, within(1e-7));
        List<JsonNode> vals = lines(out, "validation");
        assertThat(vals.stream().map(v -> v.get("step").asInt()).toList()).containsExactly(2, 4);
        for (JsonNode v : vals) {
            assertThat(iterable(v.get("validation").fieldNames())).containsExactly("bitsPerByte", "ce", "sparsity",
                    "sparsityPerLayer");
        }
        assertThat(vals.getLast().get("validation").get("bitsPerByte").asDouble())
                .isEqualTo(tj.get("final").get("bitsPerByte").asDouble());

        JsonNode cj = JSON.readTree(out.resolve("config.json").toFile());
        assertThat(cj.get("hidden_act").asText()).isEqualTo("relu");
        if (threshold > 0) {
            assertThat(cj.get("fatrelu_threshold").floatValue()).isEqualTo(threshold);
        } else {
            assertThat(cj.has("fatrelu_threshold")).isFalse();
        }
        assertThat(out.resolve("tokenizer.json")).hasSameBinaryContentAs(base.resolve("tokenizer.json"));
        try (ModelFiles mf = ModelFiles.open(out)) {
            assertThat(mf.config().fatreluThreshold()).isEqualTo(threshold);
            assertThat(LlamaModel.load(mf.config(), mf.weights()).numLayers()).isEqualTo(2);
        }

        CliRun ev = CliRun.of("eval", "--model", out.toString(), "--text", f.valText.toString(), "--ctx", "16",
                "--threads", "2", "--json");
        assertThat(ev.code()).as(ev.err()).isZero();
        JsonNode e = JSON.readTree(ev.out());
        // the same protocol (windows of 16, EOS-separated documents) on the same F32 weights: the same numbers
        assertThat(e.get("bitsPerByte").asDouble()).isCloseTo(tj.get("final").get("bitsPerByte").asDouble(),
                within(1e-9));
        assertThat(e.get("sparsity").asDouble()).isCloseTo(tj.get("final").get("sparsity").asDouble(), within(1e-9));
    }

    private static List<JsonNode> lines(Path out, String field) throws Exception {
        List<JsonNode> r = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("train-log.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.has(field)) {
                r.add(n);
            }
        }
        return r;
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> r = new ArrayList<>();
        it.forEachRemaining(r::add);
        return r;
    }
}
