package dev.sparsa.infer.mode;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparsa.SparsaException;
import dev.sparsa.infer.Predictor;
import dev.sparsa.io.MapWeights;
import dev.sparsa.io.SafetensorsFile;
import dev.sparsa.io.SafetensorsWriter;
import dev.sparsa.io.TinyModels;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The calibration file: every mode round-trips, and every bad file is one error naming the file and the field. */
class CalibrationFileTest {
    @TempDir
    Path tmp;

    static final ModelConfig CFG = TinyModels.llama();

    static MapWeights weights(long seed) {
        MapWeights w = new MapWeights("tiny");
        TinyModels.weights(CFG, seed).forEach(w::put);
        return w;
    }

    static Calibration.Source source() {
        return new Calibration.Source("brown-train", 1000, 64, 7, "2025-01-01T00:00:00Z");
    }

    static Calibration cats(ModelShape s) {
        return new Calibration(SparseMode.CATS, s, source(), 0.5, Double.NaN, null, null, Double.NaN,
                List.of(Calibration.Layer.cats(0.125f, 0.5), Calibration.Layer.cats(0.25f, 0.49)), null);
    }

    static Calibration teal(ModelShape s) {
        float[] t = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f};
        double[] p = {0.5, 0.4, 0.4, 0.5, 0.5, 0.5, 0.6};
        return new Calibration(SparseMode.TEAL, s, source(), 0.5, Double.NaN, "greedy", null, Double.NaN,
                List.of(Calibration.Layer.teal(t, p, 0.51), Calibration.Layer.teal(t, p, 0.52)), null);
    }

    static Calibration topk(ModelShape s) {
        return new Calibration(SparseMode.TOPK, s, source(), 0.7, Double.NaN, null, null, 0.5244,
                List.of(Calibration.Layer.topk(0.61, 0.7, 0.68), Calibration.Layer.topk(0.4, 0.7, 0.73)), null);
    }

    static Calibration predicted(ModelShape s, Predictor.Kind kind) {
        return predicted(s, kind, DType.F32);
    }

    static Calibration predicted(ModelShape s, Predictor.Kind kind, DType dtype) {
        List<Predictor> ps = new ArrayList<>();
        int d = CFG.hiddenSize();
        int f = CFG.intermediateSize();
        int r = 8;
        for (int l = 0; l < 2; l++) {
            float[] w1 = new float[r * d];
            float[] w2 = new float[f * r];
            for (int i = 0; i < w1.length; i++) {
                w1[i] = (float) Math.sin(i + l);
            }
            for (int i = 0; i < w2.length; i++) {
                w2[i] = (float) Math.cos(i - l);
            }
            boolean mlp = kind == Predictor.Kind.MLP;
            ps.add(new Predictor(kind, Tensor.f32("w1", w1, r, d), mlp ? new float[r] : null, Tensor.f32("w2", w2, f, r),
                    mlp ? new float[f] : null));
        }
        return new Calibration(SparseMode.PREDICTED, s, source(), 0.5, 0.99, null,
                new Calibration.PredictorSpec(kind, r, "cats", 8, 1e-3, 0.1, dtype), Double.NaN,
                List.of(Calibration.Layer.predicted(0.1f, -1.5f, 0.99, 0.6, 0.3),
                        Calibration.Layer.predicted(0.2f, -0.5f, 0.99, 0.55, 0.25)), ps);
    }

    @Test
    void everyModeRoundTrips() {
        ModelShape s = ModelShape.of(CFG, weights(1));
        for (Calibration c : List.of(cats(s), teal(s), topk(s), predicted(s, Predictor.Kind.MLP),
                predicted(s, Predictor.Kind.LOW_RANK), predicted(s, Predictor.Kind.MLP, DType.BF16))) {
            Path p = tmp.resolve(c.mode().key() + c.hashCode() + ".safetensors");
            CalibrationFile.write(p, c);
            Calibration back = CalibrationFile.read(p, c.mode(), s);
            assertThat(CalibrationFile.json(back)).isEqualTo(CalibrationFile.json(c));
            if (c.predictors() != null) {
                for (int l = 0; l < 2; l++) {
                    assertThat(Kernels.toFloats(back.predictors().get(l).w2()))
                            .isEqualTo(Kernels.toFloats(c.predictors().get(l).w2()));
                }
            }
        }
    }

    @Test
    void theDefaultPathSitsBesideTheModel() {
        Path dir = TinyModels.writeDir(tmp.resolve("m"), CFG, 1);
        assertThat(CalibrationFile.defaultPath(dir, SparseMode.CATS)).isEqualTo(
                dir.toAbsolutePath().resolve("sparsa-calibration-cats.safetensors"));
        assertThat(CalibrationFile.defaultPath(dir.resolve("model.safetensors"), SparseMode.TEAL)).isEqualTo(
                dir.toAbsolutePath().resolve("model.safetensors.sparsa-calibration-teal.safetensors"));
    }

    /** Writes {@code c} with its JSON changed by {@code edit}. */
    Path edited(Calibration c, Consumer<ObjectNode> edit) throws Exception {
        return edited(c, edit, "1", false);
    }

    /** Writes {@code c} (its tensors too when {@code tensors}) as a file of {@code version}, its JSON edited. */
    Path edited(Calibration c, Consumer<ObjectNode> edit, String version, boolean tensors) throws Exception {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = (ObjectNode) om.readTree(CalibrationFile.json(c));
        edit.accept(root);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", CalibrationFile.FORMAT);
        meta.put("version", version);
        meta.put("calibration", om.writeValueAsString(root));
        List<Tensor> ts = new ArrayList<>();
        if (tensors) {
            Path full = Files.createTempFile(tmp, "full", ".safetensors");
            CalibrationFile.write(full, c);
            try (SafetensorsFile f = SafetensorsFile.open(full)) {
                for (SafetensorsFile.Entry e : f.entries()) {
                    Tensor t = f.tensor(e.name());
                    ts.add(Tensor.f32(e.name(), Kernels.toFloats(t), t.shape()));
                }
            }
        }
        Path p = Files.createTempFile(tmp, "cal", ".safetensors");
        SafetensorsWriter.write(p, ts, meta);
        return p;
    }

    static void fails(Path p, SparseMode mode, ModelShape s, String... parts) {
        assertThatThrownBy(() -> CalibrationFile.read(p, mode, s))
                .isInstanceOf(SparsaException.FormatException.class)
                .satisfies(e -> {
                    assertThat(e.getMessage()).startsWith(p.toString()).doesNotContain("\n");
                    for (String part : parts) {
                        assertThat(e.getMessage()).contains(part);
                    }
                });
    }

    @Test
    void badFilesAreOneLineErrorsNamingTheField() throws Exception {
        ModelShape s = ModelShape.of(CFG, weights(1));
        Path good = tmp.resolve("cats.safetensors");
        CalibrationFile.write(good, cats(s));
        // missing, another mode, another model, stale weights
        fails(tmp.resolve("none.safetensors"), SparseMode.CATS, s, "no calibration file for --sparse cats",
                "sparsa calibrate --method cats");
        fails(good, SparseMode.TEAL, s, "is a calibration for --sparse cats, not teal");
        ModelConfig wider = new ModelConfig("llama", 64, 128, 2, 4, 2, 16, 40, 256, 1e-5f, 10000f, null, "silu", 0f,
                false, false, 0, 1, 2);
        MapWeights ww = new MapWeights("wide");
        TinyModels.weights(wider, 1).forEach(ww::put);
        fails(good, SparseMode.CATS, ModelShape.of(wider, ww), "was made for another model",
                "intermediate_size 96, this model has 128");
        fails(good, SparseMode.CATS, ModelShape.of(CFG, weights(2)), "is stale", "weights changed");
        // not a calibration, a newer version, broken JSON, missing and bad fields, wrong layer count
        Path model = tmp.resolve("model.safetensors");
        SafetensorsWriter.write(model, List.of(Tensor.f32("x", new float[4], 4)), Map.of("format", "pt"));
        fails(model, SparseMode.CATS, s, "not a Sparsa calibration file", "'pt'");
        Path v2 = tmp.resolve("v2.safetensors");
        SafetensorsWriter.write(v2, List.of(), Map.of("format", CalibrationFile.FORMAT, "version", "3",
                "calibration", "{}"));
        fails(v2, SparseMode.CATS, s, "calibration version 3 is not one this Sparsa reads (1..2)");
        Path broken = tmp.resolve("broken.safetensors");
        SafetensorsWriter.write(broken, List.of(), Map.of("format", CalibrationFile.FORMAT, "version", "1",
                "calibration", "{\"mode\": "));
        fails(broken, SparseMode.CATS, s, "__metadata__.calibration is not valid JSON");
        fails(edited(cats(s), r -> r.remove("target")), SparseMode.CATS, s, "calibration.target", "(0, 1)");
        fails(edited(cats(s), r -> r.put("target", 1.5)), SparseMode.CATS, s, "calibration.target must be in (0, 1)");
        fails(edited(cats(s), r -> ((ObjectNode) r.get("layers").get(1)).put("threshold", -1)), SparseMode.CATS, s,
                "calibration.layers[1].threshold must be finite and >= 0");
        fails(edited(cats(s), r -> ((ObjectNode) r.get("layers").get(0)).remove("threshold")), SparseMode.CATS, s,
                "calibration.layers[0].threshold is missing");
        fails(edited(cats(s), r -> r.withArray("layers").remove(1)), SparseMode.CATS, s,
                "calibration.layers must be an array of 2 layers, got 1");
        fails(edited(cats(s), r -> ((ObjectNode) r.get("model")).put("hidden_size", "64")), SparseMode.CATS, s,
                "calibration.model.hidden_size is not an integer");
        fails(edited(teal(s), r -> r.put("allocation", "random")), SparseMode.TEAL, s,
                "calibration.allocation must be uniform or greedy");
        fails(edited(teal(s), r -> ((ObjectNode) r.get("layers").get(0).get("site_sparsity")).put("o", 2)),
                SparseMode.TEAL, s, "calibration.layers[0].site_sparsity.o must be in [0, 1]");
        fails(edited(predicted(s, Predictor.Kind.MLP), r -> r.put("recall", 0)), SparseMode.PREDICTED, s,
                "calibration.recall must be in (0, 1]");
        // a predicted calibration without its tensors, and one with a tensor of the wrong shape
        fails(edited(predicted(s, Predictor.Kind.MLP), r -> { }), SparseMode.PREDICTED, s,
                "predictor of 2 layers has 8 tensors, this file has 0");
        Path p = tmp.resolve("pred.safetensors");
        CalibrationFile.write(p, predicted(s, Predictor.Kind.LOW_RANK));
        Path bad = tmp.resolve("pred-bad.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            List<Tensor> ts = new ArrayList<>();
            for (SafetensorsFile.Entry e : f.entries()) {
                Tensor t = f.tensor(e.name());
                ts.add(e.name().equals("layers.1.predictor.w1")
                        ? Tensor.f32(e.name(), new float[8 * 32], 8, 32) : Tensor.f32(e.name(), Kernels.toFloats(t),
                        t.shape()));
            }
            SafetensorsWriter.write(bad, ts, f.stringMetadata());
        }
        fails(bad, SparseMode.PREDICTED, s, "tensor layers.1.predictor.w1 is F32[8, 32], expected F32[8, 64]");
    }

    @Test
    void thePredictorDtypeIsStoredAndVersionOneFilesRunF32() throws Exception {
        ModelShape s = ModelShape.of(CFG, weights(1));
        Path p = tmp.resolve("bf16.safetensors");
        CalibrationFile.write(p, predicted(s, Predictor.Kind.MLP, DType.BF16));
        assertThat(CalibrationFile.read(p, SparseMode.PREDICTED, s).predictor().dtype()).isEqualTo(DType.BF16);
        assertThat(CalibrationFile.json(predicted(s, Predictor.Kind.MLP, DType.BF16))).contains("\"dtype\" : \"bf16\"");
        // a version-1 file has no dtype: its predictors ran (and had τ chosen) in F32
        Path v1 = edited(predicted(s, Predictor.Kind.MLP, DType.BF16),
                r -> ((ObjectNode) r.get("predictor")).remove("dtype"), "1", true);
        Calibration back = CalibrationFile.read(v1, SparseMode.PREDICTED, s);
        assertThat(back.predictor().dtype()).isEqualTo(DType.F32);
        assertThat(back.predictors()).hasSize(2);
        fails(edited(predicted(s, Predictor.Kind.MLP), r -> ((ObjectNode) r.get("predictor")).put("dtype", "q4_0"),
                "2", true), SparseMode.PREDICTED, s, "predictor.dtype must be f32, bf16 or q8_0, got q4_0");
        fails(edited(predicted(s, Predictor.Kind.MLP), r -> ((ObjectNode) r.get("predictor")).remove("dtype"),
                "2", true), SparseMode.PREDICTED, s, "calibration.predictor.dtype is missing");
        // Q8_0 blocks of 32: this predictor's rank 8 does not fit
        fails(edited(predicted(s, Predictor.Kind.MLP), r -> ((ObjectNode) r.get("predictor")).put("dtype", "q8_0"),
                "2", true), SparseMode.PREDICTED, s, "predictor.dtype q8_0 needs the hidden size (64) and the rank (8) "
                + "to be multiples of 32");
    }
}
