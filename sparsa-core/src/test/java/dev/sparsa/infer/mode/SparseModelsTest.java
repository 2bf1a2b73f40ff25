package dev.sparsa.infer.mode;

import dev.sparsa.SparsaException;
import dev.sparsa.infer.ExactSparseFfn;
import dev.sparsa.infer.Generator;
import dev.sparsa.io.ConfigJson;
import dev.sparsa.io.MapWeights;
import dev.sparsa.io.TinyModels;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.llama.GoldenWeights;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Quant;
import dev.sparsa.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code --sparse exact} on a tiny random ReLU Llama in every dtype: logits equal dense within float tolerance (within
 * the Q8_0 re-quantization of the transposed down projection for quantized weights) and greedy generation is the
 * same, token for token; and the mode checks of {@link SparseModels}.
 */
class SparseModelsTest {

    /** Every matrix of {@code w} stored as {@code t} (vectors stay F32). */
    static MapWeights as(MapWeights w, DType t) {
        MapWeights out = new MapWeights("golden-" + t);
        for (Tensor x : w.asMap().values()) {
            if (x.rank() != 2 || t == DType.F32) {
                out.put(x);
                continue;
            }
            float[] v = Kernels.toFloats(x);
            long rb = t.bytesFor(x.cols());
            MemorySegment seg = MemorySegment.ofArray(new byte[(int) (rb * x.rows())]);
            for (int r = 0; r < x.rows(); r++) {
                Quant.quantize(t, v, r * x.cols(), x.cols(), seg, r * rb);
            }
            out.put(new Tensor(x.name(), t, x.shape(), seg));
        }
        return out;
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0"})
    void exactEqualsDenseOnEveryDtype(DType t) {
        ModelConfig cfg = TinyModels.llama().withActivation("relu", 0f);   // F 96: whole Q8_0 / Q4_0 blocks
        MapWeights f32 = new MapWeights("tiny-relu");
        TinyModels.weights(cfg, 5).forEach(f32::put);
        LlamaWeights w = LlamaWeights.load(cfg, as(f32, t));
        LlamaModel dense = SparseModels.of(w, SparseMode.DENSE, null, null);
        LlamaModel exact = SparseModels.of(w, SparseMode.EXACT, null, null);
        assertThat(exact.ffn(0)).isInstanceOf(ExactSparseFfn.class);
        int[] ids = {1, 7, 30, 4, 12, 39, 8, 21, 5, 17, 2, 33};
        try (Parallel par = new Parallel(2)) {
            float[] a = dense.forward(dense.newCache(ids.length), ids, true, ActivationTap.NONE, par);
            float[] b = exact.forward(exact.newCache(ids.length), ids, true, ActivationTap.NONE, par);
            double scale = 0;
            double maxD = 0;
            for (int i = 0; i < a.length; i++) {
                scale = Math.max(scale, Math.abs(a[i]));
                maxD = Math.max(maxD, Math.abs(a[i] - b[i]));
            }
            // float dtypes: the same weights summed in another order; quantized: down^T re-quantized to Q8_0, each
            // weight off by at most half a step of its new block (ExactSparseFfnTest checks that bound per layer),
            // which this random model's large residual stream amplifies to ~1.4% of the largest logit
            double tol = t.quantized() ? 2e-2 * scale : 1e-5 * scale;
            assertThat(maxD).as("%s: max |Δlogit| of %.3g", t, scale).isLessThanOrEqualTo(tol);
            Generator.Options o = Generator.Options.greedy(16);
            int[] prompt = {1, 7, 30, 4};
            assertThat(new Generator(exact, par).generate(prompt, o, id -> { }).generatedIds())
                    .isEqualTo(new Generator(dense, par).generate(prompt, o, id -> { }).generatedIds());
        }
    }

    @Test
    void exactOnASiluModelSuggestsTheCalibratedModes() {
        GoldenWeights.Golden g = GoldenWeights.load("llama_gqa_rope3");
        ModelConfig cfg = ConfigJson.parse("golden", g.config());
        assertThatThrownBy(() -> SparseModels.checkCompatible(SparseMode.EXACT, cfg))
                .isInstanceOf(SparsaException.UnsupportedException.class)
                .hasMessageContaining("--sparse exact needs a ReLU-family model")
                .hasMessageContaining("use --sparse cats, teal or predicted");
        SparseModels.checkCompatible(SparseMode.CATS, cfg);
        assertThatThrownBy(() -> SparseMode.of("sparse")).hasMessage(
                "--sparse must be one of dense, exact, cats, teal, topk, predicted, lte, attribution, got sparse");
        assertThatThrownBy(() -> SparseMode.ofMethod("predicted")).hasMessage(
                "--method must be one of cats, teal, topk, predictor, attribution, got predicted");
        assertThat(SparseMode.ofMethod("predictor")).isEqualTo(SparseMode.PREDICTED);
    }
}
