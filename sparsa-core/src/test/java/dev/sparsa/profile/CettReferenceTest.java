package dev.sparsa.profile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.onnx.OnnxModel;
import dev.sparsa.io.tokenizer.TokenizerJson;
import dev.sparsa.model.bert.BertModel;
import dev.sparsa.profile.adapter.BertProfiledModel;
import dev.sparsa.profile.metric.Cett;
import dev.sparsa.profile.metric.CettCalibrator;
import dev.sparsa.profile.metric.LayerContext;
import dev.sparsa.profile.metric.ZeroSparsity;
import dev.sparsa.profile.toy.ToyModel;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Sparsa's zero and CETT sparsity against an independent PyTorch computation (scripts/reference/cett_reference.py)
 * on activations of a tiny random ReLU model, a tiny GELU model and three layers of the real all-MiniLM-L6-v2.
 * The activations are regenerated deterministically here and dumped to target/reference-cett (npy); the script's
 * output on them is committed as src/test/resources/reference/cett-reference.json.
 */
class CettReferenceTest {
    static final double[] TARGETS = {0.1, 0.2, 0.3};
    static final Path DUMP = Path.of("target", "reference-cett");

    record Layer(String name, int t, int f, int d, float[] h, float[] down) {
    }

    static List<Layer> layers() throws IOException {
        List<Layer> out = new ArrayList<>();
        for (String toy : List.of("toy-relu", "toy-gelu")) {
            ToyModel m = ToyModel.of(toy);
            out.addAll(capture(toy, m, ProfilerTest.text(20), new int[]{0, 1}));
        }
        out.addAll(capture("minilm", miniLm(), new Corpus("s", List.of(SENTENCES)), new int[]{0, 3, 5}));
        return out;
    }

    static final String SENTENCES = "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent "
            + "primary election produced no evidence that any irregularities took place. The jury further said in "
            + "term-end presentments that the City Executive Committee, which had over-all charge of the election, "
            + "deserves the praise and thanks of the City of Atlanta for the manner in which the election was "
            + "conducted. The September-October term jury had been charged by Fulton Superior Court Judge Durwood "
            + "Pye to investigate reports of possible irregularities in the hard-fought primary which was won by "
            + "Mayor-nominate Ivan Allen Jr. Only a relative handful of such reports was received, the jury said.";

    static BertProfiledModel miniLm() throws IOException {
        byte[] onnx;
        try (InputStream in = CettReferenceTest.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
            onnx = in.readAllBytes();
        }
        try (InputStream tok = CettReferenceTest.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            return new BertProfiledModel("all-MiniLM-L6-v2", BertModel.fromOnnx(OnnxModel.parse("minilm", onnx)),
                    TokenizerJson.load(tok, "all-minilm-l6-v2-tokenizer.json"), 126, Parallel.serial());
        }
    }

    private static List<Layer> capture(String name, ProfiledModel m, Corpus c, int[] which) {
        Windows w = Windows.of(c, m.tokenizer(), m.contextLength(), m.contextLength());
        Taps.Capture cap = new Taps.Capture(m.numLayers(), m.hiddenSize(), m.intermediateSize(),
                m.contextLength() + 4);
        m.forward(w.windows().getFirst(), cap);
        List<Layer> out = new ArrayList<>();
        for (int l : which) {
            int t = cap.positions[l];
            int f = m.intermediateSize();
            out.add(new Layer(name + "_L" + l, t, f, m.hiddenSize(), java.util.Arrays.copyOf(cap.h[l], t * f),
                    m.downColumns(l)));
        }
        return out;
    }

    /** What Sparsa computes for one layer: per-token zero and CETT sparsity, calibrated mean sparsity. */
    static Map<String, Object> sparsa(Layer l) {
        float[] norms = LayerContext.columnNorms(l.down(), l.f(), l.d());
        float[] mags = new float[l.t() * l.f()];
        CettCalibrator cal = new CettCalibrator(l.down(), Integer.MAX_VALUE);
        List<Cett.Scan> scans = new ArrayList<>();
        double[] zero = new double[l.t()];
        for (int t = 0; t < l.t(); t++) {
            Cett.magnitudes(l.h(), t * l.f(), norms, mags, t * l.f(), l.f());
            scans.add(Cett.scan(l.h(), t * l.f(), mags, t * l.f(), l.down(), l.f(), l.d()));
            zero[t] = ZeroSparsity.fraction(l.h(), t * l.f(), l.f());
        }
        cal.accept(new dev.sparsa.profile.metric.LayerWindow(0, l.t(), l.f(), l.d(), new float[l.t() * l.d()], l.h(),
                mags, new boolean[l.t() * l.f()], 0));
        double[] eps = cal.epsilons(TARGETS);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("zero", zero);
        for (int i = 0; i < TARGETS.length; i++) {
            double[] per = new double[l.t()];
            double calSum = 0;
            for (int t = 0; t < l.t(); t++) {
                per[t] = scans.get(t).sparsity(TARGETS[i]);
                calSum += (double) scans.get(t).countBelow(eps[i]) / l.f();
            }
            r.put("perToken" + TARGETS[i], per);
            r.put("calibrated" + TARGETS[i], calSum / l.t());
        }
        return r;
    }

    @Test
    void sparsaMatchesTheIndependentPyTorchReference() throws Exception {
        List<Layer> layers = layers();
        dump(layers);
        JsonNode ref;
        try (InputStream in = getClass().getResourceAsStream("/reference/cett-reference.json")) {
            assertThat(in).as("reference/cett-reference.json missing: run scripts/reference/cett_reference.py on "
                    + DUMP.toAbsolutePath()).isNotNull();
            ref = new ObjectMapper().readTree(in);
        }
        StringBuilder report = new StringBuilder();
        for (Layer l : layers) {
            JsonNode rl = ref.get("layers").get(l.name());
            assertThat(rl).as(l.name()).isNotNull();
            Map<String, Object> s = sparsa(l);
            assertThat(rl.get("tokens").asInt()).isEqualTo(l.t());
            double[] zero = (double[]) s.get("zero");
            for (int t = 0; t < l.t(); t++) {
                assertThat(zero[t]).as("%s zero token %d", l.name(), t)
                        .isCloseTo(rl.get("zeroSparsity").get(t).asDouble(), within(1e-12));
            }
            for (double c : TARGETS) {
                JsonNode rc = rl.get("cett").get(String.valueOf(c));
                double[] per = (double[]) s.get("perToken" + c);
                int differ = 0;
                double mean = 0;
                for (int t = 0; t < l.t(); t++) {
                    mean += per[t] / l.t();
                    if (Math.abs(per[t] - rc.get("perToken").get(t).asDouble()) > 1e-12) {
                        differ++;
                    }
                }
                // Sparsa keeps CETT curves in float; a token whose CETT lies within float rounding of c may
                // legitimately flip. Allow at most 1 % of tokens, and means within 1e-3.
                assertThat(differ).as("%s c=%s tokens differing", l.name(), c).isLessThanOrEqualTo(l.t() / 100);
                assertThat(mean).as("%s c=%s per-token mean", l.name(), c)
                        .isCloseTo(rc.get("perTokenMean").asDouble(), within(1e-3));
                assertThat((double) s.get("calibrated" + c)).as("%s c=%s calibrated", l.name(), c)
                        .isCloseTo(rc.get("calibratedMean").asDouble(), within(1e-3));
                report.append(String.format(Locale.ROOT, "| %s | %d | %.2f | %.4f | %.4f | %.4f | %.4f | %d |%n",
                        l.name(), l.t(), c, mean, rc.get("perTokenMean").asDouble(), (double) s.get("calibrated" + c),
                        rc.get("calibratedMean").asDouble(), differ));
            }
        }
        Files.writeString(DUMP.resolve("comparison.md"), report.toString());
    }

    static void dump(List<Layer> layers) throws IOException {
        Files.createDirectories(DUMP);
        List<String> names = new ArrayList<>();
        for (Layer l : layers) {
            npy(DUMP.resolve("h_" + l.name() + ".npy"), l.h(), l.t(), l.f());
            npy(DUMP.resolve("down_" + l.name() + ".npy"), l.down(), l.f(), l.d());
            names.add(l.name());
        }
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("names", names);
        meta.put("targets", TARGETS);
        Files.writeString(DUMP.resolve("meta.json"), new ObjectMapper().writeValueAsString(meta));
    }

    /** NumPy .npy v1.0, little-endian float32, C order. */
    static void npy(Path file, float[] v, int rows, int cols) throws IOException {
        String header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + rows + ", " + cols + "), }";
        int total = 10 + header.length() + 1;
        int pad = (64 - total % 64) % 64;
        header = header + " ".repeat(pad) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + 4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        b.putShort((short) header.length()).put(header.getBytes(StandardCharsets.US_ASCII));
        for (float x : v) {
            b.putFloat(x);
        }
        Files.write(file, b.array());
    }
}
