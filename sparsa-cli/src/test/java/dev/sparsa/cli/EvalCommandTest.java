package dev.sparsa.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.eval.EvalGolden;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** {@code sparsa eval} on the golden ReLU Llama (scripts/golden/make_eval_golden.py) written as an HF directory. */
class EvalCommandTest {
    @TempDir
    static Path tmp;
    static EvalGolden g;
    static Path dir;
    static String text;

    @BeforeAll
    static void model() {
        g = EvalGolden.load();
        dir = g.writeModelDir("relu", tmp.resolve("relu"));
        text = g.text.toString();
    }

    @Test
    void jsonIsOneObjectWithTheGoldenNumbers() throws Exception {
        CliRun r = CliRun.of("eval", "--model", dir.toString(), "--text", text, "--ctx", String.valueOf(g.ctx()),
                "--threads", "2", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        ObjectMapper om = new ObjectMapper();
        var parser = om.createParser(r.out());
        JsonNode j = om.readTree(parser);
        assertThat(parser.nextToken()).as("nothing after the object").isNull();
        JsonNode ref = g.variant("relu");
        assertThat(j.get("bitsPerByte").asDouble()).isCloseTo(ref.get("bitsPerByte").asDouble(),
                within(1e-5 * ref.get("bitsPerByte").asDouble()));
        assertThat(j.get("ce").asDouble()).isCloseTo(ref.get("ce").asDouble(), within(1e-5 * ref.get("ce").asDouble()));
        assertThat(j.get("ppl").asDouble()).isCloseTo(ref.get("ppl").asDouble(), within(1e-4 * ref.get("ppl").asDouble()));
        assertThat(j.get("tokens").asLong()).isEqualTo(ref.get("tokens").asLong());
        assertThat(j.get("bytes").asLong()).isEqualTo(ref.get("bytes").asLong());
        assertThat(j.get("sparsityPerLayer")).hasSize(2);
        for (int l = 0; l < 2; l++) {
            double values = ref.get("values_per_layer").get(l).asDouble();
            assertThat(j.get("sparsityPerLayer").get(l).asDouble()).isCloseTo(
                    ref.get("zeros_per_layer").get(l).asDouble() / values,
                    within(ref.get("near_zero_per_layer").get(l).asDouble() / values + 1e-12));
        }
        assertThat(j.get("sparsity").asDouble()).isBetween(0.3, 0.7);
        assertThat(j.get("ctx").asInt()).isEqualTo(g.ctx());
        assertThat(j.get("ctxSource").asText()).isEqualTo("--ctx");
        assertThat(j.get("eosId").asInt()).isEqualTo(g.eosId());
        assertThat(j.get("eosSource").asText()).isEqualTo("config.json eos_token_id");
        assertThat(j.get("corpus").asText()).isEqualTo("text.txt");
        assertThat(j.get("model").asText()).isEqualTo(dir.toString());
        assertThat(j.get("windows").asInt()).isEqualTo(g.golden.get("windows").size());
        assertThat(r.err()).contains("sparsa: evaluating").contains("eval"); // progress on stderr only
    }

    @Test
    void tableAndDefaultContextOfASmallModel() {
        CliRun r = CliRun.of("eval", "--model", dir.toString(), "--text", text, "--max-tokens", "300");
        assertThat(r.code()).as(r.err()).isZero();
        // max_position_embeddings 128 < 256: the window is the model's max positions, and the table says so
        assertThat(r.out()).contains("windows    3 of 128 tokens (ctx: the model's max positions (below the "
                + "default 256))").contains("tokens     297 predicted of 300").contains("bits/byte ")
                .contains("PPL ").contains("CE ").contains("sparsity ");
    }

    @Test
    void ggufAndSafetensorsFileGiveTheSameNumbers() throws Exception {
        Path d = g.writeModelDir("relu", tmp.resolve("gguf"));
        Path gguf = d.resolve("model-f32.gguf"); // beside tokenizer.json, which eval then uses
        try (dev.sparsa.io.ModelFiles files = dev.sparsa.io.ModelFiles.open(d)) {
            dev.sparsa.io.GgufExport.write(files, gguf, dev.sparsa.tensor.DType.F32, null);
        }
        ObjectMapper om = new ObjectMapper();
        JsonNode ref = om.readTree(CliRun.of("eval", "--model", dir.toString(), "--text", text, "--ctx", "64",
                "--max-tokens", "640", "--json").out());
        for (Path m : new Path[] {gguf, d.resolve("model.safetensors")}) {
            CliRun r = CliRun.of("eval", "--model", m.toString(), "--text", text, "--ctx", "64", "--max-tokens",
                    "640", "--json");
            assertThat(r.code()).as(r.err()).isZero();
            JsonNode j = om.readTree(r.out());
            assertThat(j.get("tokens").asLong()).isEqualTo(ref.get("tokens").asLong());
            assertThat(j.get("bytes").asLong()).isEqualTo(ref.get("bytes").asLong());
            assertThat(j.get("ce").asDouble()).isCloseTo(ref.get("ce").asDouble(), within(1e-6));
            assertThat(j.get("sparsityPerLayer").get(1).asDouble()).isCloseTo(
                    ref.get("sparsityPerLayer").get(1).asDouble(), within(1e-4));
        }
        JsonNode j = om.readTree(CliRun.of("eval", "--model", gguf.toString(), "--text", text, "--max-tokens", "100",
                "--json").out());
        assertThat(j.get("format").asText()).isEqualTo("gguf");
        assertThat(j.get("eosSource").asText()).isEqualTo("tokenizer.ggml.eos_token_id");
    }

    @Test
    void eosFromTheTokenizerWhenTheConfigHasNone() throws Exception {
        Path d = tmp.resolve("no-eos");
        g.writeModelDir("relu", d);
        JsonNode cfg = new ObjectMapper().readTree(d.resolve("config.json").toFile());
        ((com.fasterxml.jackson.databind.node.ObjectNode) cfg).putNull("eos_token_id");
        Files.writeString(d.resolve("config.json"), cfg.toString());
        CliRun r = CliRun.of("eval", "--model", d.toString(), "--text", text, "--max-tokens", "100", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("eosId").asInt()).isZero(); // <|endoftext|>
        assertThat(j.get("eosSource").asText()).isEqualTo("the tokenizer's EOS token");
        CliRun explicit = CliRun.of("eval", "--model", d.toString(), "--text", text, "--max-tokens", "100",
                "--eos-id", "7", "--json");
        assertThat(new ObjectMapper().readTree(explicit.out()).get("eosSource").asText()).isEqualTo("--eos-id");
    }

    static void oneLineError(CliRun r, String... parts) {
        assertThat(r.code()).as(r.out()).isNotZero();
        assertThat(r.out()).isEmpty();
        assertThat(r.err().strip().lines().count()).as(r.err()).isEqualTo(1);
        assertThat(r.err()).startsWith("sparsa: ");
        for (String p : parts) {
            assertThat(r.err()).contains(p);
        }
    }

    @Test
    void badInputIsOneLine() throws Exception {
        String m = dir.toString();
        oneLineError(CliRun.of("eval", "--model", m, "--text", text, "--ctx", "1"), "--ctx must be at least 2");
        oneLineError(CliRun.of("eval", "--model", m, "--text", text, "--ctx", "129"),
                "--ctx 129 exceeds the model's max positions (128)");
        oneLineError(CliRun.of("eval", "--model", m, "--text", text, "--corpus", "brown-valid"), "not both");
        oneLineError(CliRun.of("eval", "--model", m, "--text", text, "--max-tokens", "1"),
                "--max-tokens must be at least 2");
        oneLineError(CliRun.of("eval", "--model", m, "--text", text, "--eos-id", "512"),
                "EOS id 512 (--eos-id) is outside the model's vocabulary [0, 512)");
        oneLineError(CliRun.of("eval", "--model", m, "--text", text, "--threads", "0"), "--threads must be >= 1");
        oneLineError(CliRun.of("eval", "--model", m, "--corpus", "wiki"), "--corpus wiki: unknown corpus");
        Path empty = Files.writeString(tmp.resolve("empty.txt"), " \n\t\n");
        oneLineError(CliRun.of("eval", "--model", m, "--text", empty.toString()), "empty text");
        oneLineError(CliRun.of("eval", "--model", m, "--text", tmp.resolve("missing.txt").toString()),
                "no such file");
        oneLineError(CliRun.of("eval", "--model", tmp.resolve("nothing").toString(), "--text", text),
                "no such file or directory");
        oneLineError(CliRun.of("eval", "--text", text), "--model");

        Path bert = dev.sparsa.io.TinyModels.bertStub(tmp.resolve("bert"));
        oneLineError(CliRun.of("eval", "--model", bert.toString(), "--text", text), "eval needs a decoder",
                "this is bert");

        Path noTok = tmp.resolve("no-tokenizer");
        g.writeModelDir("relu", noTok);
        Files.delete(noTok.resolve("tokenizer.json"));
        oneLineError(CliRun.of("eval", "--model", noTok.toString(), "--text", text), "no tokenizer.json found");
    }
}
