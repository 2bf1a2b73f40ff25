package dev.sparsa.infer.mode;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparsa.SparsaException.FormatException;
import dev.sparsa.infer.Predictor;
import dev.sparsa.infer.SparseStats;
import dev.sparsa.io.SafetensorsFile;
import dev.sparsa.io.SafetensorsWriter;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The calibration file (docs/sparse-modes.md): a safetensors file whose {@code __metadata__} carries
 * {@code format = sparsa-calibration}, {@code version} and {@code calibration}, a JSON document with the mode, the
 * model it was made for (shape and weight fingerprint, {@link ModelShape}), the calibration source, the target and
 * the per-layer parameters; a predictor's weights are its tensors ({@code layers.L.predictor.w1} {@code [r, D]},
 * {@code .w2} {@code [F, r]}, and for the MLP form {@code .b1} {@code [r]}, {@code .b2} {@code [F]}, all F32).
 * Written atomically. {@link #read} validates everything before anything uses it: one {@link FormatException}
 * naming the file and the field otherwise, including a file made for another mode, another model shape (the first
 * field that differs) or other weights (stale).
 */
public final class CalibrationFile {
    public static final String FORMAT = "sparsa-calibration";
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final String[] SITES = Arrays.stream(SparseStats.Site.values()).map(SparseStats.Site::key)
            .toArray(String[]::new);

    private CalibrationFile() {
    }

    /**
     * Where the commands look for a mode's calibration when none is given: {@code DIR/sparsa-calibration-MODE
     * .safetensors} for a model directory, {@code FILE.sparsa-calibration-MODE.safetensors} beside a model file.
     */
    public static Path defaultPath(Path model, SparseMode mode) {
        String name = "sparsa-calibration-" + mode.key() + ".safetensors";
        Path m = model.toAbsolutePath().normalize();
        if (Files.isDirectory(m)) {
            return m.resolve(name);
        }
        return m.resolveSibling(m.getFileName() + "." + name);
    }

    // ---------------------------------------------------------------- write

    /** Writes {@code c} to {@code path} atomically. */
    public static void write(Path path, Calibration c) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("version", Integer.toString(Calibration.VERSION));
        meta.put("calibration", json(c));
        List<Tensor> tensors = new ArrayList<>();
        if (c.predictors() != null) {
            for (int l = 0; l < c.predictors().size(); l++) {
                Predictor p = c.predictors().get(l);
                String pre = "layers." + l + ".predictor.";
                tensors.add(Tensor.f32(pre + "w1", Kernels.toFloats(p.w1()), p.w1().shape()));
                tensors.add(Tensor.f32(pre + "w2", Kernels.toFloats(p.w2()), p.w2().shape()));
                if (p.kind() == Predictor.Kind.MLP) {
                    tensors.add(Tensor.f32(pre + "b1", p.b1(), p.b1().length));
                    tensors.add(Tensor.f32(pre + "b2", p.b2(), p.b2().length));
                }
            }
        }
        if (c.importance() != null) {
            for (int l = 0; l < c.importance().size(); l++) {
                float[] wt = c.importance().get(l);
                tensors.add(Tensor.f32(importanceName(l), wt, wt.length));
            }
        }
        SafetensorsWriter.write(path, tensors, meta);
    }

    /** A predictor dtype as files and options name it: {@code f32}, {@code bf16}, {@code q8_0}. */
    public static String key(DType t) {
        return t.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Attribution: the tensor of layer l's neuron weights, {@code [F]} F32. */
    static String importanceName(int l) {
        return "layers." + l + ".attribution.weight";
    }

    /** Attribution: the score the weights average and the labels its gradients were taken against. */
    public static final String ATTRIBUTION_SCORE = "cor-gxo";
    public static final String ATTRIBUTION_LABELS = "greedy";

    /** The {@code calibration} JSON document of {@code c} (indented). */
    public static String json(Calibration c) {
        ObjectNode root = JSON.createObjectNode();
        root.put("mode", c.mode().key());
        root.put("method", c.mode().method());
        ObjectNode m = root.putObject("model");
        c.model().fields().forEach((k, v) -> m.putPOJO(k, v));
        m.put("weights_sha256", c.model().fingerprint());
        ObjectNode s = root.putObject("source");
        s.put("corpus", c.source().corpus());
        s.put("tokens", c.source().tokens());
        s.put("ctx", c.source().ctx());
        s.put("seed", c.source().seed());
        s.put("created", c.source().created());
        putFinite(root, "target", c.target());
        putFinite(root, "recall", c.recall());
        if (c.allocation() != null) {
            root.put("allocation", c.allocation());
        }
        putFinite(root, "gaussian_z", c.gaussianZ());
        if (c.predictor() != null) {
            Calibration.PredictorSpec p = c.predictor();
            ObjectNode pn = root.putObject("predictor");
            pn.put("kind", p.kind().key());
            pn.put("rank", p.rank());
            pn.put("labels", p.labels());
            pn.put("epochs", p.epochs());
            pn.put("lr", p.lr());
            pn.put("held_out", p.heldOut());
            pn.put("dtype", key(p.dtype()));
        }
        if (c.mode() == SparseMode.ATTRIBUTION) {
            ObjectNode an = root.putObject("attribution");
            an.put("score", ATTRIBUTION_SCORE);
            an.put("labels", ATTRIBUTION_LABELS);
        }
        ArrayNode layers = root.putArray("layers");
        for (Calibration.Layer l : c.layers()) {
            ObjectNode ln = layers.addObject();
            switch (c.mode()) {
                case CATS -> ln.put("threshold", l.threshold());
                case TOPK -> {
                    ln.put("z", l.z());
                    putFinite(ln, "gaussian_sparsity", l.gaussianSparsity());
                }
                case TEAL -> {
                    ObjectNode t = ln.putObject("threshold");
                    ObjectNode sp = ln.putObject("site_sparsity");
                    for (int i = 0; i < SITES.length; i++) {
                        t.put(SITES[i], l.tealThreshold()[i]);
                        sp.put(SITES[i], l.tealSparsity()[i]);
                    }
                }
                case PREDICTED -> {
                    ln.put("tau", l.tau());
                    if (!Float.isNaN(l.threshold())) {
                        ln.put("label_threshold", l.threshold());
                    }
                    putFinite(ln, "recall", l.recall());
                    putFinite(ln, "precision", l.precision());
                }
                case ATTRIBUTION -> {
                }
                default -> throw new IllegalArgumentException("mode " + c.mode() + " has no calibration");
            }
            putFinite(ln, "sparsity", l.sparsity());
        }
        try {
            return JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void putFinite(ObjectNode n, String k, double v) {
        if (Double.isFinite(v)) {
            n.put(k, v);
        }
    }

    // ---------------------------------------------------------------- read

    /**
     * Reads and validates the calibration at {@code path} for {@code mode} on the model {@code shape}: a
     * {@link FormatException} naming the file and the problem when it is missing, not a calibration, of another
     * version or mode, made for another model shape, stale (other weights), or inconsistent in any field.
     */
    public static Calibration read(Path path, SparseMode mode, ModelShape shape) {
        if (!Files.isRegularFile(path)) {
            throw FormatException.of(path, "no calibration file for --sparse " + mode.key() + "; make one with "
                    + "sparsa calibrate --method " + mode.method() + " (or pass --calibration FILE)");
        }
        try (SafetensorsFile f = SafetensorsFile.open(path)) {
            return read(path, f, mode, shape);
        }
    }

    private static Calibration read(Path path, SafetensorsFile f, SparseMode mode, ModelShape shape) {
        Map<String, String> meta = f.stringMetadata();
        if (!FORMAT.equals(meta.get("format"))) {
            throw FormatException.of(path, "not a Sparsa calibration file (__metadata__.format is "
                    + (meta.get("format") == null ? "missing" : "'" + meta.get("format") + "'") + ")");
        }
        int version;
        try {
            version = Integer.parseInt(String.valueOf(meta.get("version")));
        } catch (NumberFormatException e) {
            throw FormatException.of(path, "__metadata__.version is not an integer: " + meta.get("version"));
        }
        if (version < 1 || version > Calibration.VERSION) {
            throw FormatException.of(path, "calibration version " + version + " is not one this Sparsa reads (1.."
                    + Calibration.VERSION + ")");
        }
        String doc = meta.get("calibration");
        if (doc == null) {
            throw FormatException.of(path, "__metadata__.calibration is missing");
        }
        JsonNode root;
        try {
            root = JSON.readTree(doc);
        } catch (JsonProcessingException e) {
            throw FormatException.of(path, "__metadata__.calibration is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw FormatException.of(path, "__metadata__.calibration is not a JSON object");
        }
        Fields r = new Fields(path, root, "calibration");
        String fileMode = r.text("mode");
        if (!fileMode.equals(mode.key())) {
            throw FormatException.of(path, "is a calibration for --sparse " + fileMode + ", not " + mode.key());
        }
        Fields m = r.object("model");
        ModelShape fileShape = new ModelShape(m.text("architecture"), m.count("hidden_size"),
                m.count("intermediate_size"), m.count("num_hidden_layers"), m.count("num_attention_heads"),
                m.count("num_key_value_heads"), m.count("head_dim"), m.count("vocab_size"),
                m.text("hidden_act"), (float) m.number("fatrelu_threshold"), m.text("weights_sha256"));
        String diff = fileShape.firstDifference(shape);
        if (diff != null) {
            throw FormatException.of(path, "was made for another model: its " + diff);
        }
        if (!fileShape.fingerprint().equals(shape.fingerprint())) {
            throw FormatException.of(path, "is stale: the model's weights changed since calibration (weights_sha256 "
                    + "differs); recalibrate with sparsa calibrate --method " + mode.method());
        }
        Fields s = r.object("source");
        Calibration.Source source = new Calibration.Source(s.text("corpus"), s.integer("tokens"), s.count("ctx"),
                s.integer("seed"), s.text("created"));
        double target = r.optional("target");
        double recall = r.optional("recall");
        if (mode != SparseMode.PREDICTED || !Double.isNaN(target)) {
            r.check("target", target > 0 && target < 1, "must be in (0, 1)");
        }
        String allocation = null;
        Calibration.PredictorSpec spec = null;
        double gaussianZ = Double.NaN;
        switch (mode) {
            case CATS -> {
            }
            case TEAL -> {
                allocation = r.text("allocation");
                r.check("allocation", allocation.equals("uniform") || allocation.equals("greedy"),
                        "must be uniform or greedy");
            }
            case TOPK -> gaussianZ = r.number("gaussian_z");
            case PREDICTED -> {
                r.check("recall", recall > 0 && recall <= 1, "must be in (0, 1]");
                Fields p = r.object("predictor");
                Predictor.Kind kind;
                try {
                    kind = Predictor.Kind.of(p.text("kind"));
                } catch (RuntimeException e) {
                    throw FormatException.of(path, "predictor.kind must be lowrank or mlp, got " + p.text("kind"));
                }
                String labels = p.text("labels");
                p.check("labels", labels.equals("nonzero") || labels.equals("cats"), "must be nonzero or cats");
                p.check("labels", labels.equals("cats") != Double.isNaN(target),
                        "cats labels need a target, nonzero labels none");
                int rank = p.count("rank");
                p.check("rank", rank >= 1, "must be >= 1");
                DType dtype = DType.F32;                            // version 1: F32 predictors
                if (version >= 2) {
                    String dt = p.text("dtype");
                    dtype = switch (dt) {
                        case "f32" -> DType.F32;
                        case "bf16" -> DType.BF16;
                        case "q8_0" -> DType.Q8_0;
                        default -> throw FormatException.of(path, "predictor.dtype must be f32, bf16 or q8_0, got "
                                + dt);
                    };
                }
                spec = new Calibration.PredictorSpec(kind, rank, labels, p.count("epochs"), p.number("lr"),
                        p.number("held_out"), dtype);
            }
            case ATTRIBUTION -> {
                Fields a = r.object("attribution");
                a.check("score", a.text("score").equals(ATTRIBUTION_SCORE), "must be " + ATTRIBUTION_SCORE);
                a.check("labels", a.text("labels").equals(ATTRIBUTION_LABELS), "must be " + ATTRIBUTION_LABELS);
            }
            default -> throw new IllegalArgumentException("mode " + mode + " has no calibration");
        }
        JsonNode ls = root.get("layers");
        if (ls == null || !ls.isArray() || ls.size() != shape.numLayers()) {
            throw FormatException.of(path, "calibration.layers must be an array of " + shape.numLayers()
                    + " layers, got " + (ls == null || !ls.isArray() ? "none" : ls.size()));
        }
        List<Calibration.Layer> layers = new ArrayList<>();
        for (int l = 0; l < ls.size(); l++) {
            if (!ls.get(l).isObject()) {
                throw FormatException.of(path, "calibration.layers[" + l + "] is not an object");
            }
            layers.add(layer(new Fields(path, ls.get(l), "calibration.layers[" + l + "]"), mode, spec));
        }
        List<Predictor> predictors = mode == SparseMode.PREDICTED ? predictors(path, f, spec, shape) : null;
        List<float[]> importance = mode == SparseMode.ATTRIBUTION ? importance(path, f, shape) : null;
        if (mode != SparseMode.PREDICTED && mode != SparseMode.ATTRIBUTION && !f.entries().isEmpty()) {
            throw FormatException.of(path, "a " + mode.key() + " calibration has no tensors, this one has "
                    + f.entries().size());
        }
        return new Calibration(mode, fileShape, source, target, recall, allocation, spec, gaussianZ, layers,
                predictors, importance);
    }

    private static Calibration.Layer layer(Fields n, SparseMode mode, Calibration.PredictorSpec spec) {
        double sparsity = n.optional("sparsity");
        return switch (mode) {
            case CATS -> {
                float t = (float) n.number("threshold");
                n.check("threshold", t >= 0 && Float.isFinite(t), "must be finite and >= 0");
                yield Calibration.Layer.cats(t, sparsity);
            }
            case TOPK -> Calibration.Layer.topk(n.number("z"), sparsity, n.optional("gaussian_sparsity"));
            case TEAL -> {
                Fields t = n.object("threshold");
                Fields sp = n.object("site_sparsity");
                float[] th = new float[SITES.length];
                double[] ss = new double[SITES.length];
                for (int i = 0; i < SITES.length; i++) {
                    th[i] = (float) t.number(SITES[i]);
                    t.check(SITES[i], th[i] >= 0 && Float.isFinite(th[i]), "must be finite and >= 0");
                    ss[i] = sp.number(SITES[i]);
                    sp.check(SITES[i], ss[i] >= 0 && ss[i] <= 1, "must be in [0, 1]");
                }
                yield Calibration.Layer.teal(th, ss, sparsity);
            }
            case PREDICTED -> {
                float tau = (float) n.number("tau");
                n.check("tau", !Float.isNaN(tau), "must be a number");
                float lt = Float.NaN;
                if (spec.labels().equals("cats")) {
                    lt = (float) n.number("label_threshold");
                    n.check("label_threshold", lt >= 0 && Float.isFinite(lt), "must be finite and >= 0");
                }
                yield Calibration.Layer.predicted(lt, tau, n.optional("recall"), n.optional("precision"), sparsity);
            }
            case ATTRIBUTION -> Calibration.Layer.attribution(sparsity);
            default -> throw new IllegalArgumentException("mode " + mode);
        };
    }

    private static List<float[]> importance(Path path, SafetensorsFile f, ModelShape shape) {
        if (f.entries().size() != shape.numLayers()) {
            throw FormatException.of(path, "an attribution calibration of " + shape.numLayers() + " layers has "
                    + shape.numLayers() + " tensors, this file has " + f.entries().size());
        }
        Arena arena = Arena.ofAuto();
        List<float[]> out = new ArrayList<>();
        for (int l = 0; l < shape.numLayers(); l++) {
            out.add(Kernels.toFloats(tensor(path, f, importanceName(l), arena, shape.intermediateSize())));
        }
        return out;
    }

    private static List<Predictor> predictors(Path path, SafetensorsFile f, Calibration.PredictorSpec spec,
                                              ModelShape shape) {
        int d = shape.hiddenSize();
        int ff = shape.intermediateSize();
        int r = spec.rank();
        boolean mlp = spec.kind() == Predictor.Kind.MLP;
        int expected = shape.numLayers() * (mlp ? 4 : 2);
        if (f.entries().size() != expected) {
            throw FormatException.of(path, "a " + spec.kind().key() + " predictor of " + shape.numLayers()
                    + " layers has " + expected + " tensors, this file has " + f.entries().size());
        }
        Arena arena = Arena.ofAuto();
        List<Predictor> out = new ArrayList<>();
        for (int l = 0; l < shape.numLayers(); l++) {
            String pre = "layers." + l + ".predictor.";
            Tensor w1 = tensor(path, f, pre + "w1", arena, r, d);
            Tensor w2 = tensor(path, f, pre + "w2", arena, ff, r);
            float[] b1 = mlp ? Kernels.toFloats(tensor(path, f, pre + "b1", arena, r)) : null;
            float[] b2 = mlp ? Kernels.toFloats(tensor(path, f, pre + "b2", arena, ff)) : null;
            Predictor p = new Predictor(spec.kind(), w1, b1, w2, b2);
            if (!p.fits(spec.dtype())) {
                throw FormatException.of(path, "predictor.dtype " + key(spec.dtype()) + " needs the hidden size ("
                        + d + ") and the rank (" + r + ") to be multiples of " + spec.dtype().blockSize());
            }
            out.add(p);
        }
        return out;
    }

    private static Tensor tensor(Path path, SafetensorsFile f, String name, Arena arena, int... shape) {
        if (!f.contains(name)) {
            throw FormatException.of(path, "missing tensor " + name);
        }
        Tensor t = f.tensor(name);
        if (t.dtype() != DType.F32 || !Arrays.equals(t.shape(), shape)) {
            throw FormatException.of(path, "tensor " + name + " is " + t.dtype() + Arrays.toString(t.shape())
                    + ", expected F32" + Arrays.toString(shape));
        }
        float[] v = Kernels.toFloats(t);
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                throw FormatException.of(path, "tensor " + name + " has a non-finite value at " + i);
            }
        }
        return Tensor.f32(name, v, shape).copyTo(arena);                     // off the file's mapping
    }

    /** Typed access to the fields of one JSON object, each error naming the file and the field's path. */
    private record Fields(Path path, JsonNode node, String where) {
        JsonNode get(String k) {
            JsonNode v = node.get(k);
            if (v == null || v.isNull()) {
                throw FormatException.of(path, where + "." + k + " is missing");
            }
            return v;
        }

        String text(String k) {
            JsonNode v = get(k);
            if (!v.isTextual()) {
                throw FormatException.of(path, where + "." + k + " is not a string");
            }
            return v.textValue();
        }

        double number(String k) {
            JsonNode v = get(k);
            if (!v.isNumber() || !Double.isFinite(v.doubleValue())) {
                throw FormatException.of(path, where + "." + k + " is not a finite number");
            }
            return v.doubleValue();
        }

        double optional(String k) {
            JsonNode v = node.get(k);
            return v == null || v.isNull() ? Double.NaN : number(k);
        }

        long integer(String k) {
            JsonNode v = get(k);
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw FormatException.of(path, where + "." + k + " is not an integer");
            }
            return v.longValue();
        }

        int count(String k) {
            long v = integer(k);
            if (v < 0 || v > Integer.MAX_VALUE) {
                throw FormatException.of(path, where + "." + k + " is not a non-negative int: " + v);
            }
            return (int) v;
        }

        Fields object(String k) {
            JsonNode v = get(k);
            if (!v.isObject()) {
                throw FormatException.of(path, where + "." + k + " is not an object");
            }
            return new Fields(path, v, where + "." + k);
        }

        void check(String k, boolean ok, String problem) {
            if (!ok) {
                throw FormatException.of(path, where + "." + k + " " + problem + ", got " + node.get(k));
            }
        }
    }
}
