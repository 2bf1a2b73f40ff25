package dev.sparsa.io.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.io.corpus.Corpus;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link BpeTrainer} against Hugging Face tokenizers' own BpeTrainer: the tokenizer.json files that
 * make_bpe_golden.py trained with HF tokenizers 0.23.2 on bpe-train.txt (same options, same byte-level setup) must
 * equal ours as JSON trees — the same vocabulary ids, the same merges in the same order, the same pipeline.
 */
class BpeTrainerGoldenTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static List<String> trainingLines() {
        return Corpus.ofTextFile(resource("bpe-train.txt")).lines();
    }

    static Path resource(String name) {
        try {
            return Path.of(BpeTrainerGoldenTest.class.getResource(name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
            "bpe-golden-v400.json; 400; 2; <|endoftext|>",
            "bpe-golden-exhaust.json; 5000; 1; <|endoftext|> <|pad|>"})
    void matchesHuggingFaceTrainer(String golden, int vocab, long minFrequency, String specials) throws Exception {
        TrainedBpe bpe = BpeTrainer.train(trainingLines(),
                new BpeTrainer.Options(vocab, minFrequency, Arrays.asList(specials.split(" "))),
                BpeTrainer.Listener.NONE);
        JsonNode want;
        try (InputStream in = getClass().getResourceAsStream(golden)) {
            want = JSON.readTree(in);
        }
        JsonNode got = JSON.readTree(bpe.tokenizerJson());
        List<String> wantMerges = new ArrayList<>();
        want.get("model").get("merges").forEach(m -> wantMerges.add(m.get(0).asText() + " " + m.get(1).asText()));
        List<String> gotMerges = bpe.merges().stream().map(m -> m.left() + " " + m.right()).toList();
        assertThat(gotMerges).as("merges in rank order").containsExactlyElementsOf(wantMerges);
        assertThat(got.get("model").get("vocab")).as("vocab").isEqualTo(want.get("model").get("vocab"));
        assertThat(got).as("the whole tokenizer.json").isEqualTo(want);
        assertThat(bpe.size()).isEqualTo(want.get("model").get("vocab").size());
    }
}
