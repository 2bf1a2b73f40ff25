package dev.sparsa.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * transformers loads the Hugging Face folders Sparsa writes: scripts/golden/make_export_golden.py ran
 * {@code AutoModelForCausalLM.from_pretrained} (float32, eager) on the folders of {@link ExportGolden} and recorded
 * the SHA-256 of the model.safetensors and config.json it loaded and its logits. Here the same folders are written
 * again, must be those very bytes, and Sparsa's logits on them must equal transformers' within 1e-5.
 *
 * <p>FATReLU: transformers reads {@code hidden_act: relu} and ignores {@code fatrelu_threshold}, so its plain logits
 * are compared with Sparsa's at threshold 0; the script also ran transformers' model with each layer's
 * {@code mlp.act_fn} replaced by FATReLU_T, which Sparsa's logits with the folder's T must equal.
 */
class HfExportGoldenTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double TOL = 1e-5;

    @TempDir
    Path tmp;

    static Stream<String> variants() {
        return ExportGolden.VARIANTS.stream().map(ExportGolden.Variant::name);
    }

    @ParameterizedTest
    @MethodSource("variants")
    void transformersLoadsTheFolderSparsaWrites(String name) throws IOException {
        ExportGolden.Variant v = ExportGolden.VARIANTS.stream().filter(x -> x.name().equals(name)).findFirst()
                .orElseThrow();
        JsonNode g = JSON.readTree(resource(name + "/golden.json"));
        assertThat(g.get("provenance").get("reference").asText()).as("made by transformers").isEqualTo("hf");
        assertThat(g.get("ids").traverse(JSON).readValueAs(int[].class)).isEqualTo(ExportGolden.IDS);
        Path d = tmp.resolve(name);
        ExportGolden.write(v, d);
        assertThat(sha256(d.resolve("model.safetensors"))).as("model.safetensors is the file transformers loaded")
                .isEqualTo(g.get("model.safetensors_sha256").asText());
        assertThat(sha256(d.resolve("config.json"))).as("config.json is the file transformers loaded")
                .isEqualTo(g.get("config.json_sha256").asText());
        try (ModelFiles mf = ModelFiles.open(d); Parallel par = new Parallel(2)) {
            ModelConfig cfg = mf.config();
            float threshold = g.has("fatrelu_threshold") ? (float) g.get("fatrelu_threshold").asDouble() : 0f;
            assertThat(cfg.fatreluThreshold()).isEqualTo(threshold);
            ModelConfig asTransformers = threshold > 0 ? cfg.withActivation("relu", 0f) : cfg;
            close(logits(LlamaModel.load(asTransformers, mf.weights()), par), floats(name + "/logits.bin"), name);
            if (threshold > 0) {
                assertThat(g.get("logits_fatrelu").get("max_abs_diff_vs_relu").asDouble()).as("T matters")
                        .isGreaterThan(1e-3);
                close(logits(LlamaModel.load(cfg, mf.weights()), par), floats(name + "/logits_fatrelu.bin"),
                        name + " FATReLU");
            }
        }
    }

    private static float[] logits(LlamaModel m, Parallel par) {
        int[] ids = ExportGolden.IDS;
        return m.forward(m.newCache(ids.length), ids, true, ActivationTap.NONE, par);
    }

    private static void close(float[] got, float[] want, String what) {
        assertThat(got).hasSameSizeAs(want);
        double max = 0;
        for (int i = 0; i < got.length; i++) {
            max = Math.max(max, Math.abs(got[i] - want[i]));
        }
        assertThat(max).as("%s: max |Sparsa - transformers|", what).isLessThanOrEqualTo(TOL);
    }

    private static String sha256(Path f) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static float[] floats(String path) throws IOException {
        byte[] b = resource(path);
        float[] f = new float[b.length / 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        return f;
    }

    private static byte[] resource(String path) throws IOException {
        try (InputStream in = HfExportGoldenTest.class.getResourceAsStream("/golden/export/" + path)) {
            if (in == null) {
                throw new IOException("missing test resource golden/export/" + path);
            }
            return in.readAllBytes();
        }
    }
}
