package dev.sparsa.experiment;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EosToken;
import dev.sparsa.eval.EvalResult;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.io.AtomicFile;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.HfExport;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.Schedule;
import dev.sparsa.train.TrainData;
import dev.sparsa.train.Trainer;
import dev.sparsa.train.method.ProSparse;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A short ProSparse sparsification ({@link ProSparse}: ReLU substitution, the staged λ of the L1 on the activations,
 * FATReLU threshold shifting with the {@code auto} search) of a dense Llama folder, cached under
 * {@code CACHE/models/NAME-HASH} as {@link DenseLlamaCache} caches its dense models: HASH names every option of the
 * {@link Spec} and the dense model's content (its config.json and weights), so a second call with the same spec on
 * the same weights loads the folder instead of training. The folder is a Hugging Face model folder (F32, the dense
 * model's tokenizer) plus {@value #SUMMARY}; it is built in a temporary folder beside it and renamed into place, so a
 * killed run leaves no half-written model.
 */
public final class ProSparseCache {
    private ProSparseCache() {
    }

    /** The file beside the weights that says how they were made. */
    public static final String SUMMARY = "prosparse.json";

    /**
     * How the dense model is sparsified: {@link ProSparse} with {@code stageSteps} steps per λ stage, AdamW at a
     * constant {@code lr} after {@code warmup} linear steps (β 0.9 / 0.95, weight decay 0.1, clipping at 1), the
     * {@code auto} threshold within {@code tolerance} of the bits/byte at T = 0 on {@code valTokens} validation
     * tokens (windows of {@code seq}).
     *
     * @param name folder name prefix and label
     */
    public record Spec(String name, int stageSteps, float[] lambdas, double tolerance, int batch, int seq, float lr,
                       int warmup, long seed, int valTokens) {
        public Spec {
            if (stageSteps < 1 || lambdas.length == 0 || batch < 1 || seq < 2 || warmup < 0 || valTokens < 2
                    || !(lr > 0) || !(tolerance >= 0)) {
                throw new IllegalArgumentException("bad ProSparse spec " + name);
            }
            lambdas = lambdas.clone();
        }

        /**
         * {@code bench --modes --quick}'s: 3 stages of 20 steps (λ 0.35, 1.75, 3.5, the demo's) of 8 × {@code seq}
         * tokens, 1% bits/byte tolerance, 4096 validation tokens.
         */
        public static Spec quick(String name, int seq) {
            return new Spec(name, 20, new float[]{0.35f, 1.75f, 3.5f}, 0.01, 8, seq, 1e-3f, 5, 1234, 4096);
        }

        /** The folder name of this spec on a dense model of content hash {@code base}. */
        public String folder(String base) {
            String key = name + "|" + base + "|" + stageSteps + "|" + Arrays.toString(lambdas) + "|" + tolerance + "|"
                    + batch + "|" + seq + "|" + lr + "|" + warmup + "|" + seed + "|" + valTokens;
            return name + "-" + hex(sha256(key.getBytes(StandardCharsets.UTF_8)), 4);
        }

        Trainer.Options trainerOptions() {
            return new Trainer.Options(batch, 1, seq, null, lr, warmup, Schedule.Kind.CONSTANT, 0f, 0.1f, 0.9f,
                    0.95f, 1f, seed, 0, 1, 0, 0f, false);
        }
    }

    /**
     * A cached model.
     *
     * @param dir     the Hugging Face folder
     * @param cached  true when it was found in the cache (no training this time)
     * @param summary the content of {@value #SUMMARY}: {@code name}, {@code base} (the dense folder and its hash),
     *                {@code spec}, {@code trainCorpus}, {@code validCorpus}, {@code steps}, {@code seconds},
     *                {@code activation}, {@code threshold}, {@code final} ({@code bitsPerByte}, {@code ce},
     *                {@code sparsity}, {@code validationTokens}), {@code denseBitsPerByte}, {@code method}
     */
    public record Entry(Path dir, boolean cached, Map<String, Object> summary) {
    }

    /** The content hash of a dense model folder: SHA-256 of its config.json and weights, 16 hex digits. */
    public static String contentHash(Path denseDir) {
        try (ModelFiles files = ModelFiles.open(denseDir)) {
            MessageDigest d = digest();
            d.update(Files.readAllBytes(denseDir.resolve(ModelFiles.CONFIG)));
            Path w = files.location().toAbsolutePath();
            Path st = Files.isDirectory(w) ? w.resolve(ModelFiles.SAFETENSORS) : w;
            try (InputStream in = Files.newInputStream(st)) {
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) {
                    d.update(buf, 0, n);
                }
            }
            return hex(d.digest(), 8);
        } catch (IOException e) {
            throw new SparsaException(denseDir + ": cannot read the model to hash it: " + e.getMessage(), e);
        }
    }

    /** The folder {@code spec} on {@code denseDir} is cached in, whether or not it exists yet. */
    public static Path location(Path cacheRoot, Path denseDir, Spec spec) {
        return cacheRoot.resolve("models").resolve(spec.folder(contentHash(denseDir)));
    }

    /**
     * The cached ProSparse model of {@code denseDir} under {@code spec}, training it first when it is not in the
     * cache.
     *
     * @param train    the training text (only read when training)
     * @param valid    the validation text of the threshold search (only read when training)
     * @param listener the trainer's events (progress)
     */
    public static Entry obtain(Path cacheRoot, Path denseDir, Spec spec, Supplier<Corpus> train,
                               Supplier<Corpus> valid, Parallel par, Trainer.Listener listener) {
        String base = contentHash(denseDir);
        Path dir = cacheRoot.resolve("models").resolve(spec.folder(base));
        return DenseLlamaCache.obtainFolder(dir, ProSparseCache::cached,
                tmp -> sparsify(tmp, denseDir, base, spec, train.get(), valid.get(), par, listener),
                s -> new Entry(dir, false, s));
    }

    /** The entry in {@code dir} when it is complete, else null. */
    static Entry cached(Path dir) {
        Path s = dir.resolve(SUMMARY);
        if (!Files.isRegularFile(s) || !Files.isRegularFile(dir.resolve(ModelFiles.CONFIG))
                || !Files.isRegularFile(dir.resolve(ModelFiles.SAFETENSORS))
                || !Files.isRegularFile(dir.resolve(ModelFiles.TOKENIZER))) {
            return null;
        }
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> m = DenseLlamaCache.JSON.readValue(s.toFile(), Map.class);
            return new Entry(dir, true, m);
        } catch (IOException e) {
            throw SparsaException.FormatException.of(s, "unreadable ProSparse summary: " + e.getMessage());
        }
    }

    private static Map<String, Object> sparsify(Path dir, Path denseDir, String base, Spec spec, Corpus train,
                                                Corpus valid, Parallel par, Trainer.Listener listener) {
        long t0 = System.nanoTime();
        Map<String, Object> s = new LinkedHashMap<>();
        try (ModelFiles files = ModelFiles.open(denseDir); Arena arena = Arena.ofShared()) {
            ModelConfig cfg = files.config();
            if (cfg.maxPositions() > 0 && spec.seq() > cfg.maxPositions()) {
                throw new SparsaException.UsageException(denseDir + ": ProSparse sequences of " + spec.seq()
                        + " tokens exceed the model's max positions " + cfg.maxPositions());
            }
            Path tokFile = files.tokenizerJson();
            if (tokFile == null) {
                throw new SparsaException.UsageException(denseDir + ": no tokenizer.json beside the model");
            }
            Tokenizer tok = TokenizerJson.load(tokFile);
            int eos = EosToken.resolve(null, cfg, false, tok, denseDir).id();
            EvalWindows val = EvalWindows.of(TokenStream.of(valid, tok, eos, spec.valTokens()), spec.seq());
            TokenStream ts = TokenStream.of(train, tok, eos);
            TrainData data = new TrainData(ts.name(), ts.ids(), spec.seq(), spec.seed());
            listener.say("ProSparse of " + denseDir.getFileName() + " on " + train.name() + ": "
                    + spec.lambdas().length + " stages of " + spec.stageSteps() + " steps");
            LlamaParams p = LlamaParams.copyOf(LlamaWeights.load(cfg, files.weights()), cfg, arena);
            ProSparse method = new ProSparse(spec.stageSteps(), spec.lambdas(), null, spec.tolerance());
            Trainer.Result r = new Trainer(p, method, spec.trainerOptions(), data, val, null, null, listener)
                    .run(par);
            List<Path> extra = new ArrayList<>(List.of(tokFile));
            Path tc = denseDir.resolve("tokenizer_config.json");
            if (Files.isRegularFile(tc)) {
                extra.add(tc);
            }
            HfExport.write(dir, p, r.config(), DType.F32, extra);
            EvalResult f = r.finalValidation();
            s.put("name", spec.name());
            s.put("base", Map.of("model", denseDir.getFileName().toString(), "hash", base));
            s.put("spec", specMap(spec));
            s.put("trainCorpus", train.name());
            s.put("validCorpus", valid.name());
            s.put("steps", r.steps());
            s.put("activation", r.config().hiddenAct());
            s.put("threshold", r.config().fatreluThreshold());
            s.put("final", Map.of("bitsPerByte", f.bitsPerByte(), "ce", f.ce(), "sparsity", f.sparsity(),
                    "validationTokens", f.tokens()));
            s.put("method", r.method());
            s.put("seconds", (System.nanoTime() - t0) / 1e9);
        }
        try {
            AtomicFile.write(dir.resolve(SUMMARY), DenseLlamaCache.JSON.writeValueAsBytes(s));
        } catch (IOException e) {
            throw new SparsaException(dir + ": cannot write " + SUMMARY + ": " + e.getMessage(), e);
        }
        return s;
    }

    private static Map<String, Object> specMap(Spec spec) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("stageSteps", spec.stageSteps());
        List<Double> l = new ArrayList<>();
        for (float x : spec.lambdas()) {
            l.add((double) x);
        }
        m.put("lambdas", l);
        m.put("tolerance", spec.tolerance());
        m.put("batch", spec.batch());
        m.put("seq", spec.seq());
        m.put("lr", spec.lr());
        m.put("warmup", spec.warmup());
        m.put("schedule", "constant");
        m.put("seed", spec.seed());
        m.put("valTokens", spec.valTokens());
        return m;
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] sha256(byte[] b) {
        return digest().digest(b);
    }

    private static String hex(byte[] h, int bytes) {
        return HexFormat.of().formatHex(h, 0, bytes);
    }
}
