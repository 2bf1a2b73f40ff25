package dev.sparsa.eval;

import dev.sparsa.SparsaException;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The evaluator's bookkeeping on the golden ReLU model (its numbers against transformers: EvaluatorGoldenTest). */
class EvaluatorTest {
    static EvalGolden g;
    static LlamaModel relu;
    static TokenStream stream;

    @BeforeAll
    static void load() {
        g = EvalGolden.load();
        relu = g.model("relu");
        Corpus c = g.corpus();
        stream = TokenStream.of(new Corpus("first lines", c.lines().subList(0, 12)), g.tokenizer(), g.eosId());
    }

    @Test
    void windowNatsAreTheNextTokenLossesOfEachWindowRunAlone() {
        EvalWindows w = EvalWindows.of(stream, 40);
        EvalResult r;
        try (Parallel par = Parallel.serial()) {
            r = new Evaluator(relu, par).evaluate(w);
            for (int i = 0; i < w.count(); i++) {
                int[] ids = w.ids(i);
                float[] logits = relu.forward(relu.newCache(ids.length), ids, true, ActivationTap.NONE, par);
                double want = 0;
                for (int t = 0; t + 1 < ids.length; t++) {
                    want += NextTokenLoss.rowNll(logits, t * 512, 512, ids[t + 1]);
                }
                assertThat(r.windowNats()[i]).isEqualTo(want);
            }
        }
        assertThat(r.windows()).isEqualTo(w.count());
        assertThat(r.tokens()).isEqualTo(w.predictedTokens());
        assertThat(r.bytes()).isEqualTo(w.predictedBytes());
        assertThat(r.positions()).isEqualTo(stream.size());
        assertThat(r.ce()).isCloseTo(r.nats() / r.tokens(), within(1e-15));
        assertThat(r.ppl()).isCloseTo(Math.exp(r.ce()), within(1e-9));
        assertThat(r.bitsPerByte()).isCloseTo(r.nats() / Math.log(2) / r.bytes(), within(1e-15));
        assertThat(r.sparsity()).isCloseTo((r.sparsityPerLayer()[0] + r.sparsityPerLayer()[1]) / 2, within(1e-15));
    }

    @Test
    void resultsDoNotDependOnTheThreadCountOrOnEarlierCalls() {
        EvalResult one;
        EvalResult three;
        try (Parallel p1 = Parallel.serial(); Parallel p3 = new Parallel(3)) {
            one = new Evaluator(relu, p1).evaluate(EvalWindows.of(stream, 32));
            Evaluator e = new Evaluator(relu, p3);
            e.evaluate(EvalWindows.of(stream, 17)); // other buffers first
            three = e.evaluate(EvalWindows.of(stream, 32));
            EvalResult again = e.evaluate(EvalWindows.of(stream, 32));
            assertThat(again.windowNats()).isEqualTo(three.windowNats());
            assertThat(again.zerosPerLayer()).isEqualTo(three.zerosPerLayer());
        }
        assertThat(three.windowNats()).isEqualTo(one.windowNats());
        assertThat(three.nats()).isEqualTo(one.nats());
        assertThat(three.zerosPerLayer()).isEqualTo(one.zerosPerLayer());
    }

    @Test
    void progressIsReportedAfterEveryWindow() {
        EvalWindows w = EvalWindows.of(stream, 50);
        List<long[]> calls = new ArrayList<>();
        try (Parallel par = Parallel.serial()) {
            new Evaluator(relu, par).evaluate(w, (done, total, tokens) -> calls.add(new long[] {done, total, tokens}));
        }
        assertThat(calls).hasSize(w.count());
        assertThat(calls.getLast()).containsExactly(w.count(), w.count(), w.predictedTokens());
        for (int i = 0; i < calls.size(); i++) {
            assertThat(calls.get(i)[0]).isEqualTo(i + 1);
        }
    }

    @Test
    void logSoftmaxIsStableForLargeLogits() {
        float[] z = {1000f, 0f, -1000f, 999f};
        assertThat(NextTokenLoss.rowNll(z, 0, 4, 0)).isCloseTo(Math.log1p(Math.exp(-1)), within(1e-12));
        assertThat(NextTokenLoss.rowNll(z, 0, 4, 1)).isCloseTo(1000 + Math.log1p(Math.exp(-1)), within(1e-9));
        float[] flat = new float[512];
        java.util.Arrays.fill(flat, 3e38f);
        assertThat(NextTokenLoss.rowNll(flat, 0, 512, 7)).isCloseTo(Math.log(512), within(1e-12));
    }

    @Test
    void idsOutsideTheVocabularyAndTooLongWindowsAreUsageErrors() {
        Corpus c = new Corpus("bytes", List.of("\u00ff\u00fe"));
        TokenStream big = TokenStream.of(c, TokenStreamTest.BYTES, 600);
        try (Parallel par = Parallel.serial()) {
            Evaluator e = new Evaluator(relu, par);
            assertThatThrownBy(() -> e.evaluate(EvalWindows.of(big, 8)))
                    .isInstanceOf(SparsaException.UsageException.class)
                    .hasMessageContaining("token id 600 is outside the model's vocabulary [0, 512)");
            assertThatThrownBy(() -> e.evaluate(EvalWindows.of(stream, 129)))
                    .isInstanceOf(SparsaException.UsageException.class)
                    .hasMessageContaining("max_position_embeddings 128");
        }
    }
}
