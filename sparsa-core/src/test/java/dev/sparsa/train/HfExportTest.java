package dev.sparsa.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparsa.io.ConfigJson;
import dev.sparsa.io.MapWeights;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.SafetensorsFile;
import dev.sparsa.io.TinyModels;
import dev.sparsa.model.Activation;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Half;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;
import dev.sparsa.train.method.Dense;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Hugging Face folder of {@link HfExport}, read back by Sparsa: weights trained a few steps, exported in F32
 * and BF16 with each activation, load with {@link ModelFiles#open} + {@link LlamaModel#load} and give the logits
 * of the in-memory weights — F32 bit for bit; BF16 bit for bit against the in-memory weights rounded to bfloat16
 * (every stored value is checked to be round-to-nearest-even of the F32 weight, so the only difference from the
 * F32 model is that rounding). config.json carries {@code hidden_act} (FATReLU as {@code relu} +
 * {@code fatrelu_threshold}); the tokenizer files are copied byte for byte. The published ProSparse convention
 * {@code hidden_act: fatrelu} + {@code hidden_act_param: T} reads as the same FATReLU T.
 */
class HfExportTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final float T = 0.02f;
    private static final java.lang.foreign.ValueLayout.OfShort LE16 = java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED
            .withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    @TempDir
    static Path tmp;
    static Arena arena;
    static Parallel par;
    static Path tokDir;
    static final int[] IDS = {1, 17, 5, 40, 63, 2, 9, 33, 12, 0, 50, 7};

    @BeforeAll
    static void setUp() throws IOException {
        arena = Arena.ofShared();
        par = new Parallel(2);
        tokDir = Files.createDirectories(tmp.resolve("tokenizer"));
        Files.writeString(tokDir.resolve("tokenizer.json"), TinyModels.BYTE_BPE);
        Files.writeString(tokDir.resolve("tokenizer_config.json"), "{\"model_max_length\": 32}");
    }

    @AfterAll
    static void tearDown() {
        par.close();
        arena.close();
    }

    static ModelConfig config(String arch, String act) {
        boolean qwen = arch.equals("qwen2");
        return new ModelConfig(arch, 32, 64, 2, 4, 2, 8, 64, 32, 1e-5f, 10000f, null, act, 0f, qwen, qwen, 0, 1, 2);
    }

    /** Weights of {@code cfg} after three AdamW steps on random tokens (so they are not the initialization). */
    static LlamaParams trained(ModelConfig cfg) {
        LlamaParams p = LlamaParams.init(cfg, 0.1, 7, arena);
        SplittableRandom r = new SplittableRandom(3);
        int[] ids = new int[400];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(cfg.vocabSize());
        }
        Trainer.Options o = new Trainer.Options(2, 1, 8, 3, 1e-2f, 0, Schedule.Kind.CONSTANT, 0f, 0.1f, 0.9f, 0.95f,
                1f, 5, 0, 1, 0, 0f, false);
        new Trainer(p, new Dense(), o, new TrainData("random", ids, 8, 5), null, null, null, new Trainer.Listener() {
        }).run(par);
        return p;
    }

    static float[] logits(LlamaModel m) {
        return m.forward(m.newCache(IDS.length), IDS, true, dev.sparsa.model.ActivationTap.NONE, par);
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @CsvSource({"llama, silu, 0", "llama, relu, 0", "llama, relu2, 0", "llama, fatrelu, 0.02", "llama, drelu, 0",
            "qwen2, relu, 0"})
    void f32AndBf16FoldersLoadBackWithTheSameLogits(String arch, String act, float threshold) throws IOException {
        ModelConfig cfg = config(arch, act.equals("fatrelu") ? "relu" : act);
        LlamaParams p = trained(cfg);
        ModelConfig out = act.equals("fatrelu") ? cfg.withActivation("fatrelu", threshold) : cfg;
        float[] want = logits(LlamaModel.of(p.weights().withConfig(out), DenseFfn::new));

        Path f32 = tmp.resolve(arch + "-" + act + "-f32");
        HfExport.write(f32, p, out, DType.F32, java.util.List.of(tokDir.resolve("tokenizer.json"),
                tokDir.resolve("tokenizer_config.json"), tokDir.resolve("special_tokens_map.json")));
        JsonNode cj = JSON.readTree(f32.resolve("config.json").toFile());
        assertThat(cj.get("hidden_act").asText()).isEqualTo(act.equals("fatrelu") ? "relu" : act);
        if (act.equals("fatrelu")) {
            assertThat(cj.get("fatrelu_threshold").floatValue()).isEqualTo(threshold);
        } else {
            assertThat(cj.has("fatrelu_threshold")).isFalse();
        }
        assertThat(cj.get("model_type").asText()).isEqualTo(arch);
        assertThat(cj.get("tie_word_embeddings").asBoolean()).isEqualTo(cfg.tieWordEmbeddings());
        for (String tf : java.util.List.of("tokenizer.json", "tokenizer_config.json")) {
            assertThat(f32.resolve(tf)).hasSameBinaryContentAs(tokDir.resolve(tf));
        }
        assertThat(f32.resolve("special_tokens_map.json")).as("absent in the source: skipped").doesNotExist();
        try (ModelFiles mf = ModelFiles.open(f32)) {
            assertThat(Activation.of(mf.config().hiddenAct(), mf.config().fatreluThreshold()))
                    .isEqualTo(Activation.of(out.hiddenAct(), out.fatreluThreshold()));
            assertThat(mf.weights().contains("lm_head.weight")).as("lm_head only when untied")
                    .isEqualTo(!cfg.tieWordEmbeddings());
            assertThat(logits(LlamaModel.load(mf.config(), mf.weights()))).as("F32 logits").isEqualTo(want);
        }

        Path bf16 = tmp.resolve(arch + "-" + act + "-bf16");
        HfExport.write(bf16, p, out, DType.BF16, java.util.List.of());
        MapWeights rounded = new MapWeights("rounded");
        try (SafetensorsFile st = SafetensorsFile.open(bf16.resolve("model.safetensors"))) {
            for (LlamaParams.Param q : p.params()) {
                Tensor t = st.tensor(q.name());
                assertThat(t.dtype()).isEqualTo(DType.BF16);
                assertThat(t.shape()).isEqualTo(q.value().shape());
                float[] w = Kernels.toFloats(q.value());
                float[] r = new float[w.length];
                for (int i = 0; i < w.length; i++) {
                    short bits = t.data().get(LE16, 2L * i);
                    assertThat(bits).as("%s[%d]", q.name(), i).isEqualTo(Half.floatToBf16(w[i]));
                    r[i] = Half.bf16ToFloat(bits);
                }
                rounded.put(Tensor.f32(q.name(), r, q.value().shape()));
            }
        }
        float[] wantBf16 = logits(LlamaModel.load(out, rounded));
        try (ModelFiles mf = ModelFiles.open(bf16)) {
            float[] got = logits(LlamaModel.load(mf.config(), mf.weights()));
            assertThat(got).as("BF16 logits = the F32 model of the rounded weights").isEqualTo(wantBf16);
            double maxDiff = 0;
            double maxAbs = 0;
            for (int i = 0; i < got.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
                maxAbs = Math.max(maxAbs, Math.abs(want[i]));
            }
            // bf16 keeps 8 bits of mantissa: a relative weight error of at most 2^-9 moves these logits a little
            assertThat(maxDiff).as("BF16 vs F32 logits (max |logit| %s)", maxAbs).isGreaterThan(0)
                    .isLessThan(0.05 * maxAbs);
        }
    }

    @Test
    void proSparseConventionFatreluWithHiddenActParamReadsAsFatrelu() throws IOException {
        ModelConfig relu = config("llama", "relu");
        LlamaParams p = trained(relu);
        Path dir = tmp.resolve("prosparse-convention");
        HfExport.write(dir, p, relu.withActivation("fatrelu", T), DType.F32, java.util.List.of());
        float[] sparsa;
        try (ModelFiles mf = ModelFiles.open(dir)) {
            sparsa = logits(LlamaModel.load(mf.config(), mf.weights()));
        }
        ObjectNode cj = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        cj.remove("fatrelu_threshold");
        cj.put("hidden_act", "fatrelu");
        cj.put("hidden_act_param", T);
        Files.write(dir.resolve("config.json"), JSON.writeValueAsBytes(cj));
        ModelConfig c = ConfigJson.read(dir.resolve("config.json"));
        assertThat(c.hiddenAct()).isEqualTo("fatrelu");
        assertThat(c.fatreluThreshold()).isEqualTo(T);
        assertThat(Activation.of(c.hiddenAct(), c.fatreluThreshold())).isEqualTo(new Activation(
                Activation.Kind.FATRELU, T));
        try (ModelFiles mf = ModelFiles.open(dir)) {
            assertThat(logits(LlamaModel.load(mf.config(), mf.weights()))).isEqualTo(sparsa);
        }
        // and T is applied: plain ReLU gives other logits
        assertThat(logits(LlamaModel.of(p.weights(), DenseFfn::new))).isNotEqualTo(sparsa);
        // hidden_act_param means nothing beside another activation
        cj.put("hidden_act", "relu");
        Files.write(dir.resolve("config.json"), JSON.writeValueAsBytes(cj));
        assertThat(ConfigJson.read(dir.resolve("config.json")).fatreluThreshold()).isZero();
    }

    @Test
    void refusesQuantizedDtypes() {
        ModelConfig cfg = config("llama", "silu");
        LlamaParams p = LlamaParams.init(cfg, 0.02, 1, arena);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HfExport.write(tmp.resolve("q8"), p, cfg,
                DType.Q8_0, java.util.List.of())).hasMessageContaining("a Hugging Face folder holds f32, bf16 or f16");
        assertThat(tmp.resolve("q8")).doesNotExist();
    }
}
