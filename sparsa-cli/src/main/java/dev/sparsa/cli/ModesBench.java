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
import dev.sparsa.infer.LteFfn;
import dev.sparsa.infer.Predictor;
import dev.sparsa.infer.PredictorFfn;
import dev.sparsa.tensor.DType;
import dev.sparsa.infer.ReplayFfn;
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
import dev.sparsa.model.LteRouters;
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
import java.util.Arrays;
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
 * {@link SparseMode} appears here without code of its own. On {@code sparsa synth} weights the predicted speed row
 * replays the recorded reads of a quality model of the speed model's family ({@link Replay}, {@link ReplayFfn}) instead of a predictor of
 * random activations; on a speed model without LTE routers the lte row replays the expert selection of the first
 * quality model that has them ({@link LteReplay}, {@link LteFfn#replay}), and its quality comes from that model. A mode whose calibration file is missing is calibrated
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
     * @param calibrationAsked whether --calibrate-tokens or --calibrate-text was given: then a calibration file made
     *                        on other tokens is not used (the mode is calibrated in-process on the tokens asked, kept
     *                        in memory, the file left as it is); else an existing file is used as it is
     * @param prompts         greedy-agreement prompts
     * @param agreementTokens tokens dense generates from each prompt
     * @param replaySpread    where the predicted replay puts the neurons that stand for one trained neuron
     */
    public record Settings(List<SparseMode> modes, int promptTokens, int decodeTokens, int warmup, int reps,
                           List<Path> qualityModels, Path qualityText, long qualityTokens, Integer ctx,
                           Path calibrateText, long calibrateTokens, boolean calibrationAsked, int prompts,
                           int agreementTokens, ReplayFfn.Spread replaySpread) {
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
        return qualityModelFor(mode, candidates, mode == SparseMode.EXACT || mode == SparseMode.PREDICTED);
    }

    /** As {@link #qualityModelFor(SparseMode, List)}, preferring the family {@code wantRelu}. */
    static int qualityModelFor(SparseMode mode, List<ModelConfig> candidates, boolean wantRelu) {
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

    /** The first of {@code models} (configs {@code cfgs}) with LTE routers in its folder; -1 when none. */
    static int lteModel(List<Path> models, List<ModelConfig> cfgs) {
        for (int i = 0; i < models.size(); i++) {
            try {
                SparseModels.checkCompatible(SparseMode.LTE, cfgs.get(i));
            } catch (SparsaException e) {
                continue;
            }
            if (LteRouters.present(folder(models.get(i)))) {
                return i;
            }
        }
        return -1;
    }

    /** The folder of a model (a folder, or a file in it). */
    static Path folder(Path model) {
        Path m = model.toAbsolutePath().normalize();
        return Files.isDirectory(m) ? m : m.getParent();
    }

    static boolean relu(ModelConfig c) {
        return Activation.of(c.hiddenAct(), c.fatreluThreshold()).zeroBelow();
    }

    /** Which speed and quality model each mode runs on: indices into the lists. */
    record Plan(int[] speed, int[] quality) {
    }

    private static List<ModelConfig> configs(List<Path> models) {
        List<ModelConfig> cfgs = new ArrayList<>();
        for (Path p : models) {
            try (ModelFiles f = ModelFiles.open(p, true)) {
                cfgs.add(f.config());
            }
        }
        return cfgs;
    }

    /**
     * Checks every mode against the speed models and finds a speed and a quality model for each, before anything
     * is timed (the same rule picks both, {@link #qualityModelFor}): a mode no speed model can run is the one-line
     * error of {@link SparseModels#checkCompatible} for the first; a mode no quality model can run names the mode
     * and the models.
     */
    public static Plan check(List<Path> speedModels, Settings s) {
        List<ModelConfig> speed = configs(speedModels);
        List<Path> q = s.qualityModels().isEmpty() ? speedModels : s.qualityModels();
        List<ModelConfig> cfgs = s.qualityModels().isEmpty() ? speed : configs(q);
        int[] sp = new int[s.modes().size()];
        int[] qp = new int[s.modes().size()];
        for (int i = 0; i < sp.length; i++) {
            SparseMode m = s.modes().get(i);
            sp[i] = qualityModelFor(m, speed);
            if (sp[i] < 0) {
                SparseModels.checkCompatible(m, speed.getFirst());
            }
            // predicted on a SiLU/GELU speed model (CATS labels) takes its quality where its replay comes from:
            // the first quality model of the speed model's family (Replay)
            qp[i] = m == SparseMode.LTE ? lteModel(q, cfgs) : m == SparseMode.PREDICTED && sp[i] >= 0
                    ? qualityModelFor(m, cfgs, relu(speed.get(sp[i]))) : qualityModelFor(m, cfgs);
            if (qp[i] < 0 && m == SparseMode.LTE) {
                throw new SparsaException.UsageException("--quality-model: no model for --modes lte among " + q
                        + ": lte needs a trained LTE model folder with " + LteRouters.FILE + " (sparsa sparsify "
                        + "--method lte)");
            }
            if (qp[i] < 0) {
                throw new SparsaException.UsageException("--quality-model: no model for --modes " + m.key()
                        + " among " + q + " (exact needs a ReLU-family model)");
            }
        }
        return new Plan(sp, qp);
    }

    /**
     * Runs the benchmark (see the class comment): each mode's speed on the first of {@code speedModels} it suits
     * (the rule of {@link #qualityModelFor}; against dense on the same model: one dense row per speed model used),
     * its quality on its quality model; progress lines go to {@code log}.
     */
    public static ModesResults run(List<Path> speedModels, Settings s, Parallel par, Double bandwidth,
                                   Consumer<String> log) {
        Plan plan = check(speedModels, s);
        List<Path> qModels = s.qualityModels().isEmpty() ? speedModels : s.qualityModels();
        Map<HeldKey, Calibration> held = new HashMap<>();   // calibrations a read-only folder could not take
        Map<Integer, List<Row>> bySpeed = new java.util.LinkedHashMap<>();
        for (int i = 0; i < s.modes().size(); i++) {
            if (s.modes().get(i) != SparseMode.DENSE) {
                bySpeed.putIfAbsent(plan.speed()[i], null);
            }
        }
        if (bySpeed.isEmpty()) {
            bySpeed.put(0, null);
        }
        for (int j : List.copyOf(bySpeed.keySet())) {
            List<SparseMode> ms = new ArrayList<>(List.of(SparseMode.DENSE));
            for (int i = 0; i < s.modes().size(); i++) {
                if (s.modes().get(i) != SparseMode.DENSE && plan.speed()[i] == j) {
                    ms.add(s.modes().get(i));
                }
            }
            bySpeed.put(j, speed(speedModels.get(j), ms, s, par, log, held));
        }
        Corpus qCorpus = s.qualityText() != null ? Corpus.ofTextFile(s.qualityText()) : ProfileCommand.brown(
                "brown-valid");
        Map<Integer, Quality> dense = new HashMap<>();
        List<Row> denseRows = new ArrayList<>();
        List<Row> modeRows = new ArrayList<>();
        for (int i = 0; i < s.modes().size(); i++) {
            SparseMode m = s.modes().get(i);
            int qi = plan.quality()[i];
            Path qp = qModels.get(qi);
            Quality base = dense.computeIfAbsent(qi, k -> quality(qp, SparseMode.DENSE, null, qCorpus, s, par,
                    log, held));
            Quality q = m == SparseMode.DENSE ? base : quality(qp, m, base, qCorpus, s, par, log, held);
            List<Row> speedRows = new ArrayList<>();
            if (m == SparseMode.DENSE) {
                bySpeed.values().forEach(rs -> speedRows.add(rs.getFirst()));
            } else {
                speedRows.add(bySpeed.get(plan.speed()[i]).stream().filter(r -> r.mode().equals(m.key()))
                        .findFirst().orElseThrow());
            }
            for (Row sp : speedRows) {
                LinkedHashSet<String> notes = new LinkedHashSet<>(sp.notes());
                notes.addAll(q.notes);
                // "M: calibration F (...)" says nothing when another note of M names F (made or kept this run)
                notes.removeIf(n -> n.contains(": calibration ") && notes.stream().anyMatch(o -> o != n
                        && o.startsWith(n.substring(0, n.indexOf(": ") + 2))
                        && !o.contains(": calibration ") && o.contains(" " + calibrationFile(n))));
                Row row = new Row(m.key(), sp.speedModel(), sp.dtype(), sp.prefill(), sp.decode(),
                        sp.prefillSpeedup(), sp.decodeSpeedup(), sp.sparsity(), sp.bytesPerToken(), sp.idealSpeedup(),
                        sp.fractionOfIdeal(), sp.recall(), sp.speedActivations(), Bench.modelName(qp),
                        q.result.bitsPerByte(), base.result.bitsPerByte(), m == SparseMode.DENSE ? null
                        : q.result.bitsPerByte() / base.result.bitsPerByte() - 1, q.sparsity, q.agreement,
                        q.agreementTokens, q.recall, List.copyOf(notes));
                (m == SparseMode.DENSE ? denseRows : modeRows).add(row);
            }
        }
        List<Row> rows = new ArrayList<>(denseRows);
        rows.addAll(modeRows);
        String at = java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
        return new ModesResults(SCHEMA, at, par.threads(), bandwidth,
                speedModels.stream().map(Bench::modelName).collect(java.util.stream.Collectors.joining(", ")),
                s.promptTokens(), s.decodeTokens(), s.reps(), qCorpus.name(), s.qualityTokens(), rows, null);
    }

    // ------------------------------------------------------------------ speed

    private static List<Row> speed(Path model, List<SparseMode> modes, Settings s, Parallel par, Consumer<String> log,
                                   Map<HeldKey, Calibration> held) {
        List<Row> rows = new ArrayList<>();
        try (ModelFiles files = ModelFiles.open(model)) {
            ModelConfig cfg = files.config();
            int[] ids = BenchPrompt.ids(files, BenchCommand.tokenizer(files), s.promptTokens(), 7);
            int context = ids.length + s.decodeTokens() / 2;
            double denseBytes = DecodeBytes.dense(files, context);
            String dtype = files.weights().tensor("model.layers.0.mlp.gate_proj.weight").dtype().name();
            Replay replay = modes.contains(SparseMode.PREDICTED) && synthetic(files)
                    ? replay(s, relu(cfg), par, log, held) : null;
            LteReplay lteReplay = modes.contains(SparseMode.LTE) && !LteRouters.present(folder(model))
                    ? lteReplay(s, par, log) : null;
            String activations = !synthetic(files) ? "trained weights" : replay != null ? "random weights (sparsa "
                    + "synth); predicted replays a trained model's reads (see its note)"
                    : !modes.contains(SparseMode.PREDICTED) ? "random weights (sparsa synth)" : "random weights (sparsa "
                    + "synth): for predicted, a predictor of random activations";
            if (lteReplay != null) {
                activations += "; lte replays a trained LTE model's expert selection (see its note)";
            }
            Stats dPre = null;
            Stats dDec = null;
            for (SparseMode m : modes) {
                List<String> notes = new ArrayList<>();
                boolean replayed = m == SparseMode.PREDICTED && replay != null;
                boolean lteReplayed = m == SparseMode.LTE && lteReplay != null;
                long l0 = System.nanoTime();
                LlamaModel timed = replayed ? replay.model(files) : lteReplayed ? lteReplay.model(files)
                        : load(files, m, s, par, log, notes, null, held);
                log.accept(String.format(Locale.ROOT, "%s --sparse %s: loaded in %.1f s", Bench.modelName(model),
                        m.key(), (System.nanoTime() - l0) / 1e9));
                Bench.Timings t = Bench.time(timed, ids, s.decodeTokens(), s.warmup(), s.reps(), par, log);
                timed = null;                                   // its copies (bundles) may go before the next load
                SparseStats decodeStats = new SparseStats(cfg.numLayers());   // what the decoded tokens alone skip
                LlamaModel measured = replayed ? replay.model(files) : lteReplayed ? lteReplay.model(files)
                        : load(files, m, s, par, log, notes, decodeStats, held);
                SkipTap tap = SkipTap.record(measured, ids, s.decodeTokens(), par);
                double bytes = bytesPerToken(files, measured, m, tap, decodeStats, context);
                if (m == SparseMode.DENSE) {
                    dPre = t.prefill();
                    dDec = t.decode();
                    bytes = denseBytes;
                }
                Double recall = decodeStats.hasPredictor() ? decodeStats.recall(-1) : null;
                if (lteReplayed) {
                    notes.add(lteReplay.note(files.config()));
                } else if (m == SparseMode.LTE) {
                    notes.add(String.format(Locale.ROOT, "speed: routers trained, the speed model's own %s (share "
                            + "%.1f%% of the experts over the decoded tokens)", LteRouters.FILE, 100 * (1
                            - tap.skipped())));
                }
                if (replayed) {
                    notes.add(replay.note());
                    notes.addAll(replay.calibration());
                } else if (m == SparseMode.PREDICTED && synthetic(files)) {
                    notes.add("predictor speed on random weights: its active sets have no trained structure (give a "
                            + (relu(cfg) ? "ReLU-family" : "SiLU/GELU") + " --quality-model to replay a trained "
                            + "model's reads instead)");
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

    /**
     * A trained model's predicted-kernel reads, per layer and position ({@link ReplayFfn.Trace}), to time the predicted
     * mode on weights without trained structure.
     */
    /** The file a note {@code "M: calibration F (...)"} names. */
    static String calibrationFile(String note) {
        String rest = note.substring(note.indexOf(": calibration ") + ": calibration ".length());
        int sp = rest.indexOf(' ');
        return sp < 0 ? rest : rest.substring(0, sp);
    }

    /** @param calibration the notes of the quality model's calibration, made in-process for the replay if it was */
    record Replay(String source, List<ReplayFfn.Trace> traces, Predictor.Kind kind, int rank, DType dtype,
                  ReplayFfn.Spread spread, List<String> calibration) {
        /** The speed model's layers over the replay kernel (layer ℓ replays trained layer ⌊ℓ·L₀/L⌋). */
        LlamaModel model(ModelFiles files) {
            ModelConfig cfg = files.config();
            int layers = cfg.numLayers();
            return LlamaModel.of(LlamaWeights.load(cfg, files.weights()), (fw, a) -> new ReplayFfn(fw, a,
                    traces.get(fw.layer() * traces.size() / layers), kind, rank, dtype, spread, 7), null);
        }

        String note() {
            double k = traces.stream().mapToDouble(ReplayFfn.Trace::keptShare).average().orElse(Double.NaN);
            double c = traces.stream().mapToDouble(ReplayFfn.Trace::candidateShare).average().orElse(Double.NaN);
            return String.format(Locale.ROOT, "speed: the reads of %s's predicted kernel (trained; %d positions, "
                            + "candidates %.1f%%, kept %.1f%%, %s predictor rank %d in %s) replayed on these "
                            + "weights (ReplayFfn, %s)", source, traces.getFirst().candidates().size(), 100 * c,
                    100 * k, kind.key(), rank, CalibrationFile.key(dtype), spread == ReplayFfn.Spread.SCATTERED
                            ? "neurons scattered" : "neurons in blocks");
        }
    }

    /**
     * Records the reads of the first quality model of the speed model's family (ReLU family: exact-zero labels;
     * SiLU/GELU: the predictor's CATS labels) in the predicted mode (calibrated in-process if needed) over a prompt
     * and greedy tokens of the bench's lengths; null when no quality model is of that family.
     */
    static Replay replay(Settings s, boolean relu, Parallel par, Consumer<String> log,
                         Map<HeldKey, Calibration> held) {
        List<ModelConfig> cfgs = configs(s.qualityModels());
        int pick = -1;
        for (int i = 0; i < cfgs.size() && pick < 0; i++) {
            pick = relu(cfgs.get(i)) == relu ? i : -1;
        }
        if (pick < 0) {
            return null;
        }
        Path qp = s.qualityModels().get(pick);
        try (ModelFiles files = ModelFiles.open(qp)) {
            ModelConfig cfg = files.config();
            List<String> calNotes = new ArrayList<>();
            LlamaModel m = load(files, SparseMode.PREDICTED, s, par, log, calNotes, null, held);
            PredictorFfn p0 = (PredictorFfn) m.ffn(0);
            int maxPos = cfg.maxPositions() > 0 ? cfg.maxPositions() : Integer.MAX_VALUE;
            int decode = Math.max(2, Math.min(s.decodeTokens(), maxPos / 2));
            int[] ids = BenchPrompt.ids(files, GenerateCommand.findTokenizer(files, null),
                    Math.max(1, Math.min(s.promptTokens(), maxPos - decode)), 7);
            int f = cfg.intermediateSize();
            List<List<int[]>> cand = new ArrayList<>();
            List<List<int[]>> kept = new ArrayList<>();
            for (int l = 0; l < cfg.numLayers(); l++) {
                cand.add(new ArrayList<>());
                kept.add(new ArrayList<>());
            }
            ActivationTap tap = (layer, pos, x, xo, gate, a, h, off) -> {
                int nc = 0;
                int nk = 0;
                int[] c = new int[f];
                int[] k = new int[f];
                for (int i = 0; i < f; i++) {
                    if (gate[off + i] != 0f) {                  // the kernel computed g_i: a candidate
                        c[nc++] = i;
                    }
                    if (h[off + i] != 0f) {
                        k[nk++] = i;
                    }
                }
                cand.get(layer).add(Arrays.copyOf(c, nc));
                kept.get(layer).add(Arrays.copyOf(k, nk));
            };
            KvCache cache = m.newCache(ids.length + decode);
            int next = Sampler.argmax(m.forward(cache, ids, false, tap, par));
            for (int i = 1; i < decode; i++) {
                next = Sampler.argmax(m.decode(cache, next, tap, par));
            }
            List<ReplayFfn.Trace> traces = new ArrayList<>();
            for (int l = 0; l < cfg.numLayers(); l++) {
                traces.add(new ReplayFfn.Trace(f, cand.get(l), kept.get(l)));
            }
            Replay r = new Replay(Bench.modelName(qp), traces, p0.predictor().kind(), p0.predictorRank(),
                    p0.predictor().dtype(), s.replaySpread(), List.copyOf(calNotes));
            log.accept("sparsa: " + r.note());
            return r;
        }
    }

    /**
     * A trained LTE model's expert selection per layer and position ({@code sel.get(ℓ).get(pos)[e]}), to time the
     * {@code lte} mode on weights without trained routers: layer ℓ of the speed model replays trained layer
     * ⌊ℓ·L₀/L⌋, its expert e (experts of {@link #speedExpertSize}) trained expert ⌊e·N₀/N⌋, positions wrap around
     * the trace; the kernel ({@link LteFfn#replay}) computes a random router of the same shape each token and reads
     * exactly the replayed experts.
     */
    record LteReplay(String source, int expertSize, int experts, List<List<boolean[]>> sel) {
        /** Experts of the trained size when it divides F, else the largest size below it that does. */
        int speedExpertSize(int f) {
            int s = Math.min(expertSize, f);
            while (f % s != 0) {
                s--;
            }
            return s;
        }

        LlamaModel model(ModelFiles files) {
            ModelConfig cfg = files.config();
            int layers = cfg.numLayers();
            int s = speedExpertSize(cfg.intermediateSize());
            int n = cfg.intermediateSize() / s;
            return LlamaModel.of(LlamaWeights.load(cfg, files.weights()), LteFfn.replay(s, 7, l -> {
                List<boolean[]> t = sel.get(l * sel.size() / layers);
                return (pos, e) -> t.get(pos % t.size())[(int) ((long) e * experts / n)];
            }), null);
        }

        double share() {
            long k = 0;
            long all = 0;
            for (List<boolean[]> layer : sel) {
                for (boolean[] p : layer) {
                    for (boolean b : p) {
                        k += b ? 1 : 0;
                    }
                    all += p.length;
                }
            }
            return (double) k / all;
        }

        String note(ModelConfig speed) {
            int s = speedExpertSize(speed.intermediateSize());
            return String.format(Locale.ROOT, "speed: routers replayed from %s (its trained routers' expert "
                            + "selection per layer and position over %d positions of the bench prompt and greedy "
                            + "tokens: %.1f%% of %d experts of %d) on these weights as %d experts of %d; a random "
                            + "router of that shape is computed each token, its scores unused (LteFfn.replay)",
                    source, sel.getFirst().size(), 100 * share(), experts, expertSize,
                    speed.intermediateSize() / s, s);
        }
    }

    /**
     * Records the expert selection of the first LTE quality model (routers in its folder) over a prompt and greedy
     * tokens of the bench's lengths.
     */
    static LteReplay lteReplay(Settings s, Parallel par, Consumer<String> log) {
        List<ModelConfig> cfgs = configs(s.qualityModels());
        int pick = lteModel(s.qualityModels(), cfgs);
        if (pick < 0) {
            throw new SparsaException.UsageException("--modes lte: the speed model has no " + LteRouters.FILE
                    + " and no --quality-model has one to replay (train one with sparsa sparsify --method lte)");
        }
        Path qp = s.qualityModels().get(pick);
        try (ModelFiles files = ModelFiles.open(qp)) {
            ModelConfig cfg = files.config();
            LteRouters r = LteRouters.read(folder(qp), cfg);
            LlamaModel m = SparseModels.lte(LlamaWeights.load(cfg, files.weights()), r);
            int maxPos = cfg.maxPositions() > 0 ? cfg.maxPositions() : Integer.MAX_VALUE;
            int decode = Math.max(2, Math.min(s.decodeTokens(), maxPos / 2));
            int[] ids = BenchPrompt.ids(files, GenerateCommand.findTokenizer(files, null),
                    Math.max(1, Math.min(s.promptTokens(), maxPos - decode)), 7);
            int n = r.experts();
            int d = cfg.hiddenSize();
            List<List<boolean[]>> sel = new ArrayList<>();
            for (int l = 0; l < cfg.numLayers(); l++) {
                sel.add(new ArrayList<>());
            }
            float[] z = new float[n];
            ActivationTap tap = (layer, pos, x, xo, gate, a, h, off) -> {
                LteRouters.logits(r.router(layer), n, d, x, xo, z, 0);
                boolean[] e = new boolean[n];
                for (int k = 0; k < n; k++) {
                    e[k] = LteRouters.selected(z[k], r.tau());  // what the trained model's kernel computed
                }
                sel.get(layer).add(e);
            };
            KvCache cache = m.newCache(ids.length + decode);
            int next = Sampler.argmax(m.forward(cache, ids, false, tap, par));
            for (int i = 1; i < decode; i++) {
                next = Sampler.argmax(m.decode(cache, next, tap, par));
            }
            LteReplay rep = new LteReplay(Bench.modelName(qp), r.expertSize(), n, sel);
            log.accept(String.format(Locale.ROOT, "sparsa: lte: replaying %s's expert selection (%.1f%% of %d "
                    + "experts of %d over %d positions)", rep.source(), 100 * rep.share(), n, r.expertSize(),
                    sel.getFirst().size()));
            return rep;
        }
    }

    /** Whether {@code files} were written by {@code sparsa synth} (its marker file in the folder). */
    static boolean synthetic(ModelFiles files) {
        Path p = files.location().toAbsolutePath().normalize();
        Path dir = Files.isDirectory(p) ? p : p.getParent();
        return dir != null && Files.isRegularFile(dir.resolve(dev.sparsa.perf.Synth.MARKER));
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
            } else if (k instanceof ReplayFfn r) {              // the same, with the replayed candidate share
                bytes -= gate + up + down;
                bytes += r.predictorBytes() + r.candidateShare() * gate + kept * (up + down) / f;
            } else if (k instanceof LteFfn lte) {               // router + |E|·S·(gate row + up row + down column)
                bytes -= gate + up + down;
                bytes += lte.routerBytes() + kept * (gate + up + down) / f;
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
     * {@code files} in {@code mode}. Calibrates the mode in-process when its file is missing beside the model ({@code sparsa calibrate}'s
     * defaults: target 0.5, a predictor of a ReLU-family model on its exact zeros at recall 0.99) and writes the file
     * where {@code --sparse} finds it (a read-only folder: the calibration is kept in memory for this run, and the
     * note says so). A file that exists is read and validated by {@link SparseModels#load} (a stale or foreign one is
     * its one-line error).
     */
    static LlamaModel load(ModelFiles files, SparseMode mode, Settings s, Parallel par, Consumer<String> log,
                           List<String> notes, SparseStats stats, Map<HeldKey, Calibration> held) {
        if (!mode.calibrated()) {
            return SparseModels.load(files, mode, null, stats).model();
        }
        Path dest = CalibrationFile.defaultPath(files.location(), mode);
        Calibration kept = held.get(new HeldKey(files.location().toAbsolutePath().normalize(), mode));
        if (kept != null) {
            return SparseModels.of(LlamaWeights.load(files.config(), files.weights()), mode, kept, stats);
        }
        ModelConfig cfg = files.config();
        String who = Bench.modelName(files.location()) + ": ";
        Calibration.Source have = null;
        if (Files.isRegularFile(dest)) {
            have = CalibrationFile.read(dest, mode, ModelShape.of(cfg, files.weights())).source();
            if (!s.calibrationAsked()) {                        // no --calibrate-tokens / --calibrate-text: the file
                Calibration.Source h = have;
                if (notes.stream().noneMatch(n -> n.startsWith(who) && n.contains(dest.getFileName().toString()))) {
                    notes.add(String.format(Locale.ROOT, "%scalibration %s (%d tokens of %s)", who,
                            dest.getFileName(), h.tokens(), h.corpus()));
                }
                return SparseModels.load(files, mode, null, stats).model();
            }
        }
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
        if (have != null && have.tokens() == w.stream().size() && have.corpus().equals(c.name())) {
            if (notes.stream().noneMatch(n -> n.startsWith(who) && n.contains(dest.getFileName().toString()))) {
                notes.add(String.format(Locale.ROOT, "%scalibration %s (%d tokens of %s, as asked)", who,
                        dest.getFileName(), have.tokens(), have.corpus()));
            }
            return SparseModels.load(files, mode, null, stats).model();
        }
        String line = have == null ? String.format(Locale.ROOT, "%s: no %s; calibrated %s in-process with sparsa "
                        + "calibrate's defaults (%s, %d tokens of %s)", Bench.modelName(files.location()),
                dest.getFileName(), mode.key(), Double.isNaN(target) ? "exact-zero labels, recall 0.99"
                        : "target 0.5", w.stream().size(), c.name())
                : String.format(Locale.ROOT, "%s: %s was made on %d tokens of %s, not the %d tokens of %s asked; "
                        + "calibrated %s in-process with sparsa calibrate's defaults (%s)",
                Bench.modelName(files.location()), dest.getFileName(), have.tokens(), have.corpus(),
                w.stream().size(), c.name(), mode.key(), Double.isNaN(target) ? "exact-zero labels, recall 0.99"
                        : "target 0.5");
        log.accept("sparsa: " + line + " ...");
        LlamaWeights lw = LlamaWeights.load(cfg, files.weights());
        Calibration cal = new Calibrator(lw, par, log).run(w, c.name(), ModelShape.of(cfg, files.weights()),
                Calibrator.Options.defaults(mode, target));
        String refused = have != null ? "a calibration file of other tokens is there; it is left as it is"
                : writable(dest.getParent());
        if (refused == null) {
            try {
                CalibrationFile.write(dest, cal);
                line += ", written there";
            } catch (RuntimeException e) {
                refused = e.getMessage().lines().findFirst().orElse("");
            }
        }
        if (refused != null) {                                  // a read-only model folder: kept for this run
            held.put(new HeldKey(files.location().toAbsolutePath().normalize(), mode), cal);
            line += ", kept in memory for this run (not written beside the model: " + refused + ")";
        }
        log.accept("sparsa: " + line);
        notes.add(line);
        return SparseModels.of(lw, mode, cal, stats);
    }

    /**
     * Null when a calibration may be written into {@code dir}, else why not: not writable, or its owner-write
     * permission bit is off (a folder made read-only on purpose, such as Sparsa's model cache, even for root).
     */
    static String writable(Path dir) {
        if (dir == null || !Files.isWritable(dir)) {
            return "the folder is not writable";
        }
        try {
            var perms = Files.getPosixFilePermissions(dir);
            if (!perms.contains(java.nio.file.attribute.PosixFilePermission.OWNER_WRITE)) {
                return "the folder is read-only";
            }
        } catch (UnsupportedOperationException | java.io.IOException e) {
            // no POSIX permissions: isWritable decided
        }
        return null;
    }

    record HeldKey(Path model, SparseMode mode) {
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
                                   Consumer<String> log, Map<HeldKey, Calibration> held) {
        try (ModelFiles files = ModelFiles.open(model)) {
            ModelConfig cfg = files.config();
            List<String> notes = new ArrayList<>();
            SparseStats stats = new SparseStats(cfg.numLayers());
            LlamaModel m = load(files, mode, s, par, log, notes, stats, held);
            Tokenizer tok = GenerateCommand.findTokenizer(files, null);
            if (tok == null) {
                throw new SparsaException.UsageException(model + ": no tokenizer.json for the quality rows");
            }
            EosToken eos = EosToken.resolve(null, cfg, files.format().equals("gguf"), tok, model);
            TokenStream stream = TokenStream.of(corpus, tok, eos.id(), s.qualityTokens());
            int window = window(cfg, s.ctx());
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

    /** The Markdown table of {@code r} (and its reference row): {@link ModesMarkdown#table}. */
    public static String table(ModesResults r) {
        return dev.sparsa.cli.report.ModesMarkdown.table(r);
    }
}
