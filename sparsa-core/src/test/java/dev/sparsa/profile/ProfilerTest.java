package dev.sparsa.profile;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.profile.toy.ToyModel;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** End-to-end profiles of the synthetic toy models (the real models are tested where their adapters live). */
class ProfilerTest {

    static Corpus text(int lines) {
        Random r = new Random(11);
        String[] words = {"the", "jury", "said", "election", "county", "of", "a", "in", "and", "was", "report",
                "city", "vote", "mayor", "law"};
        List<String> out = new ArrayList<>();
        for (int i = 0; i < lines; i++) {
            StringBuilder sb = new StringBuilder();
            for (int w = 0; w < 12; w++) {
                sb.append(w == 0 ? "" : " ").append(words[r.nextInt(words.length)]);
            }
            out.add(sb.append('.').toString());
        }
        return new Corpus("synthetic", out);
    }

    static ProfileResults profile(ToyModel m, int threads, long tokens) {
        Corpus c = text(80);
        Windows w = Windows.of(c, m.tokenizer(), m.contextLength(), tokens);
        ProfileOptions o = ProfileOptions.defaults().withTokens(tokens).withCalibrationTokens(256)
                .withEvalTokens(256).withPredictor(8, 3, 512).withBisectionSteps(3);
        try (Parallel par = new Parallel(threads)) {
            return new Profiler(m, o, par, ProgressListener.NONE).run(w, c.name(), c.bytes());
        }
    }

    @Test
    void reluDecoderProfileIsConsistent() {
        ProfileResults r = profile(ToyModel.of("toy-relu"), 1, 2048);
        assertThat(r.run().tokens()).isEqualTo(2048);
        assertThat(r.run().windows()).isEqualTo(32);
        assertThat(r.layers()).hasSize(2);
        assertThat(r.dense().ppl()).isGreaterThan(1);
        assertThat(r.dense().bitsPerByte()).isCloseTo(r.dense().nll() * r.dense().predicted() / Math.log(2)
                / r.run().bytes(), within(1e-9));
        for (ProfileResults.Layer l : r.layers()) {
            double zero = l.zeroSparsity().mean();
            assertThat(zero).isBetween(0.2, 0.9);
            // For ReLU, removing the exact zeros costs CETT 0, so CETT-0 sparsity is at least zero sparsity.
            assertThat(l.cett().curve().getFirst().sparsity()).isGreaterThanOrEqualTo(zero - 1e-12);
            double prev = -1;
            for (var p : l.cett().curve()) {
                assertThat(p.sparsity()).isGreaterThanOrEqualTo(prev);
                prev = p.sparsity();
            }
            // active = h ≠ 0, so the dead-neuron rate is the zero sparsity.
            assertThat(l.deadNeurons().rate().mean()).isCloseTo(zero, within(1e-12));
            assertThat(l.activeEpsilon()).isZero();
            assertThat(l.predictor().recall()).isBetween(0.0, 1.0);
            assertThat(l.affinity().reuse().getFirst().reuse()).isBetween(0.0, 1.0);
        }
        ProfileResults.QualitySparsity qs = r.qualitySparsity();
        assertThat(qs.metric()).isEqualTo("ppl");
        for (ProfileResults.Target t : qs.targets()) {
            assertThat(t.point().degradation()).isLessThanOrEqualTo(t.p() / 100 + 1e-12);
        }
        assertThat(r.predictivity().computedFraction()).isBetween(0.0, 1.0);
    }

    @Test
    void geluEncoderUsesTheCosineAnalogueAndSkipsPerplexity() {
        ProfileResults r = profile(ToyModel.of("toy-gelu"), 1, 1024);
        assertThat(r.dense()).isNull();
        assertThat(r.notes()).anyMatch(n -> n.contains("perplexity and bits-per-byte skipped"));
        assertThat(r.qualitySparsity().metric()).isEqualTo("cosine");
        for (ProfileResults.Layer l : r.layers()) {
            assertThat(l.zeroSparsity().mean()).isLessThan(0.01);
            assertThat(l.cett().curve().getFirst().sparsity()).isZero(); // CETT 0 ⇒ sparsity 0 without zeros
            assertThat(l.activeEpsilon()).isPositive();
            // calibrated ε at c = 0.2 is the active threshold, so dead rate = calibrated sparsity at 0.2
            assertThat(l.deadNeurons().rate().mean())
                    .isCloseTo(l.cett().targets().get(1).calibrated().mean(), within(1e-12));
        }
        for (ProfileResults.Target t : r.qualitySparsity().targets()) {
            assertThat(t.point().degradation()).isLessThanOrEqualTo(t.p() / 100 + 1e-12);
        }
    }

    @Test
    void resultsAreDeterministicAndIndependentOfThreadCount() throws Exception {
        ObjectMapper om = new ObjectMapper();
        ObjectNode a = om.valueToTree(profile(ToyModel.of("toy-relu"), 1, 1024));
        ObjectNode b = om.valueToTree(profile(ToyModel.of("toy-relu"), 2, 1024));
        for (ObjectNode n : List.of(a, b)) {
            ObjectNode run = (ObjectNode) n.get("run");
            run.remove(List.of("seconds", "profileTokensPerSecond", "threads"));
        }
        assertThat(om.writeValueAsString(a)).isEqualTo(om.writeValueAsString(b));
    }
}
