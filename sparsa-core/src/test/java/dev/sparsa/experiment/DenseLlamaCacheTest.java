package dev.sparsa.experiment;

import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.Evaluator;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The pretrain-once cache of the demo's and the quick experiment's dense model, on the tiny model. */
class DenseLlamaCacheTest {

    @Test
    void pretrainsOnceThenLoadsTheSameFolderAndTheSavedWeightsAreTheTrainedOnes(@TempDir Path cache) throws Exception {
        assertThat(DenseLlamaCache.isCached(cache, TinyDense.spec())).isFalse();
        DenseLlamaCache.Entry first = TinyDense.model(cache);
        assertThat(DenseLlamaCache.isCached(cache, TinyDense.spec())).isTrue();
        assertThat(first.cached()).isFalse();
        assertThat(first.dir()).isEqualTo(DenseLlamaCache.location(cache, TinyDense.spec()));
        assertThat(first.dir().getFileName().toString()).matches("tiny-test-[0-9a-f]{8}");
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                DenseLlamaCache.SUMMARY)) {
            assertThat(first.dir().resolve(f)).isRegularFile();
        }
        try (var s = Files.list(first.dir().getParent())) {
            assertThat(s.toList()).containsExactly(first.dir());          // no temporary folder left behind
        }
        Map<String, Object> sum = first.summary();
        assertThat(sum.get("tokensSeen")).isEqualTo(30L * 4 * 32);
        assertThat((List<?>) ((Map<?, ?>) sum.get("curve")).get("step")).hasSize(30);
        double bpb = ((Number) ((Map<?, ?>) sum.get("final")).get("bitsPerByte")).doubleValue();
        assertThat(bpb).isBetween(0.1, 20.0);
        // the folder holds the trained weights: evaluating them gives the final validation of the run, to the bit
        try (ModelFiles files = ModelFiles.open(first.dir()); Parallel par = new Parallel(1)) {
            assertThat(files.config().hiddenAct()).isEqualTo("silu");
            Tokenizer tok = TokenizerJson.load(files.tokenizerJson());
            EvalWindows val = EvalWindows.of(TokenStream.of(TinyDense.valid(), tok, files.config().eosTokenId(),
                    TinyDense.spec().valTokens()), TinyDense.spec().seq());
            double again = new Evaluator(LlamaModel.load(files.config(), files.weights(), DenseFfn::new), par)
                    .evaluate(val).bitsPerByte();
            assertThat(again).isEqualTo(bpb);
        }
        long stamp = Files.getLastModifiedTime(first.dir().resolve("model.safetensors")).toMillis();
        DenseLlamaCache.Entry second = TinyDense.model(cache);
        assertThat(second.cached()).isTrue();
        assertThat(second.dir()).isEqualTo(first.dir());
        assertThat(second.summary()).isEqualTo(DenseLlamaCache.JSON.readValue(
                first.dir().resolve(DenseLlamaCache.SUMMARY).toFile(), Map.class));
        assertThat(Files.getLastModifiedTime(first.dir().resolve("model.safetensors")).toMillis()).isEqualTo(stamp);
    }

    @Test
    void everyOptionOfTheSpecNamesAnotherFolder() {
        DenseLlamaCache.Spec s = TinyDense.spec();
        DenseLlamaCache.Spec more = new DenseLlamaCache.Spec(s.name(), s.config(), s.steps() + 1, s.batch(), s.seq(),
                s.lr(), s.warmup(), s.seed(), s.valTokens());
        DenseLlamaCache.Spec lr = new DenseLlamaCache.Spec(s.name(), s.config(), s.steps(), s.batch(), s.seq(),
                s.lr() * 2, s.warmup(), s.seed(), s.valTokens());
        DenseLlamaCache.Spec relu = new DenseLlamaCache.Spec(s.name(), s.config().withActivation("relu", 0f),
                s.steps(), s.batch(), s.seq(), s.lr(), s.warmup(), s.seed(), s.valTokens());
        assertThat(List.of(s.folder(), more.folder(), lr.folder(), relu.folder())).doesNotHaveDuplicates();
        assertThat(s.folder()).isEqualTo(TinyDense.spec().folder());
    }
}
