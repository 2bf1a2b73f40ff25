package dev.sparsa.model.bert;

import dev.sparsa.SparsaException.FormatException;
import dev.sparsa.io.ConfigJson;
import dev.sparsa.io.SafetensorsWriter;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Loading BERT from a Hugging Face state dict (config.json + safetensors). The checkpoint is MiniLM's own weights
 * (from the ONNX file) written under the transformers BertModel names, so the HF-loaded model must reproduce the
 * ONNX-loaded one (same weights, same code; up to {@link MiniLmFixture#RERUN}) — any role mix-up (Q/K, the two
 * LayerNorms, ...) would show as a difference of order 1.
 */
class BertHfTest {

    /** MiniLM's weights under transformers' BertModel names; {@code old} = gamma/beta LayerNorm names. */
    static List<Tensor> stateDict(BertModel m, String prefix, boolean old, String skip) {
        BertModel.Weights w = m.weights();
        List<Tensor> out = new ArrayList<>();
        String g = old ? ".gamma" : ".weight";
        String b = old ? ".beta" : ".bias";
        add(out, prefix + "embeddings.word_embeddings.weight", w.wordEmb());
        add(out, prefix + "embeddings.position_embeddings.weight", w.posEmb());
        add(out, prefix + "embeddings.token_type_embeddings.weight", w.typeEmb());
        out.add(Tensor.f32(prefix + "embeddings.LayerNorm" + g, w.embLnGamma(), w.embLnGamma().length));
        out.add(Tensor.f32(prefix + "embeddings.LayerNorm" + b, w.embLnBeta(), w.embLnBeta().length));
        for (int l = 0; l < w.layers().size(); l++) {
            BertModel.Layer ly = w.layers().get(l);
            String p = prefix + "encoder.layer." + l + ".";
            add(out, p + "attention.self.query.weight", ly.wq());
            vec(out, p + "attention.self.query.bias", ly.bq());
            add(out, p + "attention.self.key.weight", ly.wk());
            vec(out, p + "attention.self.key.bias", ly.bk());
            add(out, p + "attention.self.value.weight", ly.wv());
            vec(out, p + "attention.self.value.bias", ly.bv());
            add(out, p + "attention.output.dense.weight", ly.wo());
            vec(out, p + "attention.output.dense.bias", ly.bo());
            vec(out, p + "attention.output.LayerNorm" + g, ly.ln1Gamma());
            vec(out, p + "attention.output.LayerNorm" + b, ly.ln1Beta());
            add(out, p + "intermediate.dense.weight", ly.wIn());
            vec(out, p + "intermediate.dense.bias", ly.bIn());
            add(out, p + "output.dense.weight", ly.wOut());
            vec(out, p + "output.dense.bias", ly.bOut());
            vec(out, p + "output.LayerNorm" + g, ly.ln2Gamma());
            vec(out, p + "output.LayerNorm" + b, ly.ln2Beta());
        }
        out.removeIf(t -> t.name().equals(skip));
        return out;
    }

    private static void add(List<Tensor> out, String name, Tensor t) {
        out.add(new Tensor(name, t.dtype(), t.shape(), t.data()));
    }

    private static void vec(List<Tensor> out, String name, float[] v) {
        out.add(Tensor.f32(name, v, v.length));
    }

    @Test
    void safetensorsCheckpointReproducesTheOnnxModel(@TempDir Path dir) throws Exception {
        MiniLmFixture fx = MiniLmFixture.get();
        BertModel.Batch batch = BertModel.Batch.of(List.of(fx.ids("Loading from safetensors."),
                fx.ids("Same numbers?")));
        float[][] expected;
        try (Parallel par = new Parallel(2)) {
            expected = fx.model.lastHiddenStates(batch, par);

            Path plain = Files.createDirectories(dir.resolve("plain"));
            ConfigJson.write(fx.model.config(), plain.resolve("config.json"));
            SafetensorsWriter.write(plain.resolve("model.safetensors"), stateDict(fx.model, "", false, null), Map.of());
            BertModel a = BertModel.open(plain);
            assertThat(a.config()).isEqualTo(fx.model.config());
            float[][] got = a.lastHiddenStates(batch, par);
            for (int i = 0; i < got.length; i++) {
                assertThat(MiniLmFixture.maxAbsDiff(got[i], expected[i]))
                        .isLessThanOrEqualTo(MiniLmFixture.RERUN);
            }

            // a task model's checkpoint: "bert." prefix, old gamma/beta names; opened by its .safetensors file
            Path prefixed = Files.createDirectories(dir.resolve("prefixed"));
            ConfigJson.write(fx.model.config(), prefixed.resolve("config.json"));
            Path st = prefixed.resolve("pytorch_model.safetensors");
            SafetensorsWriter.write(st, stateDict(fx.model, "bert.", true, null), Map.of());
            got = BertModel.open(st).lastHiddenStates(batch, par);
            for (int i = 0; i < got.length; i++) {
                assertThat(MiniLmFixture.maxAbsDiff(got[i], expected[i]))
                        .isLessThanOrEqualTo(MiniLmFixture.RERUN);
            }
        }
    }

    @Test
    void aMissingTensorIsNamed(@TempDir Path dir) {
        MiniLmFixture fx = MiniLmFixture.get();
        ConfigJson.write(fx.model.config(), dir.resolve("config.json"));
        SafetensorsWriter.write(dir.resolve("model.safetensors"),
                stateDict(fx.model, "", false, "encoder.layer.5.output.dense.weight"), Map.of());
        assertThatThrownBy(() -> BertModel.open(dir)).isInstanceOf(FormatException.class)
                .hasMessage(dir.resolve("model.safetensors") + ": missing tensor encoder.layer.5.output.dense.weight");
    }
}
