package dev.sparsa.model.llama;

import dev.sparsa.io.GgufExport;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.spec.RopeStyle;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The golden models round-tripped through Sparsa's GGUF writer (HF names → GGUF names, Q/K permuted for llama) and
 * loaded back through ModelFiles (GGUF metadata → config, names; Q/K as stored, RoPE on adjacent pairs for llama):
 * F32 must match transformers to the same 1e-4, and the HF directory to 1e-5; Q8_0 (down_proj rows of 176 are not
 * whole 32-blocks, so the writer keeps it F16; norms F32) within max |Δlogit| ≤ 0.05 with the same greedy tokens
 * over the first 4 steps.
 */
class LlamaGgufGoldenTest {
    @TempDir
    static Path tmp;

    @ParameterizedTest
    @CsvSource({
            "llama_gqa_rope3, F32", "qwen2_bias_tied, F32", "llama_relu, F32",
            "llama_gqa_rope3, Q8_0", "qwen2_bias_tied, Q8_0", "llama_relu, Q8_0"})
    void ggufRoundTripMatchesTransformers(String variant, DType type) {
        GoldenWeights.Golden g = GoldenWeights.load(variant);
        Path gguf = tmp.resolve(variant + "-" + type + ".gguf");
        try (ModelFiles dir = LlamaGoldenTest.openDir(g, tmp)) {
            GgufExport.write(dir, gguf, type, null);
        }
        try (ModelFiles files = ModelFiles.open(gguf); Parallel par = Parallel.serial()) {
            assertThat(files.format()).isEqualTo("gguf");
            assertThat(files.config().ropeScaling()).isEqualTo(dev.sparsa.io.ConfigJson.parse("g", g.config())
                    .ropeScaling());
            LlamaModel m = LlamaModel.load(files.config(), files.weights());
            int[] ids = g.allIds();
            float[] logits = m.forward(m.newCache(ids.length), ids, true, ActivationTap.NONE, par);
            float d = LlamaGoldenTest.maxAbsDiff(logits, g.logits());
            System.out.printf("%s via GGUF %s: max |Δlogit| vs transformers = %.3g%n", variant, type, d);
            int steps = type == DType.F32 ? g.greedyIds().length : 4;
            KvCache cache = m.newCache(ids.length);
            float[] last = m.forward(cache, g.promptIds(), false, ActivationTap.NONE, par);
            for (int n = 0; n < steps; n++) {
                int next = LlamaGoldenTest.argmax(last);
                assertThat(next).as("greedy token %d", n).isEqualTo(g.greedyIds()[n]);
                last = m.decode(cache, next, ActivationTap.NONE, par);
            }
            assertThat(d).isLessThanOrEqualTo(type == DType.F32 ? LlamaGoldenTest.LOGIT_TOL : 0.05f);
            if (type != DType.F32) {
                assertThat(d).as("quantization must change something").isGreaterThan(0f);
            }
        }
    }

    /**
     * The same F32 weights from the HF directory (HALF RoPE) and from GGUF (llama: q/k rows interleaved, mmap'd as
     * stored, INTERLEAVED RoPE): every q/k value and rotation is bit-identical, only the order of the q·k sums within
     * a head differs, so the logits agree to float rounding.
     */
    @ParameterizedTest
    @CsvSource({"llama_gqa_rope3, INTERLEAVED", "qwen2_bias_tied, HALF", "llama_relu, INTERLEAVED"})
    void ggufF32MatchesHfDirectory(String variant, RopeStyle style) {
        GoldenWeights.Golden g = GoldenWeights.load(variant);
        Path gguf = tmp.resolve(variant + "-hfcmp.gguf");
        int[] ids = g.allIds();
        float[] hf;
        try (ModelFiles dir = LlamaGoldenTest.openDir(g, tmp); Parallel par = Parallel.serial()) {
            LlamaModel m = LlamaModel.load(dir.config(), dir.weights());
            assertThat(m.ropeStyle()).isEqualTo(RopeStyle.HALF);
            hf = m.forward(m.newCache(ids.length), ids, true, ActivationTap.NONE, par);
            GgufExport.write(dir, gguf, DType.F32, null);
        }
        try (ModelFiles files = ModelFiles.open(gguf); Parallel par = Parallel.serial()) {
            LlamaModel m = LlamaModel.load(files.config(), files.weights());
            assertThat(m.ropeStyle()).isEqualTo(style);
            // q_proj is the file's bytes in place, not an un-permuted copy: same address as the GGUF's own view
            dev.sparsa.io.GgufFile file = ((dev.sparsa.io.GgufHfWeights) files.weights()).gguf();
            assertThat(files.weights().tensor("model.layers.0.self_attn.q_proj.weight").data().address())
                    .isEqualTo(file.tensor("blk.0.attn_q.weight").data().address());
            float[] viaGguf = m.forward(m.newCache(ids.length), ids, true, ActivationTap.NONE, par);
            float d = LlamaGoldenTest.maxAbsDiff(viaGguf, hf);
            System.out.printf("%s: GGUF F32 (%s) vs HF directory: max |Δlogit| = %.3g%n", variant, style, d);
            assertThat(d).isLessThanOrEqualTo(1e-5f);
        }
    }
}
