package dev.sparsa.perf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparsa.SparsaException;
import dev.sparsa.io.AtomicFile;
import dev.sparsa.io.ConfigJson;
import dev.sparsa.io.GgufExport;
import dev.sparsa.io.MapWeights;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.RandomWeights;
import dev.sparsa.io.SafetensorsFile;
import dev.sparsa.io.SafetensorsWriter;
import dev.sparsa.io.tokenizer.SyntheticTokenizer;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.llama.KvCache;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Random-weight Llama models at realistic shapes, written with Sparsa's own writers (safetensors + config.json +
 * tokenizer.json, optionally a GGUF through {@link GgufExport}), for end-to-end benchmarks where the bytes per token
 * matter and the values do not.
 *
 * <p>Weights: {@link RandomWeights#decoder} (uniform, standard deviation 0.02, norms 1; each tensor seeded from
 * (seed, name), so the same seed gives the same weights whatever the activation).
 *
 * <p>Sparse stand-in: with {@code act = fatrelu} the threshold T is calibrated on a few random tokens so that the
 * requested fraction of gate pre-activations falls below T (FATReLU_T zeroes them). This is a <b>synthetic stand-in
 * for a ProSparse model</b> (same shape, same bytes per token, the same kind of zero pattern in the FFN), not a
 * trained sparse model: its text is noise.
 *
 * <p>Tokenizer: {@link SyntheticTokenizer} (a Llama-2-style BPE with byte fallback of exactly the vocabulary size).
 */
public final class Synth {
    /** File name of the completion marker (written last, atomically). */
    public static final String MARKER = "synth.json";

    /** A model shape. */
    public record Shape(String name, int hidden, int ffn, int layers, int heads, int kvHeads, int vocab, int maxPos) {
        public ModelConfig config(String act, float threshold) {
            return new ModelConfig("llama", hidden, ffn, layers, heads, kvHeads, hidden / heads, vocab, maxPos, 1e-5f,
                    10000f, null, act, threshold, false, false, 0, 1, 2);
        }
    }

    public static final Map<String, Shape> SHAPES = shapes();

    private static Map<String, Shape> shapes() {
        Map<String, Shape> m = new LinkedHashMap<>();
        m.put("tinyllama", new Shape("tinyllama", 2048, 5632, 22, 32, 4, 32000, 2048));
        m.put("small", new Shape("small", 1024, 2816, 8, 16, 4, 32000, 2048));
        m.put("tiny", new Shape("tiny", 256, 704, 4, 8, 2, 4096, 1024));
        return m;
    }

    /**
     * What to write.
     *
     * @param gguf     GGUF type to write beside the safetensors (null: none)
     * @param act      silu, relu or fatrelu
     * @param sparsity fraction of gate entries below T for fatrelu
     */
    public record Options(Shape shape, DType dtype, DType gguf, String act, double sparsity, long seed) {
        public Options {
            if (dtype != DType.BF16 && dtype != DType.F32 && dtype != DType.F16) {
                throw new SparsaException.UsageException("--dtype must be bf16, f16 or f32, got " + dtype);
            }
            if (gguf != null && gguf != DType.Q8_0 && gguf != DType.Q4_0 && gguf != DType.F16 && gguf != DType.F32) {
                throw new SparsaException.UsageException("--gguf must be q8_0, q4_0, f16 or f32, got " + gguf);
            }
            if (!List.of("silu", "relu", "fatrelu").contains(act)) {
                throw new SparsaException.UsageException("--act must be silu, relu or fatrelu, got " + act);
            }
            if (!(sparsity > 0 && sparsity < 1)) {
                throw new SparsaException.UsageException("--sparsity must be in (0, 1), got " + sparsity);
            }
        }
    }

    /** The written model: its directory, GGUF file (or null), config, and the calibrated threshold's sparsity. */
    public record Result(Path dir, Path gguf, ModelConfig config, double calibratedSparsity, boolean reused) {
    }

    private Synth() {
    }

    /** The GGUF file name for a type. */
    public static String ggufName(DType t) {
        return "model." + t.name().toLowerCase() + ".gguf";
    }

    /**
     * Writes the model into {@code dir} unless a complete one with the same options is already there (its
     * {@link #MARKER} matches); returns it. Progress lines go to {@code log}.
     */
    public static Result ensure(Options o, Path dir, Consumer<String> log) {
        Path marker = dir.resolve(MARKER);
        byte[] want = markerJson(o, Float.NaN, Double.NaN);
        if (Files.isRegularFile(marker)) {
            try {
                ObjectNode have = (ObjectNode) JSON.readTree(marker.toFile());
                ObjectNode w = (ObjectNode) JSON.readTree(want);
                float t = (float) have.path("fatrelu_threshold").asDouble(0);
                double s = have.path("calibrated_sparsity").asDouble(Double.NaN);
                have.remove(List.of("fatrelu_threshold", "calibrated_sparsity"));
                w.remove(List.of("fatrelu_threshold", "calibrated_sparsity"));
                Path g = o.gguf() == null ? null : dir.resolve(ggufName(o.gguf()));
                if (have.equals(w) && (g == null || Files.isRegularFile(g))) {
                    log.accept("synth: reusing " + dir);
                    return new Result(dir, g, o.shape().config(o.act(), t), s, true);
                }
            } catch (IOException | RuntimeException e) {
                // unreadable marker: rewrite the model
            }
        }
        return write(o, dir, log);
    }

    /** Writes the model into {@code dir} (created if needed), replacing what is there. */
    public static Result write(Options o, Path dir, Consumer<String> log) {
        try {
            Files.createDirectories(dir);
            Files.deleteIfExists(dir.resolve(MARKER));
        } catch (IOException e) {
            throw new SparsaException("synth: cannot create " + dir + ": " + e.getMessage(), e);
        }
        Shape s = o.shape();
        long t0 = System.nanoTime();
        Path st = dir.resolve(ModelFiles.SAFETENSORS);
        try (Arena arena = Arena.ofShared()) {
            MapWeights w = RandomWeights.decoder(s.config(o.act(), 0f), o.dtype(), o.seed(), arena,
                    line -> log.accept("synth: " + line));
            List<Tensor> tensors = new ArrayList<>(w.asMap().values());
            log.accept("synth: writing " + st);
            Map<String, String> meta = new LinkedHashMap<>();        // ordered: the same bytes on every run
            meta.put("format", "pt");
            meta.put("generator", "sparsa synth");
            SafetensorsWriter.write(st, tensors, meta);
        }
        AtomicFile.write(dir.resolve(ModelFiles.TOKENIZER), SyntheticTokenizer.json(s.vocab()));
        float threshold = 0f;
        double sparsity = Double.NaN;
        if (o.act().equals("fatrelu")) {
            float[] ts = calibrate(s, st, o.sparsity(), log);
            threshold = ts[0];
            sparsity = ts[1];
        }
        ModelConfig cfg = s.config(o.act(), threshold);
        ConfigJson.write(cfg, dir.resolve(ModelFiles.CONFIG));
        Path gguf = null;
        if (o.gguf() != null) {
            gguf = dir.resolve(ggufName(o.gguf()));
            log.accept("synth: writing " + gguf);
            try (ModelFiles mf = ModelFiles.open(dir)) {
                int[] n = {0};
                GgufExport.write(mf, gguf, o.gguf(), line -> {
                    if (++n[0] % 40 == 0) {
                        log.accept("synth:   " + line);
                    }
                });
            }
        }
        AtomicFile.write(dir.resolve(MARKER), markerJson(o, threshold, sparsity));
        log.accept(String.format("synth: wrote %s in %.1f s", dir, (System.nanoTime() - t0) / 1e9));
        return new Result(dir, gguf, cfg, sparsity, false);
    }

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private static byte[] markerJson(Options o, float threshold, double sparsity) {
        ObjectNode n = JSON.createObjectNode();
        n.put("shape", o.shape().name());
        n.put("dtype", o.dtype().name().toLowerCase());
        n.put("gguf", o.gguf() == null ? null : o.gguf().name().toLowerCase());
        n.put("act", o.act());
        n.put("target_sparsity", o.act().equals("fatrelu") ? o.sparsity() : 0);
        n.put("seed", o.seed());
        n.put("fatrelu_threshold", threshold);
        n.put("calibrated_sparsity", sparsity);
        n.put("note", "random weights (uniform, std 0.02; norms 1) written by sparsa synth; not a trained model"
                + (o.act().equals("fatrelu") ? "; fatrelu threshold calibrated on random tokens: a synthetic stand-in "
                + "for a ProSparse model" : ""));
        try {
            return JSON.writeValueAsBytes(n);
        } catch (IOException e) {
            throw new SparsaException("synth: cannot encode marker", e);
        }
    }

    // ------------------------------------------------------------------ fatrelu calibration

    /**
     * Finds T so that {@code sparsity} of the gate pre-activations fall below it, with FATReLU_T in place (the
     * distribution depends on T through the residual stream, so a few fixed-point rounds). Returns {T, measured}.
     */
    private static float[] calibrate(Shape s, Path st, double sparsity, Consumer<String> log) {
        int tokens = 16;
        SplittableRandom r = new SplittableRandom(12345);
        int[] ids = new int[tokens];
        for (int i = 0; i < tokens; i++) {
            ids[i] = 3 + r.nextInt(s.vocab() - 3);
        }
        float t = 0f;
        String act = "silu";
        double measured = Double.NaN;
        try (SafetensorsFile w = SafetensorsFile.open(st); Parallel par = Parallel.ofAvailableProcessors()) {
            for (int round = 0; round < 3; round++) {
                ModelConfig c = s.config(act, t);
                LlamaModel m = LlamaModel.load(c, w);
                float[] all = new float[s.layers() * tokens * s.ffn()];
                int[] n = {0};
                float tt = t;
                long[] below = {0};
                int ffn = s.ffn();
                ActivationTap tap = (layer, pos, x, xo, gate, a, h, o) -> {
                    System.arraycopy(gate, o, all, n[0], ffn);
                    n[0] += ffn;
                    for (int i = o; i < o + ffn; i++) {
                        if (gate[i] < tt) {
                            below[0]++;
                        }
                    }
                };
                KvCache cache = m.newCache(tokens);
                m.forward(cache, ids, false, tap, par);
                if (act.equals("fatrelu")) {
                    measured = below[0] / (double) n[0];
                }
                float[] sorted = Arrays.copyOf(all, n[0]);
                Arrays.sort(sorted);
                t = sorted[(int) Math.min(sorted.length - 1, Math.round(sparsity * sorted.length))];
                act = "fatrelu";
                log.accept(String.format("synth: calibration round %d: T = %.4f%s", round + 1, t,
                        Double.isNaN(measured) ? "" : String.format(" (previous T gave %.3f below)", measured)));
            }
            // measure the final T
            ModelConfig c = s.config("fatrelu", t);
            LlamaModel m = LlamaModel.load(c, w);
            long[] cnt = {0, 0};
            float tt = t;
            int ffn = s.ffn();
            m.forward(m.newCache(tokens), ids, false, (layer, pos, x, xo, gate, a, h, o) -> {
                for (int i = o; i < o + ffn; i++) {
                    cnt[0] += gate[i] < tt ? 1 : 0;
                }
                cnt[1] += ffn;
            }, par);
            measured = cnt[0] / (double) cnt[1];
            log.accept(String.format("synth: fatrelu T = %.4f zeroes %.3f of gate entries on %d random tokens", t,
                    measured, tokens));
        }
        return new float[] {t, (float) measured};
    }
}
