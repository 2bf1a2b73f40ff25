package dev.sparsa.experiment;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalResult;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.io.AtomicFile;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.BpeTrainer;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;
import dev.sparsa.io.tokenizer.TrainedBpe;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.HfExport;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.Presets;
import dev.sparsa.train.Schedule;
import dev.sparsa.train.TrainData;
import dev.sparsa.train.Trainer;
import dev.sparsa.train.method.Dense;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Small dense Llamas that Sparsa pretrains itself (a byte-level BPE trained on the training text, then
 * {@link Trainer} with {@link Dense} from {@link LlamaParams#init}) and caches under {@code CACHE/models/NAME-HASH},
 * HASH naming every option of the {@link Spec}: a second call with the same spec loads the folder instead of
 * training. The folder is an ordinary Hugging Face model folder (F32 {@code model.safetensors}, {@code config.json},
 * {@code tokenizer.json}) plus {@code pretrain.json} (the spec, the training curve, the final validation); it is
 * built in a temporary folder beside it and renamed into place, so a killed run leaves no half-written model.
 */
public final class DenseLlamaCache {
    private DenseLlamaCache() {
    }

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The file beside the weights that says how they were trained. */
    public static final String SUMMARY = "pretrain.json";

    /**
     * How the model is pretrained: cosine schedule to {@code lr / 10} after {@code warmup} linear steps, AdamW
     * (β 0.9 / 0.95, weight decay 0.1), clipping at 1, initial weights N(0, 0.02²).
     *
     * @param name      folder name prefix and label (e.g. {@code micro-llama-brown})
     * @param config    the shape (a {@link Presets} config; BOS / EOS are set to the trained tokenizer's EOS)
     * @param steps     optimizer steps
     * @param batch     sequences per step
     * @param seq       tokens per sequence
     * @param valTokens validation tokens of the final evaluation (windows of {@code seq})
     */
    public record Spec(String name, ModelConfig config, int steps, int batch, int seq, float lr, int warmup, long seed,
                       int valTokens) {
        public Spec {
            if (steps < 1 || batch < 1 || seq < 2 || warmup < 0 || valTokens < 2 || !(lr > 0)) {
                throw new IllegalArgumentException("bad pretraining spec " + name);
            }
        }

        /**
         * The demo's and {@code experiment --quick}'s model: micro-llama (hidden 128, 2 layers, FFN 384, vocab 4096,
         * 1.4 M parameters) on Brown train, 800 steps of 16 × 128 tokens (1.6 M tokens, one epoch; about two
         * minutes on 2 cores).
         */
        public static Spec microLlamaBrown() {
            return new Spec("micro-llama-brown", Presets.microLlama(), 800, 16, 128, 4e-3f, 40, 1234, 16384);
        }

        /** The folder name: {@code name-} and 8 hex digits of a hash of every field. */
        public String folder() {
            String key = name + "|" + config + "|" + steps + "|" + batch + "|" + seq + "|" + lr + "|" + warmup + "|"
                    + seed + "|" + valTokens;
            try {
                byte[] h = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
                return name + "-" + HexFormat.of().formatHex(h, 0, 4);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        Trainer.Options trainerOptions() {
            return new Trainer.Options(batch, 1, seq, steps, lr, warmup, Schedule.Kind.COSINE, lr / 10, 0.1f, 0.9f,
                    0.95f, 1f, seed, 0, 1, 0, 0f, false);
        }
    }

    /**
     * A cached model.
     *
     * @param dir     the Hugging Face folder
     * @param cached  true when it was found in the cache (no training this time)
     * @param summary the content of {@value #SUMMARY}: {@code spec}, {@code parameters}, {@code trainCorpus},
     *                {@code trainTokens}, {@code tokensSeen}, {@code seconds}, {@code curve} ({@code step[]},
     *                {@code ce[]}), {@code final} ({@code bitsPerByte}, {@code ce}, {@code validationTokens})
     */
    public record Entry(Path dir, boolean cached, Map<String, Object> summary) {
    }

    /** The folder a spec is cached in, whether or not it exists yet. */
    public static Path location(Path cacheRoot, Spec spec) {
        return cacheRoot.resolve("models").resolve(spec.folder());
    }

    /** Whether {@link #obtain} would find {@code spec}'s model in the cache (and not train). */
    public static boolean isCached(Path cacheRoot, Spec spec) {
        return cached(location(cacheRoot, spec)) != null;
    }

    /**
     * The cached model of {@code spec}, pretraining it first when it is not in the cache.
     *
     * @param train    the training text (only read when training)
     * @param valid    the validation text of the final evaluation (only read when training)
     * @param listener the trainer's events (progress)
     */
    public static Entry obtain(Path cacheRoot, Spec spec, Supplier<Corpus> train, Supplier<Corpus> valid, Parallel par,
                               Trainer.Listener listener) {
        Path dir = location(cacheRoot, spec);
        return obtainFolder(dir, DenseLlamaCache::cached,
                tmp -> pretrain(tmp, spec, train.get(), valid.get(), par, listener), s -> new Entry(dir, false, s));
    }

    /**
     * The complete cached folder {@code dir} ({@code cached} reads it, null when absent or incomplete), else built:
     * {@code build} writes it into a temporary folder beside {@code dir} and returns its summary, which is renamed
     * into place atomically; when another process finished the same folder first, its entry is returned. A killed
     * build leaves no half-written folder.
     */
    static <E> E obtainFolder(Path dir, Function<Path, E> cached, Function<Path, Map<String, Object>> build,
                              Function<Map<String, Object>, E> fresh) {
        E hit = cached.apply(dir);
        if (hit != null) {
            return hit;
        }
        Path tmp;
        try {
            Files.createDirectories(dir.getParent());
            tmp = Files.createTempDirectory(dir.getParent(), "." + dir.getFileName() + ".");
        } catch (IOException e) {
            throw new SparsaException(dir.getParent() + ": cannot create the model cache: " + e.getMessage(), e);
        }
        try {
            Map<String, Object> summary = build.apply(tmp);
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
                E other = cached.apply(dir);                 // another process finished the same spec first
                if (other == null) {
                    throw new SparsaException(dir + ": exists but is not a complete cached model; delete it", e);
                }
                return other;
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, dir);
            }
            return fresh.apply(summary);
        } catch (IOException e) {
            throw new SparsaException(dir + ": cannot write the cached model: " + e.getMessage(), e);
        } finally {
            deleteTree(tmp);
        }
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
            Map<String, Object> m = JSON.readValue(s.toFile(), Map.class);
            return new Entry(dir, true, m);
        } catch (IOException e) {
            throw SparsaException.FormatException.of(s, "unreadable pretraining summary: " + e.getMessage());
        }
    }

    private static Map<String, Object> pretrain(Path dir, Spec spec, Corpus train, Corpus valid, Parallel par,
                                                Trainer.Listener listener) {
        long t0 = System.nanoTime();
        listener.say("training a " + spec.config().vocabSize() + "-token byte-level BPE on " + train.name());
        TrainedBpe bpe = BpeTrainer.train(train.lines(), BpeTrainer.Options.of(spec.config().vocabSize()),
                BpeTrainer.Listener.NONE);
        Path tokFile = dir.resolve(ModelFiles.TOKENIZER);
        bpe.write(tokFile);
        Tokenizer tok = TokenizerJson.load(tokFile);
        int eos = bpe.eosId();
        ModelConfig cfg = spec.config().withSpecialTokens(eos, eos);
        TokenStream ts = TokenStream.of(train, tok, eos);
        TrainData data = new TrainData(ts.name(), ts.ids(), spec.seq(), spec.seed());
        EvalWindows val = EvalWindows.of(TokenStream.of(valid, tok, eos, spec.valTokens()), spec.seq());
        Map<String, Object> s = new LinkedHashMap<>();
        try (Arena arena = Arena.ofShared()) {            // the trainer's worker threads read the weights
            LlamaParams p = LlamaParams.init(cfg, 0.02, spec.seed(), arena);
            Trainer.Result r = new Trainer(p, new Dense(), spec.trainerOptions(), data, val, null, null, listener)
                    .run(par);
            HfExport.write(dir, p, r.config(), DType.F32, List.of());      // the tokenizer files are there already
            EvalResult f = r.finalValidation();
            s.put("name", spec.name());
            s.put("spec", specMap(spec));
            s.put("parameters", p.count());
            s.put("trainCorpus", train.name());
            s.put("trainTokens", ts.size());
            s.put("tokensSeen", (long) r.steps() * spec.batch() * spec.seq());
            s.put("validCorpus", valid.name());
            s.put("final", Map.of("bitsPerByte", f.bitsPerByte(), "ce", f.ce(), "validationTokens", f.tokens()));
            s.put("seconds", (System.nanoTime() - t0) / 1e9);
            List<Integer> steps = new ArrayList<>();
            List<Double> ce = new ArrayList<>();
            for (Trainer.StepLog l : r.log()) {
                steps.add(l.step());
                ce.add(l.ce());
            }
            s.put("curve", Map.of("step", steps, "ce", ce));
        }
        try {
            AtomicFile.write(dir.resolve(SUMMARY), JSON.writeValueAsBytes(s));
        } catch (IOException e) {
            throw new SparsaException(dir + ": cannot write " + SUMMARY + ": " + e.getMessage(), e);
        }
        return s;
    }

    private static Map<String, Object> specMap(Spec spec) {
        Map<String, Object> m = new LinkedHashMap<>();
        ModelConfig c = spec.config();
        m.put("hiddenSize", c.hiddenSize());
        m.put("intermediateSize", c.intermediateSize());
        m.put("numLayers", c.numLayers());
        m.put("numHeads", c.numHeads());
        m.put("numKvHeads", c.numKvHeads());
        m.put("vocabSize", c.vocabSize());
        m.put("activation", c.hiddenAct());
        m.put("steps", spec.steps());
        m.put("batch", spec.batch());
        m.put("seq", spec.seq());
        m.put("lr", spec.lr());
        m.put("warmup", spec.warmup());
        m.put("schedule", "cosine to lr/10");
        m.put("seed", spec.seed());
        return m;
    }

    static void deleteTree(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        } catch (IOException ignored) {
            // a leftover temporary folder (hidden, beside the cache entry) does no harm
        }
    }
}
