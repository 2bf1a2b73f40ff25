package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.infer.ReplayFfn;
import dev.sparsa.cli.report.ModesReportHtml;
import dev.sparsa.cli.report.ResultsFiles;
import dev.sparsa.experiment.DenseLlamaCache;
import dev.sparsa.experiment.ProSparseCache;
import dev.sparsa.infer.mode.SparseMode;
import dev.sparsa.io.Fetch;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.perf.Synth;
import dev.sparsa.tensor.DType;
import dev.sparsa.perf.Bandwidth;
import dev.sparsa.perf.BenchRow;
import dev.sparsa.tensor.Parallel;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * {@code --modes} and its options, shared by {@code sparsa bench} and {@code bench-e2e} ({@link ModesBench}).
 */
public final class ModesOptions {
    @Option(names = "--modes", split = ",", paramLabel = "MODE",
            description = "Run dense and each of these sparse modes side by side (" + "dense, exact, cats, teal, topk, "
                    + "predicted, ...: every --sparse mode): tok/s, speedup vs dense, measured sparsity, ideal "
                    + "speedup (bytes), fraction of ideal, bits/byte and its Δ vs dense, greedy agreement with dense. "
                    + "A calibrated mode whose file is missing beside a model is calibrated in-process with sparsa "
                    + "calibrate's defaults and the file written there (said in the output).")
    public List<String> modes;

    @Option(names = "--quality-model", paramLabel = "M",
            description = "--modes: trained model(s) for the quality rows (repeatable; default: the --model). exact "
                    + "and predicted use the first ReLU-family one, cats, teal and topk the first SiLU/GELU one "
                    + "(else the first they can run on).")
    public List<Path> qualityModels = List.of();

    @Option(names = "--quality-text", paramLabel = "FILE",
            description = "--modes: evaluate on this text (one document a line) instead of brown-valid.")
    public Path qualityText;

    @Option(names = "--quality-tokens", paramLabel = "N", defaultValue = "16384",
            description = "--modes: first N tokens of the quality text (default ${DEFAULT-VALUE}).")
    public long qualityTokens;

    @Option(names = "--ctx", paramLabel = "N",
            description = "--modes: eval window (default 256, or the model's max positions if smaller).")
    public Integer ctx;

    @Option(names = "--calibrate-text", paramLabel = "FILE",
            description = "--modes: text of an in-process calibration instead of brown-train.")
    public Path calibrateText;

    @Option(names = "--calibrate-tokens", paramLabel = "N", defaultValue = "20000",
            description = "--modes: tokens of an in-process calibration (default ${DEFAULT-VALUE}, sparsa "
                    + "calibrate's). Given (or --calibrate-text), a calibration file beside the model made on other "
                    + "tokens is not used: the mode is calibrated on these, kept in memory, the file left as it is.")
    public long calibrateTokens;

    @Option(names = "--agreement-prompts", paramLabel = "N", defaultValue = "4",
            description = "--modes: prompts (16 tokens from the quality text) dense continues greedily (default "
                    + "${DEFAULT-VALUE}).")
    public int prompts;

    @Option(names = "--agreement-tokens", paramLabel = "N", defaultValue = "32",
            description = "--modes: greedy tokens per prompt (default ${DEFAULT-VALUE}).")
    public int agreementTokens;

    @Option(names = "--replay-spread", paramLabel = "S", defaultValue = "scattered",
            description = "--modes on sparsa synth weights: where the predicted row's replay puts the F/F0 neurons "
                    + "that stand for one neuron of the trained model: scattered (through a fixed random "
                    + "permutation, as scattered as a trained model's own neurons) or blocks (adjacent records: the "
                    + "best case of a neuron order that clusters co-active neurons). Default: ${DEFAULT-VALUE}.")
    public String replaySpread;

    @Option(names = "--html", paramLabel = "FILE", description = "--modes: also write the HTML report (atomically).")
    public Path html;

    @Option(names = "--quick",
            description = "--modes without models of your own (sparsa bench only; no --model): quality on Sparsa's "
                    + "micro-llama (pretrained on brown-train once and cached) for cats/teal/topk and a short "
                    + "ProSparse sparsify of it (cached, with a hash of its spec) for exact/predicted, each calibrated "
                    + "in-process the first time; speed on small synthetic models (sparsa synth tiny: FATReLU 90%% for "
                    + "exact/predicted, SiLU for cats/teal/topk; cached). Shorter defaults: 32 prompt + 32 decoded "
                    + "tokens, 4096 quality and calibration tokens, a 256 MiB bandwidth probe. About a minute on 2 "
                    + "cores once the micro-llama is cached. --quality-model DIR: this dense Llama instead of the "
                    + "micro-llama.")
    public boolean quick;

    /** Whether --calibrate-tokens or --calibrate-text was given (set by {@link #run} from the parse result). */
    boolean calibrationAsked;

    /** The settings; one-line usage errors for values that cannot work. */
    public ModesBench.Settings settings(int promptTokens, int decodeTokens, int warmup, int reps) {
        List<SparseMode> ms = ModesBench.parseModes(modes);
        if (qualityTokens < 2 || calibrateTokens < 2) {
            throw new SparsaException.UsageException("--quality-tokens and --calibrate-tokens must be >= 2, got "
                    + qualityTokens + ", " + calibrateTokens);
        }
        if (prompts < 1 || agreementTokens < 1) {
            throw new SparsaException.UsageException("--agreement-prompts and --agreement-tokens must be >= 1, got "
                    + prompts + ", " + agreementTokens);
        }
        if (ctx != null && ctx < 2) {
            throw new SparsaException.UsageException("--ctx must be at least 2, got " + ctx);
        }
        ReplayFfn.Spread spread = switch (replaySpread) {
            case "scattered" -> ReplayFfn.Spread.SCATTERED;
            case "blocks" -> ReplayFfn.Spread.BLOCKS;
            default -> throw new SparsaException.UsageException("--replay-spread must be scattered or blocks, got '"
                    + replaySpread + "'");
        };
        return new ModesBench.Settings(ms, promptTokens, decodeTokens, warmup, reps, qualityModels, qualityText,
                qualityTokens, ctx, calibrateText, calibrateTokens, calibrationAsked, prompts, agreementTokens,
                spread);
    }

    /** Shape of {@code --quick}'s synthetic speed models. */
    static final String QUICK_SHAPE = "tiny";

    /**
     * {@code bench --modes ... --quick}: obtains its models (see {@code --quick}), then {@link #run} on them. The
     * quality models, the ProSparse one trained from the dense one by {@link ProSparseCache} on the calibration text
     * (brown-train) with the threshold searched on the quality text (brown-valid), are cached under {@code --cache}
     * with a hash of their spec, and so are the calibrations written beside them; the synthetic speed models under
     * {@code CACHE/synth/quick-*}. Nothing is measured on bad input.
     *
     * @param cache Sparsa's cache (null: $SPARSA_CACHE or ~/.cache/sparsa)
     */
    public int runQuick(int threads, int promptTokens, int decodeTokens, int warmup, int reps, int bandwidthMib,
                        Path json, Path cache, CommandLine.Model.CommandSpec spec) throws Exception {
        CommandLine.ParseResult parsed = spec.commandLine().getParseResult();
        if (!parsed.hasMatchedOption("--quality-tokens")) {
            qualityTokens = 4096;
        }
        if (!parsed.hasMatchedOption("--calibrate-tokens")) {
            calibrateTokens = 4096;
        }
        if (qualityModels.size() > 1) {
            throw new SparsaException.UsageException("--quick --quality-model: at most one (a dense Llama folder to "
                    + "sparsify instead of the micro-llama), got " + qualityModels.size());
        }
        settings(promptTokens, decodeTokens, warmup, reps);              // bad values fail before any training
        Path base = qualityModels.isEmpty() ? null : qualityModels.getFirst();
        if (base != null) {
            try (ModelFiles f = ModelFiles.open(base, true)) {
                if (ModesBench.relu(f.config())) {
                    throw new SparsaException.UsageException("--quick --quality-model " + base + ": a dense SiLU/GELU "
                            + "Llama to sparsify is needed, got " + f.config().hiddenAct());
                }
            }
        }
        Path root = cache != null ? cache : Fetch.defaultCache().root();
        Supplier<Corpus> train = () -> calibrateText != null ? Corpus.ofTextFile(calibrateText)
                : ProfileCommand.brown("brown-train");
        Supplier<Corpus> valid = () -> qualityText != null ? Corpus.ofTextFile(qualityText)
                : ProfileCommand.brown("brown-valid");
        TrainProgress progress = new TrainProgress(System.err);
        Path dense = base;
        ProSparseCache.Entry sparse;
        try (Parallel par = new Parallel(threads)) {
            if (dense == null) {
                DenseLlamaCache.Spec ms = DenseLlamaCache.Spec.microLlamaBrown();
                progress.label("pretrain " + ms.name());
                DenseLlamaCache.Entry e = DenseLlamaCache.obtain(root, ms, () -> ProfileCommand.brown("brown-train"),
                        () -> ProfileCommand.brown("brown-valid"), par, progress);
                progress.bar().finish();
                progress.say((e.cached() ? "cached" : "pretrained") + " dense " + ms.name() + ": " + e.dir());
                dense = e.dir();
            }
            int seq;
            try (ModelFiles f = ModelFiles.open(dense, true)) {
                int maxPos = f.config().maxPositions();
                seq = maxPos > 0 ? Math.min(128, maxPos) : 128;
            }
            ProSparseCache.Spec ps = ProSparseCache.Spec.quick(dense.getFileName() + "-prosparse", seq);
            progress.label("ProSparse " + ps.name());
            sparse = ProSparseCache.obtain(root, dense, ps, train, valid, par, progress);
            progress.bar().finish();
            progress.say((sparse.cached() ? "cached" : "sparsified") + " " + ps.name() + ": " + sparse.dir());
        }
        Consumer<String> log = line -> {
            spec.commandLine().getErr().println(line);
            spec.commandLine().getErr().flush();
        };
        Synth.Shape shape = Synth.SHAPES.get(QUICK_SHAPE);
        Path synth = root.resolve("synth");
        Synth.Result relu = Synth.ensure(new Synth.Options(shape, DType.BF16, null, "fatrelu", 0.9, 1),
                synth.resolve("quick-" + QUICK_SHAPE + "-fatrelu90"), log);
        Synth.Result silu = Synth.ensure(new Synth.Options(shape, DType.BF16, null, "silu", 0.9, 1),
                synth.resolve("quick-" + QUICK_SHAPE + "-silu"), log);
        qualityModels = List.of(dense, sparse.dir());
        return run(List.of(relu.dir(), silu.dir()), threads, promptTokens, decodeTokens, warmup, reps, bandwidthMib,
                json, spec, null);
    }

    /**
     * Runs the modes benchmark of {@code models} (speed; see {@link ModesBench#run}): checks first (nothing is measured on bad input), then the bandwidth
     * probe (if {@code bandwidthMib} > 0), the rows, {@code reference} (may be null: bench-e2e's llama.cpp row), the
     * table on stdout, {@code json} and {@code --html}.
     */
    public int run(List<Path> models, int threads, int promptTokens, int decodeTokens, int warmup, int reps,
                   int bandwidthMib, Path json, CommandLine.Model.CommandSpec spec,
                   BiFunction<Parallel, Consumer<String>, BenchRow> reference) throws Exception {
        CommandLine.ParseResult parsed = spec.commandLine().getParseResult();
        calibrationAsked = parsed != null && (parsed.hasMatchedOption("--calibrate-tokens")
                || parsed.hasMatchedOption("--calibrate-text"));
        ModesBench.Settings s = settings(promptTokens, decodeTokens, warmup, reps);
        ModesBench.check(models, s);
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter out = spec.commandLine().getOut();
        Consumer<String> log = line -> {
            err.println(line);
            err.flush();
        };
        dev.sparsa.perf.ModesResults r;
        try (Parallel par = new Parallel(threads)) {
            Double bw = null;
            if (bandwidthMib > 0) {
                bw = Bandwidth.measure(par, (long) bandwidthMib << 20, 5);
                log.accept(String.format(Locale.ROOT, "memory bandwidth (read, %d threads): %.1f GB/s", threads, bw));
            }
            r = ModesBench.run(models, s, par, bw, log);
            if (reference != null) {
                BenchRow ref = reference.apply(par, log);
                r = r.withReference(bw != null ? ref.withBandwidth(bw) : ref);
            }
        }
        out.println(ModesBench.table(r));
        out.flush();
        if (json != null) {                                     // with the command: sparsa report's section.md
            ResultsFiles.writeJson(r, Main.typed(spec), json);
        }
        if (html != null) {                                     // from the JSON when there is one (report's bytes)
            ResultsFiles.writePage(json != null ? ResultsFiles.render(json).html() : ModesReportHtml.render(r), html);
        }
        return 0;
    }
}
