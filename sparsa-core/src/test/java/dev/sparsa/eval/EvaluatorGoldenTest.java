package dev.sparsa.eval;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.security.MessageDigest;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Sparsa's protocol against the transformers golden of scripts/golden/make_eval_golden.py: the same token ids and
 * per-token bytes from the committed tokenizer.json (trained by HF tokenizers), the same windows, and per variant
 * CE / bits-per-byte within 1e-5 relative and the zero counts of act(gate) per layer within the number of gates
 * the golden found within ±1e-5 of zero (the only ones float rounding can flip between HF and Sparsa).
 */
class EvaluatorGoldenTest {
    static EvalGolden g;
    static TokenStream stream;

    @BeforeAll
    static void load() throws Exception {
        g = EvalGolden.load();
        byte[] text = Files.readAllBytes(g.text);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text));
        assertThat(sha).as("text.txt is the text the golden was made from").isEqualTo(
                g.golden.get("text").get("sha256").asText());
        Corpus c = g.corpus();
        assertThat(c.lines()).hasSize(g.golden.get("text").get("lines").asInt());
        stream = TokenStream.of(c, g.tokenizer(), g.eosId());
    }

    @Test
    void idsAndBytesEqualTheReference() {
        assertThat(stream.ids()).isEqualTo(g.ints("ids"));
        assertThat(stream.tokenBytes()).isEqualTo(g.ints("token_bytes"));
        assertThat(stream.totalBytes()).isEqualTo(g.corpus().bytes()); // every line's bytes + 1 per EOS
    }

    @Test
    void windowsEqualTheReference() {
        EvalWindows w = EvalWindows.of(stream, g.ctx());
        JsonNode ref = g.golden.get("windows");
        assertThat(w.count()).isEqualTo(ref.size());
        for (int i = 0; i < w.count(); i++) {
            assertThat(w.start(i)).isEqualTo(ref.get(i).get("start").asInt());
            assertThat(w.length(i)).isEqualTo(ref.get(i).get("length").asInt());
            assertThat(w.predictedBytes(i)).as("window %d", i).isEqualTo(ref.get(i).get("predicted_bytes").asLong());
        }
        assertThat(w.length(w.count() - 1)).isLessThan(g.ctx()); // the golden keeps a partial last window
    }

    @ParameterizedTest
    @ValueSource(strings = {"silu", "relu"})
    void numbersEqualTransformers(String act) {
        JsonNode ref = g.variant(act);
        LlamaModel m = g.model(act);
        EvalWindows w = EvalWindows.of(stream, g.ctx());
        EvalResult r;
        try (Parallel par = new Parallel(2)) {
            r = new Evaluator(m, par).evaluate(w);
        }
        assertThat(r.tokens()).isEqualTo(ref.get("tokens").asLong());
        assertThat(r.bytes()).isEqualTo(ref.get("bytes").asLong());
        assertThat(r.windows()).isEqualTo(ref.get("window_nats").size());
        double maxWindow = 0;
        for (int i = 0; i < r.windows(); i++) {
            double want = ref.get("window_nats").get(i).asDouble();
            maxWindow = Math.max(maxWindow, Math.abs(r.windowNats()[i] - want) / want);
        }
        double ce = ref.get("ce").asDouble();
        double bpb = ref.get("bitsPerByte").asDouble();
        System.out.printf("%s: ce %.9f vs %.9f, bits/byte %.9f vs %.9f, max window rel. diff %.2g%n", act, r.ce(),
                ce, r.bitsPerByte(), bpb, maxWindow);
        assertThat(maxWindow).isLessThan(1e-5);
        assertThat(r.ce()).isCloseTo(ce, within(1e-5 * ce));
        assertThat(r.bitsPerByte()).isCloseTo(bpb, within(1e-5 * bpb));
        assertThat(r.ppl()).isCloseTo(ref.get("ppl").asDouble(), within(1e-4 * ref.get("ppl").asDouble()));
        for (int l = 0; l < m.numLayers(); l++) {
            long want = ref.get("zeros_per_layer").get(l).asLong();
            long near = ref.get("near_zero_per_layer").get(l).asLong();
            long values = ref.get("values_per_layer").get(l).asLong();
            System.out.printf("%s layer %d: zeros %d vs %d (%d gates within 1e-5 of 0)%n", act, l,
                    r.zerosPerLayer()[l], want, near);
            assertThat(Math.abs(r.zerosPerLayer()[l] - want)).isLessThanOrEqualTo(near);
            assertThat(values).isEqualTo(r.positions() * m.config().intermediateSize());
            assertThat(r.sparsityPerLayer()[l]).isCloseTo((double) r.zerosPerLayer()[l] / values, within(1e-15));
        }
        if (act.equals("relu")) {
            assertThat(r.sparsity()).isBetween(0.3, 0.7); // a real ReLU: about half of the gates are negative
        }
    }
}
