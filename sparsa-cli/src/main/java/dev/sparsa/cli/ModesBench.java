package dev.sparsa.cli;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.sparsa.SparsaException;
import dev.sparsa.calibrate.Calibrator;
import dev.sparsa.eval.EosToken;
import dev.sparsa.eval.EvalResult;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.Evaluator;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.infer.PredictorFfn;
import dev.sparsa.infer.SparseStats;
import dev.sparsa.infer.mode.Calibration;
import dev.sparsa.infer.mode.CalibrationFile;
import dev.sparsa.infer.mode.ModelShape;
import dev.sparsa.infer.mode.SparseMode;
import dev.sparsa.infer.mode.SparseModels;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.Activation;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.llama.KvCache;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.perf.Bench;
import dev.sparsa.perf.BenchPrompt;
import dev.sparsa.perf.BenchRow;
import dev.sparsa.perf.DecodeBytes;
import dev.sparsa.perf.ModesResults;
import dev.sparsa.perf.ModesResults.Row;
import dev.sparsa.perf.Stats;
import dev.sparsa.infer.Sampler;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * {@code sparsa bench --modes} and {@code bench-e2e --modes}: dense and every sparse mode side by side in one process
 * (docs/sparse-modes.md, "Benchmarking the modes"). Each mode gets a <b>speed</b> row on the speed model (prefill and
 * decode tok/s as {@link Bench#time}, speedup vs the dense row, measured sparsity = share of FFN neurons with
 * h_i = 0 over the decoded tokens, ideal speedup = dense bytes / the mode's bytes per decoded token, fraction of the
 * ideal = measured decode speedup / ideal) and a <b>quality</b> row on a trained model (bits/byte by the eval
 * protocol on the quality text with the same mode, Δ vs dense on the same model, and greedy agreement with dense:
 * the share of positions of dense's greedy continuations of a few prompts where the mode's argmax is dense's token,
 * teacher-forced on dense's tokens). Modes are driven through {@link SparseModels}, so every mode of
 * {@link SparseMode} appears here without code of its own. A mode whose calibration file is missing is calibrated
 * in-process with {@code sparsa calibrate}'s defaults and the file written beside the model (said on stderr and in
 * the row's note), so the next run reuses it.
 */
public final class ModesBench {
    /** The {@code schema} of the JSON ({@code sparsa report} re-renders it). */
    public static final String SCHEMA = ModesResults.SCHEMA;

    private ModesBench() {
    }

    /**
     * What to run.
     *
     * @param modes           the modes, dense first (added when missing)
     * @param qualityModels   trained models for the quality rows (empty: the speed model itself); each mode uses the
     *                        first one it suits ({@link #qualityModelFor})
     * @param qualityText     eval text (null: brown-valid)
     * @param qualityTokens   first N tokens of the eval stream
     * @param ctx             eval window (null: 256 or the model's max positions)
     * @param calibrateText   in-process calibration text (null: brown-train)
     * @param calibrateTokens in-process calibration tokens
     * @param prompts         greedy-agreement prompts
     * @param agreementTokens tokens dense generates from each prompt
     */
    public record Settings(List<SparseMode> modes, int promptTokens, int decodeTokens, int warmup, int reps,
                           List<Path> qualityModels, Path qualityText, long qualityTokens, Integer ctx,
                           Path calibrateText, long calibrateTokens, int prompts, int agreementTokens) {
        public Settings {
            modes = List.copyOf(modes);
            qualityModels = List.copyOf(qualityModels);
        }
    }

    /**
     * Parses {@code --modes}: names through {@link SparseMode#of} (a usage error naming {@code --modes} for an unknown
     * one), duplicates refused, dense put first when missing (every speedup and Δ is against it).
     */
    public static List<SparseMode> parseModes(List<String> names) {
        LinkedHashSet<SparseMode> set = new LinkedHashSet<>();
        set.add(SparseMode.DENSE);
        List<SparseMode> given = new ArrayList<>();
        for (String n : names) {
            String s = n.strip();
            SparseMode m;
            try {
                m = SparseMode.of(s);
            } catch (SparsaException.UsageException e) {
                throw new SparsaException.UsageException("--modes: unknown mode '" + s + "'; modes: "
                        + String.join(", ", SparseMode.NAMES));
            }
            if (given.contains(m)) {
                throw new SparsaException.UsageException("--modes: " + s + " is given twice");
            }
            given.add(m);
        }
        if (given.isEmpty()) {
            throw new SparsaException.UsageException("--modes: give at least one mode");
        }
        set.addAll(given);
        return List.copyOf(set);
    }

    /**
     * The quality model of {@code mode} among {@code candidates} (their configs): a ReLU-family model for the modes
     * that skip exact zeros or learn them (exact, predicted), a SiLU/GELU one for the training-free thresholds (cats,
     * teal, topk, and any other mode) when there is one, else the first the mode can run on; -1 when none.
     */
    static int qualityModelFor(SparseMode mode, List<ModelConfig> candidates) {
        boolean wantRelu = mode == SparseMode.EXACT || mode == SparseMode.PREDICTED;
        int fallback = -1;
        for (int i = 0; i < candidates.size(); i++) {
            ModelConfig c = candidates.get(i);
            try {
                SparseModels.checkCompatible(mode, c);
            } catch (SparsaException e) {
                continue;
            }
            if (mode == SparseMode.DENSE || relu(c) == wantRelu) {
                return i;
            }
            if (fallback < 0) {
                fallback = i;
            }
        }
        return fallback;
    }

    static boolean relu(ModelConfig c) {
        return Activation.of(c.hiddenAct(), c.fatreluThreshold()).zeroBelow();
    }

    /**
     * Checks every mode against the speed model and finds a quality model for each, before anything is timed: a mode
     * the speed model cannot run is the one-line error of {@link SparseModels#checkCompatible}; a mode no quality
     * model can run names the mode and the models.
     */
    public static int[] check(Path speedModel, Settings s) {
        ModelConfig speed;
        try (ModelFiles f = ModelFiles.open(speedModel, true)) {
            speed = f.config();
        }
        for (SparseMode m : s.modes()) {
            SparseModels.checkCompatible(m, speed);
        }
        List<Path> q = s.qualityModels().isEmpty() ? List.of(speedModel) : s.qualityModels();
        List<ModelConfig> cfgs = new ArrayList<>();
        for (Path p : q) {
            try (ModelFiles f = ModelFiles.open(p, true)) {
                cfgs.add(f.config());
            }
        }
        int[] pick = new int[s.modes().size()];
        for (int i = 0; i < pick.length; i++) {
            pick[i] = qualityModelFor(s.modes().get(i), cfgs);
            if (pick[i] < 0) {
                throw new SparsaException.UsageException("--quality-model: no model for --modes " + s.modes().get(i)
                        .key() + " among " + q + " (exact needs a ReLU-family model)");
            }
        }
        return pick;
    }

    /** Runs the benchmark of {@code speedModel} (see the class comment); progress lines go to {@code log}. */
    public static ModesResults run(Path speedModel, Settings s, Parallel par, Double bandwidth, Consumer<String> log) {
        int[] pick = check(speedModel, s);
        List<Path> qModels = s.qualityModels().isEmpty() ? List.of(speedModel) : s.qualityModels();
        List<Row> speedRows = speed(speedModel, s, par, log);
        Corpus qCorpus = s.qualityText() != null ? Corpus.ofTextFile(s.qualityText()) : ProfileCommand.brown(
                "brown-valid");
        Map<Integer, Quality> dense = new HashMap<>();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < s.modes().size(); i++) {
            SparseMode m = s.modes().get(i);
            Path qp = qModels.get(pick[i]);
            Quality base = dense.computeIfAbsent(pick[i], k -> quality(qp, SparseMode.DENSE, null, qCorpus, s, par,
                    log));
            Quality q = m == SparseMode.DENSE ? base : quality(qp, m, base, qCorpus, s, par, log);
            Row sp = speedRows.get(i);
            List<String> notes = new ArrayList<>(sp.notes());
            notes.addAll(q.notes);
            rows.add(new Row(m.key(), sp.speedModel(), sp.dtype(), sp.prefill(), sp.decode(), sp.prefillSpeedup(),
                    sp.decodeSpeedup(), sp.sparsity(), sp.bytesPerToken(), sp.idealSpeedup(), sp.fractionOfIdeal(),
                    sp.recall(), sp.speedActivations(), Bench.modelName(qp), q.result.bitsPerByte(),
                    base.result.bitsPerByte(), m == SparseMode.DENSE ? null
                    : q.result.bitsPerByte() / base.result.bitsPerByte() - 1, q.sparsity, q.agreement,
                    q.agreementTokens, q.recall, List.copyOf(notes)));
        }
        return new ModesResults(SCHEMA, java.time.Instant.now().toString(), par.threads(), bandwidth,
                Bench.modelName(speedModel), s.promptTokens(), s.decodeTokens(), s.reps(), qCorpus.name(),
                s.qualityTokens(), rows, null);
    }

    // ------------------------------------------------------------------ speed

    private static List<Row> speed(Path model, Settings s, Parallel par, Consumer<String> log) {
        List<Row> rows = new ArrayList<>();
        try (ModelFiles files = ModelFiles.open(model)) {
            ModelConfig cfg = files.config();
            int[] ids = BenchPrompt.ids(files, BenchCommand.tokenizer(files), s.promptTokens(), 7);
            int context = ids.length + s.decodeTokens() / 2;
            double denseBytes = DecodeBytes.dense(files, context);
            String dtype = files.weights().tensor("model.layers.0.mlp.gate_proj.weight").dtype().name();
            String activations = synthetic(files) ? "random weights (sparsa synth): for predicted, a predictor of "
                    + "random activations" : "trained weights";
            Stats dPre = null;
            Stats dDec = null;
            for (SparseMode m : s.modes()) {
                List<String> notes = new ArrayList<>();
                ensureCalibration(files, m, s, par, log, notes);
                long l0 = System.nanoTime();
                LlamaModel timed = SparseModels.load(files, m, null, null).model();
                log.accept(String.format(Locale.ROOT, "%s --sparse %s: loaded in %.1f s", Bench.modelName(model),
                        m.key(), (System.nanoTime() - l0) / 1e9));
                Bench.Timings t = Bench.time(timed, ids, s.decodeTokens(), s.warmup(), s.reps(), par, log);
                timed = null;                                   // its copies (bundles) may go before the next load
                SparseStats decodeStats = new SparseStats(cfg.numLayers());   // what the decoded tokens alone skip
                LlamaModel measured = SparseModels.load(files, m, null, decodeStats).model();
                SkipTap tap = SkipTap.record(measured, ids, s.decodeTokens(), par);
                double bytes = bytesPerToken(files, measured, m, tap, decodeStats, context);
                if (m == SparseMode.DENSE) {
                    dPre = t.prefill();
                    dDec = t.decode();
                    bytes = denseBytes;
                }
                Double recall = decodeStats.hasPredictor() ? decodeStats.recall(-1) : null;
                if (m == SparseMode.PREDICTED && synthetic(files)) {
                    notes.add("predictor speed on random weights: its active sets have no trained structure");
                }
                double ideal = denseBytes / bytes;
                double speedup = t.decode().median() / dDec.median();
                rows.add(new Row(m.key(), Bench.modelName(model), dtype, t.prefill(), t.decode(),
                        t.prefill().median() / dPre.median(), speedup, tap.skipped(), bytes, ideal,
                        m == SparseMode.DENSE ? null : speedup / ideal, recall, activations, null, null, null, null,
                        null, null, null, null, List.copyOf(notes)));
            }
        }
        return rows;
    }

    /** Whether {@code files} were written by {@code sparsa synth} (its config's marker or its directory name). */
    static boolean synthetic(ModelFiles files) {
        Path p = files.location().toAbsolutePath().normalize();
        for (Path q = p; q != null; q = q.getParent()) {
            if (q.getFileName() != null && q.getFileName().toString().equals("synth")) {
                return true;
            }
        }
        Path dir = Files.isDirectory(p) ? p : p.getParent();
        return dir != null && Files.isRegularFile(dir.resolve("synth.json"));
    }

    /**
     * Bytes a decoded token reads in {@code mode}: the dense bytes minus what the mode's kernels skip, from what the
     * same decode measured — gate-driven modes (exact, cats, topk) read the whole gate and the up row and down
     * column of each kept neuron; a predictor its own weights, the gate rows of its candidates and the kept
     * neurons' up rows and down columns; TEAL each projection's weight columns of the non-zero inputs.
     */
    static double bytesPerToken(ModelFiles files, LlamaModel m, SparseMode mode, SkipTap tap, SparseStats stats,
                                int context) {
        double bytes = DecodeBytes.dense(files, context);
        if (mode == SparseMode.DENSE) {
            return bytes;
        }
        ModelConfig cfg = files.config();
        for (int l = 0; l < m.numLayers(); l++) {
            FfnKernel k = m.ffn(l);
            double gate = k.weights().gate().data().byteSize();
            double up = k.weights().up().data().byteSize();
            double down = k.weights().down().data().byteSize();
            int f = cfg.intermediateSize();
            double kept = tap.meanKept(l);
            if (stats.hasInputs()) {                            // TEAL: Σ_p (1 − s_p)·|W_p|
                String pre = "model.layers." + l + ".";
                String[] names = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"};
                SparseStats.Site[] sites = SparseStats.Site.values();
                for (int i = 0; i < names.length; i++) {
                    double s = stats.inputSparsity(l, sites[i]);
                    if (!Double.isNaN(s)) {
                        bytes -= s * tensorBytes(files, pre + names[i] + ".weight");
                    }
                }
            } else if (k instanceof PredictorFfn p) {           // P + |C|·gate row + |I|·(up row + down column)
                double cand = stats.hasPredictor() ? stats.candidateShare(l) : 1;
                bytes -= gate + up + down;
                bytes += p.predictorBytes() + cand * gate + kept * (up + down) / f;
            } else if (mode != SparseMode.DENSE) {              // gate + |I|·(up row + down column)
                bytes -= up + down;
                bytes += kept * (up + down) / f;
            }
        }
        return bytes;
    }

    private static double tensorBytes(ModelFiles files, String name) {
        for (ModelFiles.TensorMeta t : files.describeAll()) {
            if (t.name().equals(name)) {
                return t.bytes();
            }
        }
        return 0;
    }

    /**
     * Calibrates {@code mode} in-process when its file is missing beside the model ({@code sparsa calibrate}'s
     * defaults: target 0.5, a predictor of a ReLU-family model on its exact zeros at recall 0.99) and writes the file
     * where {@code --sparse} finds it. A file that exists is read and validated by {@link SparseModels#load} (a stale
     * or foreign one is its one-line error).
     */
    static void ensureCalibration(ModelFiles files, SparseMode mode, Settings s, Parallel par, Consumer<String> log,
                                  List<String> notes) {
        if (!mode.calibrated()) {
            return;
        }
        Path dest = CalibrationFile.defaultPath(files.location(), mode);
        if (Files.isRegularFile(dest)) {
            notes.add(files.location().getFileName() + ": calibration " + dest.getFileName());
            return;
        }
        ModelConfig cfg = files.config();
        double target = mode == SparseMode.PREDICTED && relu(cfg) ? Double.NaN : 0.5;
        Tokenizer tok = GenerateCommand.findTokenizer(files, null);
        if (tok == null) {
            throw new SparsaException.UsageException(files.location() + ": no tokenizer.json to calibrate --modes "
                    + mode.key() + " on; run sparsa calibrate --model " + files.location() + " --method "
                    + mode.method());
        }
        EosToken eos = EosToken.resolve(null, cfg, files.format().equals("gguf"), tok, files.location());
        Corpus c = s.calibrateText() != null ? Corpus.ofTextFile(s.calibrateText()) : ProfileCommand.brown(
                "brown-train");
        EvalWindows w = EvalWindows.of(TokenStream.of(c, tok, eos.id(), s.calibrateTokens()), window(cfg, s.ctx()));
        String line = String.format(Locale.ROOT, "%s: no %s; calibrated %s in-process with sparsa calibrate's "
                        + "defaults (%s, %d tokens of %s), written there", files.location().getFileName(),
                dest.getFileName(), mode.key(), Double.isNaN(target) ? "exact-zero labels, recall 0.99"
                        : "target 0.5", w.stream().size(), c.name());
        log.accept("sparsa: " + line);
        Calibration cal = new Calibrator(LlamaWeights.load(cfg, files.weights()), par, log)
                .run(w, c.name(), ModelShape.of(cfg, files.weights()), Calibrator.Options.defaults(mode, target));
        CalibrationFile.write(dest, cal);
        notes.add(line);
    }

    static int window(ModelConfig cfg, Integer ctx) {
        int maxPos = cfg.maxPositions();
        int wl = ctx != null ? ctx : maxPos > 0 && maxPos < EvalCommand.DEFAULT_CTX ? maxPos : EvalCommand.DEFAULT_CTX;
        if (maxPos > 0 && wl > maxPos) {
            throw new SparsaException.UsageException("--ctx " + wl + " exceeds the model's max positions (" + maxPos
                    + ")");
        }
        return wl;
    }

    // ---------------------------------------------------------------- quality

    private record Quality(EvalResult result, Double sparsity, Double agreement, Integer agreementTokens,
                           Double recall, int[][] greedy, List<String> notes) {
    }

    /** Bits/byte of {@code model} in {@code mode} on the quality text and, given dense's, the greedy agreement. */
    private static Quality quality(Path model, SparseMode mode, Quality dense, Corpus corpus, Settings s, Parallel par,
                                   Consumer<String> log) {
        try (ModelFiles files = ModelFiles.open(model)) {
            ModelConfig cfg = files.config();
            List<String> notes = new ArrayList<>();
            ensureCalibration(files, mode, s, par, log, notes);
            Tokenizer tok = GenerateCommand.findTokenizer(files, null);
            if (tok == null) {
                throw new SparsaException.UsageException(model + ": no tokenizer.json for the quality rows");
            }
            EosToken eos = EosToken.resolve(null, cfg, files.format().equals("gguf"), tok, model);
            TokenStream stream = TokenStream.of(corpus, tok, eos.id(), s.qualityTokens());
            int window = window(cfg, s.ctx());
            SparseStats stats = new SparseStats(cfg.numLayers());
            LlamaModel m = SparseModels.load(files, mode, null, stats).model();
            long t0 = System.nanoTime();
            EvalResult r = new Evaluator(m, par).evaluate(EvalWindows.of(stream, window));
            int[][] prompts = prompts(stream, s.prompts(), Math.max(1, Math.min(16, window - s.agreementTokens())));
            int n = Math.min(s.agreementTokens(), window - prompts[0].length);
            if (n < 1) {
                throw new SparsaException.UsageException("--agreement-tokens: no room after a prompt in a window of "
                        + window);
            }
            int[][] greedy = new int[prompts.length][];
            int agree = 0;
            int total = 0;
            for (int p = 0; p < prompts.length; p++) {
                if (dense == null) {
                    greedy[p] = greedy(m, prompts[p], n, par);
                } else {
                    agree += agreement(m, prompts[p], dense.greedy[p], par);
                    total += dense.greedy[p].length;
                }
            }
            log.accept(String.format(Locale.ROOT, "%s --sparse %s: bits/byte %.4f over %d tokens%s (%.1f s)",
                    Bench.modelName(model), mode.key(), r.bitsPerByte(), r.tokens(), dense == null ? ""
                            : String.format(Locale.ROOT, ", greedy agreement %.4f", (double) agree / total),
                    (System.nanoTime() - t0) / 1e9));
            double sparsity = mode == SparseMode.DENSE ? r.sparsity() : stats.hasInputs()
                    ? Calibrator.tealSparsity(stats, cfg) : r.skipped();
            return new Quality(r, sparsity, dense == null ? null : (double) agree / total,
                    dense == null ? prompts.length * n : total, stats.hasPredictor() ? stats.recall(-1) : null,
                    greedy, notes);
        }
    }

    /** {@code count} prompts of {@code len} tokens at evenly spaced starts of the stream. */
    static int[][] prompts(TokenStream stream, int count, int len) {
        int room = Math.max(1, stream.size() - len);
        int[][] p = new int[count][];
        for (int i = 0; i < count; i++) {
            int from = (int) ((long) room * i / count);
            p[i] = new int[Math.min(len, stream.size() - from)];
            stream.copyIds(from, p[i].length, p[i]);
        }
        return p;
    }

    /** Dense's greedy continuation: {@code n} argmax tokens after {@code prompt}. */
    static int[] greedy(LlamaModel m, int[] prompt, int n, Parallel par) {
        KvCache cache = m.newCache(prompt.length + n);
        int[] out = new int[n];
        out[0] = Sampler.argmax(m.forward(cache, prompt, false, ActivationTap.NONE, par));
        for (int i = 1; i < n; i++) {
            out[i] = Sampler.argmax(m.decode(cache, out[i - 1], ActivationTap.NONE, par));
        }
        return out;
    }

    /** How many of dense's tokens {@code ref} the mode's argmax predicts, fed dense's tokens (teacher-forced). */
    static int agreement(LlamaModel m, int[] prompt, int[] ref, Parallel par) {
        KvCache cache = m.newCache(prompt.length + ref.length);
        int hits = 0;
        int next = Sampler.argmax(m.forward(cache, prompt, false, ActivationTap.NONE, par));
        for (int i = 0; i < ref.length; i++) {
            hits += next == ref[i] ? 1 : 0;
            if (i + 1 < ref.length) {
                next = Sampler.argmax(m.decode(cache, ref[i], ActivationTap.NONE, par));
            }
        }
        return hits;
    }

    /** Share of FFN neurons with h_i = 0 (the down column the kernel does not read) over decoded tokens. */
    static final class SkipTap implements ActivationTap {
        private final long[] kept;
        private final long[] tokens;
        private final int f;

        SkipTap(int layers, int f) {
            kept = new long[layers];
            tokens = new long[layers];
            this.f = f;
        }

        static SkipTap record(LlamaModel model, int[] prompt, int decode, Parallel par) {
            SkipTap tap = new SkipTap(model.numLayers(), model.config().intermediateSize());
            KvCache cache = model.newCache(prompt.length + decode);
            int next = Sampler.argmax(model.forward(cache, prompt, false, ActivationTap.NONE, par));
            for (int i = 1; i < decode; i++) {
                next = Sampler.argmax(model.decode(cache, next, tap, par));
            }
            return tap;
        }

        @Override
        public void onFfn(int layer, int position, float[] x, int xOff, float[] gate, float[] act, float[] h,
                          int off) {
            long n = 0;
            for (int i = off; i < off + f; i++) {
                if (h[i] != 0f) {
                    n++;
                }
            }
            kept[layer] += n;
            tokens[layer]++;
        }

        /** Mean kept neurons per decoded token in layer ℓ. */
        double meanKept(int layer) {
            return tokens[layer] == 0 ? f : (double) kept[layer] / tokens[layer];
        }

        /** Mean share of skipped neurons over the layers. */
        double skipped() {
            double s = 0;
            for (int l = 0; l < kept.length; l++) {
                s += 1 - meanKept(l) / f;
            }
            return s / kept.length;
        }
    }

    // ------------------------------------------------------------------ table

    /** The Markdown table of {@code r} (and its reference row). */
    public static String table(ModesResults r) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Speed on %s (%d prompt + %d decoded tokens, %d threads, median of %d); "
                        + "quality on %s (first %d tokens, eval protocol) and greedy agreement with dense.%n%n",
                r.speedModel(), r.promptTokens(), r.decodeTokens(), r.threads(), r.reps(), r.qualityCorpus(),
                r.qualityTokens()));
        sb.append("| mode | prefill tok/s | decode tok/s | prefill vs dense | decode vs dense | sparsity | ideal "
                + "(bytes) | of ideal | quality model | bits/byte | Δ vs dense | greedy agreement |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Row x : r.rows()) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n",
                    x.mode(), stats(x.prefill()), stats(x.decode()), times(x.prefillSpeedup()),
                    times(x.decodeSpeedup()), pct(x.sparsity()), times(x.idealSpeedup()), pct(x.fractionOfIdeal()),
                    x.qualityModel(), num(x.bitsPerByte()), x.bitsPerByteDelta() == null ? "—"
                            : String.format(Locale.ROOT, "%+.2f%%", 100 * x.bitsPerByteDelta()),
                    x.agreement() == null ? "—" : String.format(Locale.ROOT, "%.3f (%d tok)", x.agreement(),
                            x.agreementTokens())));
        }
        if (r.reference() != null) {
            BenchRow ref = r.reference();
            Row dense = r.rows().getFirst();
            sb.append(String.format(Locale.ROOT, "%nReference: %s %s %s dense: prefill %s, decode %s tok/s%s%n",
                    ref.engine(), ref.model(), ref.dtype(), stats(ref.prefill()), stats(ref.decode()),
                    ref.decode() == null ? " (" + ref.note() + ")" : String.format(Locale.ROOT,
                            "; Sparsa dense decode %.2fx of it", dense.decode().median() / ref.decode().median())));
        }
        sb.append(String.format(Locale.ROOT, "%nSpeed rows: %s.%n", r.rows().getFirst().speedActivations()));
        for (Row x : r.rows()) {
            for (String n : x.notes()) {
                sb.append("- ").append(x.mode()).append(": ").append(n).append('\n');
            }
        }
        return sb.toString();
    }

    static String stats(Stats s) {
        return s == null ? "—" : String.format(Locale.ROOT, "%.1f [%.1f–%.1f]", s.median(), s.min(), s.max());
    }

    static String times(Double v) {
        return v == null ? "—" : String.format(Locale.ROOT, "%.2fx", v);
    }

    static String pct(Double v) {
        return v == null || v.isNaN() ? "—" : String.format(Locale.ROOT, "%.1f%%", 100 * v);
    }

    static String num(Double v) {
        return v == null ? "—" : String.format(Locale.ROOT, "%.4f", v);
    }
}
