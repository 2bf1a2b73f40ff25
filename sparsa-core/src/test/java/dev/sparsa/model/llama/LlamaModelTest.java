package dev.sparsa.model.llama;

import dev.sparsa.SparsaException;
import dev.sparsa.io.ConfigJson;
import dev.sparsa.io.MapWeights;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LlamaModelTest {

    @Test
    void missingTensorIsOneClearErrorNamingTheFirst() {
        GoldenWeights.Golden g = GoldenWeights.load("llama_relu");
        MapWeights w = g.weights().remove("model.layers.1.mlp.up_proj.weight").remove("lm_head.weight");
        assertThatThrownBy(() -> LlamaModel.load(ConfigJson.parse("golden", g.config()), w))
                .isInstanceOf(SparsaException.FormatException.class)
                .hasMessage("golden/llama_relu: missing tensor model.layers.1.mlp.up_proj.weight (and 1 more) for llama with 2 layers");
    }

    @Test
    void wrongShapeNamesTheTensor() {
        GoldenWeights.Golden g = GoldenWeights.load("llama_relu");
        MapWeights w = g.weights();
        w.put(dev.sparsa.tensor.Tensor.f32("model.layers.0.self_attn.k_proj.weight", new float[32 * 64], 32, 64));
        assertThatThrownBy(() -> LlamaModel.load(ConfigJson.parse("golden", g.config()), w))
                .isInstanceOf(SparsaException.FormatException.class)
                .hasMessageContaining("model.layers.0.self_attn.k_proj.weight has shape [32, 64], expected [64, 64]");
    }

    @Test
    void unsupportedActivationAndArchitecture() {
        GoldenWeights.Golden g = GoldenWeights.load("llama_relu");
        ModelConfig c = ConfigJson.parse("golden", g.config());
        assertThatThrownBy(() -> LlamaModel.load(c.withActivation("mish", 0f), g.weights()))
                .isInstanceOf(SparsaException.UnsupportedException.class).hasMessageContaining("mish");
    }

    @Test
    void contextFullIsAClearErrorAndLeavesTheCacheUsable() {
        GoldenWeights.Golden g = GoldenWeights.load("llama_relu");
        LlamaModel m = LlamaModel.load(ConfigJson.parse("golden", g.config()), g.weights());
        try (Parallel par = Parallel.serial()) {
            KvCache cache = m.newCache(6);
            m.forward(cache, new int[] {1, 2, 3, 4, 5}, false, ActivationTap.NONE, par);
            assertThatThrownBy(() -> m.forward(cache, new int[] {6, 7}, false, ActivationTap.NONE, par))
                    .isInstanceOf(SparsaException.UsageException.class)
                    .hasMessage("context full: 5 + 2 tokens exceed the 6-position KV cache (raise the max context)");
            assertThat(cache.length()).isEqualTo(5);
            m.decode(cache, 6, ActivationTap.NONE, par);
            assertThatThrownBy(() -> m.decode(cache, 7, ActivationTap.NONE, par))
                    .isInstanceOf(SparsaException.UsageException.class);
            assertThatThrownBy(() -> m.newCache(129)).hasMessageContaining("max_position_embeddings 128");
            assertThatThrownBy(() -> m.decode(m.newCache(4), 512, ActivationTap.NONE, par))
                    .hasMessageContaining("token id 512 is outside the vocabulary [0, 512)");
        }
    }

    @Test
    void tapSeesEveryLayerAndTokenAndCanChangeH() {
        GoldenWeights.Golden g = GoldenWeights.load("llama_relu");
        LlamaModel m = LlamaModel.load(ConfigJson.parse("golden", g.config()), g.weights());
        int[] ids = g.promptIds();
        List<String> seen = new ArrayList<>();
        int f = m.config().intermediateSize();
        ActivationTap check = (layer, pos, x, xo, gate, act, h, o) -> {
            seen.add(layer + ":" + pos);
            assertThat(xo).isEqualTo(pos * 64);
            assertThat(x.length).isGreaterThanOrEqualTo(xo + 64);
            for (int i = o; i < o + f; i++) {
                assertThat(act[i]).isEqualTo(Math.max(0f, gate[i]));
            }
            assertThat(java.util.Arrays.copyOfRange(h, o, o + f)).contains(0f);   // ReLU: some neurons are off
        };
        ActivationTap zeroAll = (layer, pos, x, xo, gate, act, h, o) -> java.util.Arrays.fill(h, o, o + f, 0f);
        try (Parallel par = Parallel.serial()) {
            float[] dense = m.forward(m.newCache(ids.length), ids, true, check, par);
            assertThat(seen).hasSize(2 * ids.length).contains("0:0", "1:" + (ids.length - 1));
            float[] zeroed = m.forward(m.newCache(ids.length), ids, true, zeroAll, par);
            assertThat(zeroed).isNotEqualTo(dense);
            // h = 0 everywhere == a model whose down projections are zero
            MapWeights w = g.weights();
            for (int l = 0; l < 2; l++) {
                String n = "model.layers." + l + ".mlp.down_proj.weight";
                w.put(dev.sparsa.tensor.Tensor.f32(n, new float[64 * 176], 64, 176));
            }
            LlamaModel noFfn = LlamaModel.load(ConfigJson.parse("golden", g.config()), w);
            float[] ref = noFfn.forward(noFfn.newCache(ids.length), ids, true, ActivationTap.NONE, par);
            assertThat(LlamaGoldenTest.maxAbsDiff(ref, zeroed)).isLessThanOrEqualTo(1e-6f);
            assertThat(LlamaGoldenTest.maxAbsDiff(ref, dense)).isGreaterThan(1e-2f);
        }
    }

    @Test
    void downColumnNormsAreColumnNorms() {
        GoldenWeights.Golden g = GoldenWeights.load("llama_relu");
        MapWeights w = g.weights();
        LlamaModel m = LlamaModel.load(ConfigJson.parse("golden", g.config()), w);
        float[] down = Kernels.toFloats(w.tensor("model.layers.1.mlp.down_proj.weight"));
        float[] norms = m.downColumnNorms(1);
        assertThat(norms).hasSize(176);
        for (int i : new int[] {0, 17, 175}) {
            double ss = 0;
            for (int r = 0; r < 64; r++) {
                ss += down[r * 176 + i] * down[r * 176 + i];
            }
            assertThat(norms[i]).isCloseTo((float) Math.sqrt(ss), org.assertj.core.data.Offset.offset(1e-6f));
        }
    }

    @Test
    void llama3InvFreqHasAllThreeRegimes() {
        // head_dim 16, θ = 10⁴, factor 8, low 1, high 4, old context 32: wavelengths 6.3 (kept), 19.9 (smoothed),
        // ≥ 62.8 (divided by 8)
        ModelConfig c = ConfigJson.parse("golden", GoldenWeights.load("llama_gqa_rope3").config());
        float[] base = Rope.defaultInvFreq(10000f, 16);
        float[] inv = Rope.invFreq(c);
        assertThat(inv[0]).isEqualTo(base[0]);
        double wl = 2 * Math.PI / base[1];
        double smooth = (32 / wl - 1) / 3;
        assertThat((double) inv[1]).isCloseTo((1 - smooth) * base[1] / 8 + smooth * base[1],
                org.assertj.core.data.Offset.offset(1e-7));
        for (int i = 2; i < 8; i++) {
            assertThat(inv[i]).isEqualTo(base[i] / 8f);
        }
    }
}
