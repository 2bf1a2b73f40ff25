package dev.sparsa.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.model.llama.GoldenWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

class GenerateCommandTest {
    @TempDir
    Path tmp;

    static String ids(int[] ids) {
        return Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    @Test
    void jsonGreedyGenerationMatchesTransformers() throws Exception {
        GoldenWeights.Golden g = GoldenWeights.load("llama_gqa_rope3");
        Path dir = g.writeDir(tmp.resolve("m"));
        CliRun r = CliRun.of("generate", "--model", dir.toString(), "--prompt-ids", ids(g.promptIds()),
                "--max-tokens", "16", "--threads", "2", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(new ObjectMapper().convertValue(j.get("generated_ids"), int[].class)).containsExactly(g.greedyIds());
        assertThat(new ObjectMapper().convertValue(j.get("prompt_ids"), int[].class)).containsExactly(g.promptIds());
        assertThat(j.get("tokens")).hasSize(16);
        assertThat(j.get("tokens").get(0).get("id").asInt()).isEqualTo(g.greedyIds()[0]);
        assertThat(j.get("stop_reason").asText()).isEqualTo("max_tokens");
        assertThat(j.get("timing").get("decode_tokens").asInt()).isEqualTo(15);
        assertThat(j.get("timing").get("decode_tokens_per_second").asDouble()).isPositive();
    }

    @Test
    void stopsAtAnEosListedInGenerationConfig() throws Exception {
        GoldenWeights.Golden g = GoldenWeights.load("llama_gqa_rope3");
        Path dir = g.writeDir(tmp.resolve("m"));
        int eos = g.greedyIds()[3];
        java.nio.file.Files.writeString(dir.resolve("generation_config.json"),
                "{\"bos_token_id\": 1, \"eos_token_id\": [500, " + eos + "]}");
        CliRun r = CliRun.of("generate", "--model", dir.toString(), "--prompt-ids", ids(g.promptIds()), "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        int[] got = new ObjectMapper().convertValue(j.get("generated_ids"), int[].class);
        assertThat(got[got.length - 1]).isEqualTo(eos);
        assertThat(got).containsExactly(Arrays.copyOf(g.greedyIds(), got.length));
        assertThat(j.get("stop_reason").asText()).isEqualTo("eos");
    }

    @Test
    void ggufModelGeneratesTheSameTokens() throws Exception {
        GoldenWeights.Golden g = GoldenWeights.load("qwen2_bias_tied");
        Path dir = g.writeDir(tmp.resolve("m"));
        Path gguf = dir.resolve("model-f32.gguf");   // beside tokenizer.json, which generate then finds
        try (dev.sparsa.io.ModelFiles files = dev.sparsa.io.ModelFiles.open(dir)) {
            dev.sparsa.io.GgufExport.write(files, gguf, dev.sparsa.tensor.DType.F32, null);
        }
        CliRun r = CliRun.of("generate", "--model", gguf.toString(), "--prompt-ids", ids(g.promptIds()),
                "--max-tokens", "16", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        // greedy ids of the golden qwen2 model; the GGUF vocabulary's EOS (id 3 of the tiny tokenizer) never comes up
        assertThat(new ObjectMapper().convertValue(j.get("generated_ids"), int[].class)).containsExactly(g.greedyIds());
        CliRun text = CliRun.of("generate", "--model", gguf.toString(), "--prompt", "ab", "--max-tokens", "2",
                "--json");
        assertThat(text.code()).as(text.err()).isZero();

        // Alone, the GGUF tokenizes with the vocabulary it carries: same prompt ids as tokenizer.json gave.
        Path alone = tmp.resolve("alone");
        java.nio.file.Files.createDirectories(alone);
        Path moved = java.nio.file.Files.move(gguf, alone.resolve("model.gguf"));
        CliRun own = CliRun.of("generate", "--model", moved.toString(), "--prompt", "ab", "--max-tokens", "2",
                "--json");
        assertThat(own.code()).as(own.err()).isZero();
        assertThat(new ObjectMapper().readTree(text.out()).get("prompt_ids").size()).isPositive();
        assertThat(new ObjectMapper().readTree(own.out()).get("prompt_ids"))
                .isEqualTo(new ObjectMapper().readTree(text.out()).get("prompt_ids"));
    }

    @Test
    void textPromptStreamsAndReportsSpeed() {
        // the tiny SentencePiece-style tokenizer beside the golden model (12 tokens; other ids decode to nothing)
        GoldenWeights.Golden g = GoldenWeights.load("llama_relu");
        Path dir = g.writeDir(tmp.resolve("m"));
        CliRun r = CliRun.of("generate", "--model", dir.toString(), "--prompt", "ab a", "--max-tokens", "5",
                "--threads", "1");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("ab a");
        assertThat(r.err()).contains("tok/s decode").contains("stop: max_tokens");
        CliRun j = CliRun.of("generate", "--model", dir.toString(), "--prompt", "ab a", "--max-tokens", "5", "--json",
                "--ffn", "exact-sparse", "--temperature", "0.7", "--seed", "3");
        assertThat(j.code()).as(j.err()).isZero();
        int[] expected = dev.sparsa.io.tokenizer.TokenizerJson.load(dir.resolve("tokenizer.json")).encode("ab a", true);
        assertThat(j.out()).contains("\"prompt\" : \"ab a\"")
                .contains("\"prompt_ids\" : [ " + ids(expected).replace(",", ", ") + " ]");
    }

    @Test
    void badInputIsOneLine() {
        CliRun r = CliRun.of("generate", "--model", tmp.resolve("nope").toString(), "--prompt-ids", "1,2");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip()).startsWith("sparsa: ").doesNotContain("\n").contains("nope");
        GoldenWeights.Golden g = GoldenWeights.load("llama_gqa_rope3");
        Path dir = g.writeDir(tmp.resolve("m"));
        CliRun sparse = CliRun.of("generate", "--model", dir.toString(), "--prompt-ids", "1,2", "--ffn", "exact-sparse");
        assertThat(sparse.code()).isEqualTo(2);
        assertThat(sparse.err().strip()).isEqualTo("sparsa: layer 0: the exact-sparse FFN needs a ReLU-family "
                + "activation (relu, relu2, fatrelu), the model uses silu");
        CliRun both = CliRun.of("generate", "--model", dir.toString(), "--prompt-ids", "1,2", "--prompt", "x");
        assertThat(both.err().strip()).isEqualTo("sparsa: give exactly one of --prompt and --prompt-ids");
        CliRun big = CliRun.of("generate", "--model", dir.toString(), "--prompt-ids", "1,999");
        assertThat(big.err().strip()).isEqualTo("sparsa: token id 999 is outside the vocabulary [0, 512)");
    }

    @Test
    void optionValuesThatCannotWorkAreRefusedInOneLine() {
        GoldenWeights.Golden g = GoldenWeights.load("llama_gqa_rope3");
        Path dir = g.writeDir(tmp.resolve("m"));
        String[][] cases = {
                {"--max-tokens", "0", "sparsa: --max-tokens must be >= 1, got 0"},
                {"--max-tokens", "-3", "sparsa: --max-tokens must be >= 1, got -3"},
                {"--temperature", "-0.5", "sparsa: --temperature must be >= 0 (0 = greedy), got -0.5"},
                {"--temperature", "NaN", "sparsa: --temperature must be >= 0 (0 = greedy), got NaN"},
                {"--top-p", "0", "sparsa: --top-p must be in (0, 1], got 0.0"},
                {"--top-p", "1.5", "sparsa: --top-p must be in (0, 1], got 1.5"},
                {"--threads", "0", "sparsa: --threads must be >= 1, got 0"},
        };
        for (String[] c : cases) {
            CliRun r = CliRun.of("generate", "--model", dir.toString(), "--prompt-ids", "1,2", c[0], c[1]);
            assertThat(r.code()).as(c[0] + " " + c[1]).isEqualTo(2);
            assertThat(r.err().lines().toList()).as(c[0] + " " + c[1]).containsExactly(c[2]);
        }
        CliRun ok = CliRun.of("generate", "--model", dir.toString(), "--prompt-ids", "1,2", "--top-p", "1",
                "--temperature", "0.8", "--max-tokens", "1", "--json");
        assertThat(ok.code()).as(ok.err()).isZero();
    }
}
