package dev.sparsa.model;

import dev.sparsa.SparsaException;
import dev.sparsa.io.SafetensorsFile;
import dev.sparsa.io.SafetensorsWriter;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Tensor;
import dev.sparsa.tensor.VectorOps;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * LTE's routers of a model (Zheng et al. 2024, "Learn To be Efficient"), as training leaves them and the
 * {@code lte} sparse mode reads them: per layer ℓ a router {@code W_r} of [N, D] on the FFN input x (after the
 * pre-FFN norm), expert scores {@code G(x)_e = σ(x·W_r,e)} (the paper's sigmoid router, no bias), and the threshold
 * τ of the hard selection: expert e is computed iff {@code G(x)_e > τ}. Expert e is the contiguous neurons
 * {@code [e·S, (e+1)·S)} of the FFN (S = {@link #expertSize}; training permutes the neurons once so that the
 * balanced k-means clusters of the paper are contiguous, docs/lte.md).
 *
 * <p>Stored inside the model folder as {@value #FILE} (F32 tensors {@code lte.router.ℓ}, metadata: format, version,
 * expert size, τ, hidden and intermediate size, layers); {@link #read} validates it against the model's config.
 */
public record LteRouters(int expertSize, float tau, int hidden, int intermediate, List<float[]> routers) {
    /** The file name inside a model folder. */
    public static final String FILE = "lte_routers.safetensors";
    static final String FORMAT = "sparsa-lte-routers";
    static final String VERSION = "1";

    public LteRouters {
        if (expertSize < 1 || intermediate % expertSize != 0) {
            throw new IllegalArgumentException("expert size " + expertSize + " must divide the FFN width " + intermediate);
        }
        if (!(tau > 0 && tau < 1)) {
            throw new IllegalArgumentException("τ must be in (0, 1), got " + tau);
        }
        for (float[] r : routers) {
            if (r.length != (intermediate / expertSize) * hidden) {
                throw new IllegalArgumentException("router of " + r.length + " values, expected N·D = "
                        + (intermediate / expertSize) * hidden);
            }
        }
        routers = List.copyOf(routers);
    }

    /** Experts per layer, N = F / S. */
    public int experts() {
        return intermediate / expertSize;
    }

    /** Layer ℓ's router [N, D], row-major. */
    public float[] router(int layer) {
        return routers.get(layer);
    }

    /** The same routers with another threshold. */
    public LteRouters withTau(float t) {
        return new LteRouters(expertSize, t, hidden, intermediate, routers);
    }

    /** σ(z) in float, the one definition training and inference share. */
    public static float sigmoid(float z) {
        return (float) (1.0 / (1.0 + Math.exp(-z)));
    }

    /** The hard selection of stage 2 and of the kernel: {@code σ(z) > τ}. */
    public static boolean selected(float z, float tau) {
        return sigmoid(z) > tau;
    }

    /**
     * Router logits {@code z[zo + e] = x[xo ..)·W_r,e} of one token, in float ({@link VectorOps#dot}: the same bits
     * for training, evaluation and the kernel, any thread count). A scalar loop here cost the {@code lte} kernel
     * about a third of its decode time at TinyLlama shape (N·D = 720k multiply-adds a layer, one thread).
     */
    public static void logits(float[] router, int experts, int d, float[] x, int xo, float[] z, int zo) {
        for (int e = 0; e < experts; e++) {
            z[zo + e] = VectorOps.dot(router, e * d, x, xo, d);                   // z_e = W_r,e · x
        }
    }

    /** {@code dir}/{@value #FILE}. */
    public static Path path(Path modelDir) {
        return modelDir.resolve(FILE);
    }

    /** Whether {@code dir} has routers. */
    public static boolean present(Path modelDir) {
        return Files.isRegularFile(path(modelDir));
    }

    /** Writes {@code dir}/{@value #FILE} atomically. */
    public void write(Path modelDir) {
        List<Tensor> ts = new ArrayList<>();
        for (int l = 0; l < routers.size(); l++) {
            ts.add(Tensor.f32("lte.router." + l, routers.get(l), experts(), hidden));
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("version", VERSION);
        meta.put("expert_size", Integer.toString(expertSize));
        meta.put("tau", Float.toString(tau));
        meta.put("hidden_size", Integer.toString(hidden));
        meta.put("intermediate_size", Integer.toString(intermediate));
        meta.put("num_layers", Integer.toString(routers.size()));
        SafetensorsWriter.write(path(modelDir), ts, meta);
    }

    /**
     * Reads the routers of the model in {@code modelDir} with config {@code cfg}; a {@link SparsaException.UsageException}
     * saying how to make them when the file is missing, a {@link SparsaException.FormatException} naming the field when
     * it is for another model or shape.
     */
    public static LteRouters read(Path modelDir, ModelConfig cfg) {
        Path p = path(modelDir);
        if (!Files.isRegularFile(p)) {
            throw new SparsaException.UsageException("--sparse lte: " + modelDir + " has no LTE routers (" + FILE
                    + "); train them with: sparsa experiment lte (its models are saved with their routers)");
        }
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            Map<String, String> m = f.stringMetadata();
            String format = m.get("format");
            if (!FORMAT.equals(format)) {
                throw bad(p, "format", "is " + format + ", expected " + FORMAT);
            }
            if (!VERSION.equals(m.get("version"))) {
                throw bad(p, "version", "is " + m.get("version") + ", this Sparsa reads version " + VERSION);
            }
            int s = intField(p, m, "expert_size");
            float tau = floatField(p, m, "tau");
            int d = intField(p, m, "hidden_size");
            int ff = intField(p, m, "intermediate_size");
            int layers = intField(p, m, "num_layers");
            if (d != cfg.hiddenSize()) {
                throw bad(p, "hidden_size", "is " + d + ", the model's is " + cfg.hiddenSize() + " (routers of another model)");
            }
            if (ff != cfg.intermediateSize()) {
                throw bad(p, "intermediate_size", "is " + ff + ", the model's is " + cfg.intermediateSize()
                        + " (routers of another model)");
            }
            if (layers != cfg.numLayers()) {
                throw bad(p, "num_layers", "is " + layers + ", the model has " + cfg.numLayers());
            }
            if (s < 1 || ff % s != 0) {
                throw bad(p, "expert_size", s + " does not divide intermediate_size " + ff);
            }
            if (!(tau > 0 && tau < 1)) {
                throw bad(p, "tau", tau + " is not in (0, 1)");
            }
            int n = ff / s;
            List<float[]> rs = new ArrayList<>();
            for (int l = 0; l < layers; l++) {
                String name = "lte.router." + l;
                if (!f.contains(name)) {
                    throw bad(p, name, "is missing");
                }
                Tensor t = f.tensor(name);
                if (t.dtype() != DType.F32 || t.rank() != 2 || t.shape()[0] != n || t.shape()[1] != d) {
                    throw bad(p, name, "is " + t.describe() + ", expected F32 [" + n + ", " + d + "]");
                }
                float[] v = Kernels.toFloats(t);
                for (float x : v) {
                    if (!Float.isFinite(x)) {
                        throw bad(p, name, "has a non-finite value");
                    }
                }
                rs.add(v);
            }
            return new LteRouters(s, tau, d, ff, rs);
        }
    }

    private static SparsaException.FormatException bad(Path p, String field, String what) {
        return new SparsaException.FormatException(p + ": " + field + " " + what);
    }

    private static int intField(Path p, Map<String, String> m, String k) {
        try {
            return Integer.parseInt(m.getOrDefault(k, ""));
        } catch (NumberFormatException e) {
            throw bad(p, k, "is missing or not an integer: " + m.get(k));
        }
    }

    private static float floatField(Path p, Map<String, String> m, String k) {
        try {
            return Float.parseFloat(m.getOrDefault(k, ""));
        } catch (NumberFormatException e) {
            throw bad(p, k, "is missing or not a number: " + m.get(k));
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "LTE routers: %d layers × %d experts of %d neurons, τ = %.3g", routers.size(),
                experts(), expertSize, tau);
    }
}
