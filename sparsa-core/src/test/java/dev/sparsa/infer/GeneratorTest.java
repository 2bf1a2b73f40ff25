package dev.sparsa.infer;

import dev.sparsa.io.ConfigJson;
import dev.sparsa.model.llama.GoldenWeights;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class GeneratorTest {

    static LlamaModel model(GoldenWeights.Golden g) {
        return LlamaModel.load(ConfigJson.parse("golden", g.config()), g.weights());
    }

    @Test
    void greedyGenerationStreamsTheTransformersTokens() {
        GoldenWeights.Golden g = GoldenWeights.load("llama_gqa_rope3");
        List<Integer> streamed = new ArrayList<>();
        try (Parallel par = new Parallel(2)) {
            Generator.Result r = new Generator(model(g), par).generate(g.promptIds(), Generator.Options.greedy(16),
                    streamed::add);
            assertThat(r.generatedIds()).containsExactly(g.greedyIds());
            assertThat(streamed).containsExactly(Arrays.stream(g.greedyIds()).boxed().toArray(Integer[]::new));
            assertThat(r.stopReason()).isEqualTo(Generator.StopReason.MAX_TOKENS);
            assertThat(r.timing().promptTokens()).isEqualTo(g.promptIds().length);
            assertThat(r.timing().decodeTokens()).isEqualTo(15);
            assertThat(r.timing().prefillSeconds()).isPositive();
            assertThat(r.timing().decodeTokensPerSecond()).isPositive();
        }
    }

    @Test
    void stopsAtEosAndIncludesIt() {
        GoldenWeights.Golden g = GoldenWeights.load("llama_relu");
        int eos = g.greedyIds()[5];
        try (Parallel par = Parallel.serial()) {
            Generator.Result r = new Generator(model(g), par).generate(g.promptIds(),
                    Generator.Options.greedy(16, eos), id -> { });
            int firstEos = 0;
            while (g.greedyIds()[firstEos] != eos) {
                firstEos++;
            }
            assertThat(r.generatedIds()).containsExactly(Arrays.copyOf(g.greedyIds(), firstEos + 1));
            assertThat(r.stopReason()).isEqualTo(Generator.StopReason.EOS);
        }
    }

    @Test
    void stopsWhenTheContextIsFull() {
        GoldenWeights.Golden g = GoldenWeights.load("qwen2_bias_tied");   // max_position_embeddings 128
        int[] prompt = new int[120];
        Arrays.fill(prompt, 7);
        try (Parallel par = Parallel.serial()) {
            Generator.Result r = new Generator(model(g), par).generate(prompt, Generator.Options.greedy(50), id -> { });
            assertThat(r.generatedIds()).hasSize(9);   // positions 120..127 forwarded, plus the last sampled token
            assertThat(r.stopReason()).isEqualTo(Generator.StopReason.CONTEXT_FULL);
        }
    }

    @Test
    void sampledGenerationIsReproducibleForASeed() {
        GoldenWeights.Golden g = GoldenWeights.load("llama_relu");
        LlamaModel m = model(g);
        try (Parallel par = Parallel.serial()) {
            Generator gen = new Generator(m, par);
            var o = new Generator.Options(12, 1.0f, 0.9f, 1234L, null, null);
            int[] a = gen.generate(g.promptIds(), o, id -> { }).generatedIds();
            int[] b = gen.generate(g.promptIds(), o, id -> { }).generatedIds();
            int[] c = gen.generate(g.promptIds(), new Generator.Options(12, 1.0f, 0.9f, 99L, null, null), id -> { })
                    .generatedIds();
            assertThat(a).hasSize(12).containsExactly(b);
            assertThat(c).isNotEqualTo(a);
        }
    }
}
