package dev.sparsa.profile.adapter;

import dev.sparsa.eval.EvalGolden;
import dev.sparsa.eval.EvalResult;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.Evaluator;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.profile.ProfileOptions;
import dev.sparsa.profile.ProfileResults;
import dev.sparsa.profile.Profiler;
import dev.sparsa.profile.ProgressListener;
import dev.sparsa.profile.Windows;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** A decoder's profile measures CE / PPL / bits-per-byte by the evaluation protocol: the numbers of the evaluator. */
class LlamaProfileProtocolTest {

    @Test
    void profileDenseNumbersEqualTheEvaluators() {
        EvalGolden g = EvalGolden.load();
        LlamaModel model = g.model("relu");
        Tokenizer tok = g.tokenizer();
        Corpus c = g.corpus();
        long budget = 700; // 10 windows of 64 + a partial one of 60
        try (Parallel par = new Parallel(2)) {
            LlamaProfiledModel m = new LlamaProfiledModel("golden relu", model, tok, 64, par);
            assertThat(m.contextLength()).isEqualTo(64);
            assertThat(m.eosId()).isEqualTo(g.eosId());
            Windows w = Windows.decoder(c, tok, m.eosId(), m.contextLength(), budget);
            EvalWindows ew = EvalWindows.of(TokenStream.of(c, tok, g.eosId(), budget), 64);
            assertThat(w.windows()).hasSize(ew.count());
            for (int i = 0; i < ew.count(); i++) {
                assertThat(w.windows().get(i)).isEqualTo(ew.ids(i));
            }
            assertThat(w.windows().getLast()).hasSize(700 - 640);
            assertThat(w.tokens()).isEqualTo(budget);
            assertThat(w.bytes()).isEqualTo(ew.predictedBytes());

            ProfileOptions o = ProfileOptions.defaults().withTokens(budget).withCalibrationTokens(64)
                    .withEvalTokens(128).withBisectionSteps(1).withPredictor(4, 1, 64);
            ProfileResults res = new Profiler(m, o, par, ProgressListener.NONE).run(w, c.name(), c.bytes());
            EvalResult e = new Evaluator(model, par).evaluate(ew);
            assertThat(res.dense().predicted()).isEqualTo(e.tokens());
            assertThat(res.dense().nll()).isCloseTo(e.ce(), within(1e-12 * e.ce()));
            assertThat(res.dense().ppl()).isCloseTo(e.ppl(), within(1e-10 * e.ppl()));
            assertThat(res.dense().bitsPerByte()).isCloseTo(e.bitsPerByte(), within(1e-12 * e.bitsPerByte()));
            assertThat(res.run().bytes()).isEqualTo(e.bytes());
            for (int l = 0; l < 2; l++) { // ReLU: the profile's zero sparsity is the evaluator's
                assertThat(res.layers().get(l).zeroSparsity().mean()).isCloseTo(e.sparsityPerLayer()[l],
                        within(1e-9));
            }
        }
    }
}
