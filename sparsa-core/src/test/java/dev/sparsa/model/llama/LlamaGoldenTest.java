package dev.sparsa.model.llama;

import dev.sparsa.io.ConfigJson;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Sparsa's Llama-family forward against Hugging Face transformers goldens (scripts/golden/make_llama_goldens.py):
 * (a) llama, GQA, llama3 rope_scaling, untied; (b) qwen2 with q/k/v biases, tied; (c) llama with ReLU.
 */
class LlamaGoldenTest {
    static final String[] VARIANTS = {"llama_gqa_rope3", "qwen2_bias_tied", "llama_relu"};
    static final float LOGIT_TOL = 1e-4f;

    @TempDir
    static Path tmp;

    /**
     * The normal loading path: the generated weights are written as model.safetensors (SafetensorsWriter) next to the
     * golden config.json, and the directory is opened with ModelFiles (ConfigJson + SafetensorsFile, mmap). The file
     * stays mapped until the JVM exits (a few hundred KB per variant).
     */
    static LlamaModel model(GoldenWeights.Golden g) {
        ModelFiles files = openDir(g, tmp);
        return LlamaModel.load(files.config(), files.weights());
    }

    /** The golden model as a directory (config.json + model.safetensors), opened. */
    static ModelFiles openDir(GoldenWeights.Golden g, Path tmp) {
        return ModelFiles.open(g.writeDir(tmp.resolve(g.variant() + "-" + System.nanoTime())));
    }

    static float maxAbsDiff(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        float m = 0f;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama_gqa_rope3", "qwen2_bias_tied", "llama_relu"})
    void prefillLogitsMatchTransformers(String variant) {
        GoldenWeights.Golden g = GoldenWeights.load(variant);
        LlamaModel m = model(g);
        int[] ids = g.allIds();
        try (Parallel par = Parallel.serial()) {
            float[] logits = m.forward(m.newCache(ids.length), ids, true, ActivationTap.NONE, par);
            float d = maxAbsDiff(logits, g.logits());
            System.out.printf("%s: prefill max |Δlogit| vs transformers = %.3g over %d×%d%n", variant, d, ids.length,
                    g.vocab());
            assertThat(d).isLessThanOrEqualTo(LOGIT_TOL);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama_gqa_rope3", "qwen2_bias_tied", "llama_relu"})
    void greedyDecodeWithKvCacheMatchesTransformers(String variant) {
        GoldenWeights.Golden g = GoldenWeights.load(variant);
        LlamaModel m = model(g);
        int[] prompt = g.promptIds();
        int[] expected = g.greedyIds();
        int[] all = g.allIds();
        int vocab = g.vocab();
        try (Parallel par = Parallel.serial()) {
            KvCache cache = m.newCache(prompt.length + expected.length);
            float[] logits = m.forward(cache, prompt, false, ActivationTap.NONE, par);
            int[] got = new int[expected.length];
            float maxD = maxAbsDiff(logits, Arrays.copyOfRange(g.logits(), (prompt.length - 1) * vocab,
                    prompt.length * vocab));
            for (int n = 0; n < expected.length; n++) {
                got[n] = argmax(logits);
                if (n + 1 < expected.length) {
                    logits = m.decode(cache, got[n], ActivationTap.NONE, par);
                    int pos = prompt.length + n;   // the position just decoded
                    assertThat(all[pos]).isEqualTo(got[n]);
                    maxD = Math.max(maxD, maxAbsDiff(logits,
                            Arrays.copyOfRange(g.logits(), pos * vocab, (pos + 1) * vocab)));
                }
            }
            System.out.printf("%s: decode (KV cache) max |Δlogit| vs transformers = %.3g%n", variant, maxD);
            assertThat(got).containsExactly(expected);
            assertThat(maxD).isLessThanOrEqualTo(LOGIT_TOL);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama_gqa_rope3", "qwen2_bias_tied"})
    void kvCacheDecodeAndChunkedPrefillEqualFullPrefill(String variant) {
        GoldenWeights.Golden g = GoldenWeights.load(variant);
        LlamaModel m = model(g);
        int[] ids = g.allIds();
        int vocab = g.vocab();
        try (Parallel par = new Parallel(2)) {
            float[] full = m.forward(m.newCache(ids.length), ids, true, ActivationTap.NONE, par);
            // prefill a prefix of 5, then decode the rest one by one
            KvCache c1 = m.newCache(ids.length);
            float[] step = m.forward(c1, Arrays.copyOf(ids, 5), true, ActivationTap.NONE, par);
            float maxD = maxAbsDiff(step, Arrays.copyOf(full, 5 * vocab));
            for (int p = 5; p < ids.length; p++) {
                step = m.decode(c1, ids[p], ActivationTap.NONE, par);
                maxD = Math.max(maxD, maxAbsDiff(step, Arrays.copyOfRange(full, p * vocab, (p + 1) * vocab)));
            }
            // chunked prefill: 5 + 7 tokens
            KvCache c2 = m.newCache(ids.length);
            m.forward(c2, Arrays.copyOf(ids, 5), false, ActivationTap.NONE, par);
            float[] chunk = m.forward(c2, Arrays.copyOfRange(ids, 5, 12), true, ActivationTap.NONE, par);
            maxD = Math.max(maxD, maxAbsDiff(chunk, Arrays.copyOfRange(full, 5 * vocab, 12 * vocab)));
            System.out.printf("%s: KV-cache decode / chunked prefill vs one prefill max |Δ| = %.3g%n", variant, maxD);
            assertThat(maxD).isLessThanOrEqualTo(1e-5f);
        }
    }

    /**
     * Threads 1 vs 2 give identical bits, prefill and decode, from the first (interpreted) call on: kernels split
     * only over output rows and sum lanes in a fixed order, so neither the thread count nor the JIT changes a bit.
     */
    @ParameterizedTest
    @ValueSource(strings = {"qwen2_bias_tied", "llama_relu"})
    void threadCountDoesNotChangeTheBits(String variant) {
        GoldenWeights.Golden g = GoldenWeights.load(variant);
        LlamaModel m = model(g);
        int[] ids = g.allIds();
        int[] prompt = g.promptIds();
        try (Parallel one = Parallel.serial(); Parallel two = new Parallel(2)) {
            for (int warm = 0; warm < 0; warm++) {   // no warm-up needed: same bits cold or compiled
                m.forward(m.newCache(ids.length), ids, true, ActivationTap.NONE, warm % 2 == 0 ? one : two);
                KvCache c = m.newCache(ids.length);
                m.forward(c, prompt, false, ActivationTap.NONE, warm % 2 == 0 ? one : two);
                for (int p = prompt.length; p < ids.length; p++) {
                    m.decode(c, ids[p], ActivationTap.NONE, warm % 2 == 0 ? one : two);
                }
            }
            float[] a = m.forward(m.newCache(ids.length), ids, true, ActivationTap.NONE, one);
            float[] b = m.forward(m.newCache(ids.length), ids, true, ActivationTap.NONE, two);
            assertThat(b).as("prefill").containsExactly(a);
            KvCache c1 = m.newCache(ids.length);
            KvCache c2 = m.newCache(ids.length);
            m.forward(c1, prompt, false, ActivationTap.NONE, one);
            m.forward(c2, prompt, false, ActivationTap.NONE, two);
            for (int p = prompt.length; p < ids.length; p++) {
                float[] d1 = m.decode(c1, ids[p], ActivationTap.NONE, one);
                float[] d2 = m.decode(c2, ids[p], ActivationTap.NONE, two);
                assertThat(d2).as("decode at %d", p).containsExactly(d1);
            }
        }
    }

    @org.junit.jupiter.api.Test
    void goldenIsSensitiveToLlama3RopeScaling() {
        // The same weights without rope_scaling must miss the goldens: the comparison above can fail.
        GoldenWeights.Golden g = GoldenWeights.load("llama_gqa_rope3");
        ModelConfig c = ConfigJson.parse("golden", g.config());
        ModelConfig plain = new ModelConfig(c.architecture(), c.hiddenSize(), c.intermediateSize(), c.numLayers(),
                c.numHeads(), c.numKvHeads(), c.headDim(), c.vocabSize(), c.maxPositions(), c.normEps(),
                c.ropeTheta(), null, c.hiddenAct(), 0f, c.tieWordEmbeddings(), c.attentionBias(), 0,
                c.bosTokenId(), c.eosTokenId());
        LlamaModel m = LlamaModel.load(plain, g.weights());
        int[] ids = g.allIds();
        try (Parallel par = Parallel.serial()) {
            float[] logits = m.forward(m.newCache(ids.length), ids, true, ActivationTap.NONE, par);
            assertThat(maxAbsDiff(logits, g.logits())).isGreaterThan(1e-2f);
        }
        assertThat(m.invFreq()).isNotEqualTo(model(g).invFreq());
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }
}
