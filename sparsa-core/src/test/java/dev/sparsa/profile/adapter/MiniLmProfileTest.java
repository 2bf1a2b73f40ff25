package dev.sparsa.profile.adapter;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.onnx.OnnxModel;
import dev.sparsa.io.tokenizer.TokenizerJson;
import dev.sparsa.model.bert.BertModel;
import dev.sparsa.profile.ProfileOptions;
import dev.sparsa.profile.ProfileResults;
import dev.sparsa.profile.Profiler;
import dev.sparsa.profile.ProgressListener;
import dev.sparsa.profile.Windows;
import dev.sparsa.profile.metric.CettMetric;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The profiler on the real all-MiniLM-L6-v2 (from the langchain4j test dependency), two short windows. */
class MiniLmProfileTest {
    static BertModel bert;
    static dev.sparsa.io.tokenizer.Tokenizer tok;

    static final String TEXT = "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary "
            + "election produced no evidence that any irregularities took place. The jury further said in term-end "
            + "presentments that the City Executive Committee, which had over-all charge of the election, deserves "
            + "the praise and thanks of the City of Atlanta for the manner in which the election was conducted. The "
            + "September-October term jury had been charged by Fulton Superior Court Judge Durwood Pye to "
            + "investigate reports of possible irregularities in the hard-fought primary which was won by "
            + "Mayor-nominate Ivan Allen Jr. Only a relative handful of such reports was received, the jury said, "
            + "considering the widespread interest in the election, the number of voters and the size of this city. "
            + "The jury said it did find that many of Georgia's registration and election laws are outmoded or "
            + "inadequate and often ambiguous. It recommended that Fulton legislators act to have these laws "
            + "studied and revised to the end of modernizing and improving them.";

    @BeforeAll
    static void load() throws Exception {
        try (InputStream in = MiniLmProfileTest.class.getResourceAsStream("/all-minilm-l6-v2.onnx");
             InputStream t = MiniLmProfileTest.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            bert = BertModel.fromOnnx(OnnxModel.parse("minilm", in.readAllBytes()));
            tok = TokenizerJson.load(t, "all-minilm-l6-v2-tokenizer.json");
        }
    }

    static ProfileResults profile(int threads) {
        try (Parallel par = new Parallel(threads)) {
            BertProfiledModel m = new BertProfiledModel("all-MiniLM-L6-v2", bert, tok, 126, par);
            Corpus c = new Corpus("brown-excerpt", List.of(TEXT, TEXT.toLowerCase(java.util.Locale.ROOT)));
            Windows w = Windows.of(c, m.tokenizer(), m.contextLength(), 252);
            ProfileOptions o = ProfileOptions.defaults().withTokens(252).withCalibrationTokens(128)
                    .withEvalTokens(126).withBisectionSteps(0).withPredictor(8, 1, 128);
            return new Profiler(m, o, par, ProgressListener.NONE).run(w, c.name(), c.bytes());
        }
    }

    @Test
    void cettCurveStartsAtZeroIsMonotoneAndRunsAreIdenticalWithOneAndTwoThreads() throws Exception {
        ProfileResults one = profile(1);
        assertThat(one.run().windows()).isEqualTo(2);
        assertThat(one.run().positions()).isEqualTo(256); // [CLS] 126 [SEP] twice
        assertThat(one.dense()).isNull();
        for (ProfileResults.Layer l : one.layers()) {
            // GELU: exact zeros are rare (a few underflows), so zero sparsity is ~0 ...
            assertThat(l.zeroSparsity().mean()).isLessThan(0.002);
            // ... and at CETT 0 only those exact zeros can go: sparsity 0 up to them.
            List<CettMetric.CurvePoint> curve = l.cett().curve();
            assertThat(curve.getFirst().c()).isZero();
            assertThat(curve.getFirst().sparsity()).isLessThanOrEqualTo(l.zeroSparsity().mean() + 1e-12);
            double prev = -1;
            for (CettMetric.CurvePoint p : curve) {
                assertThat(p.sparsity()).isGreaterThanOrEqualTo(prev);
                prev = p.sparsity();
            }
            assertThat(curve.getLast().sparsity()).isGreaterThan(0.5);
            for (CettMetric.Target t : l.cett().targets()) {
                assertThat(t.calibratedCett().mean()).isLessThan(t.c() * 1.5); // calibrated ε keeps mean CETT near c
            }
        }
        ObjectMapper om = new ObjectMapper();
        ObjectNode a = om.valueToTree(one);
        ObjectNode b = om.valueToTree(profile(2));
        for (ObjectNode n : List.of(a, b)) {
            ((ObjectNode) n.get("run")).remove(List.of("seconds", "profileTokensPerSecond", "threads"));
        }
        assertThat(om.writeValueAsString(b)).isEqualTo(om.writeValueAsString(a));
    }
}
