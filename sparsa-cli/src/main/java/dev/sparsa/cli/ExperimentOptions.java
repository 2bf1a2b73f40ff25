package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.cli.report.NeuronReport;
import dev.sparsa.cli.report.ResultsFiles;
import dev.sparsa.experiment.DenseLlamaCache;
import dev.sparsa.io.Fetch;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.tensor.Parallel;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

/**
 * The options {@code sparsa experiment redo|ap|sap|attribution|lte|clnp|sparcl} share (a picocli mixin: each command
 * declares only its own), their common checks, and the run around each experiment: the worker pool, the model (the
 * given folder, or with {@code --quick} and no {@code --model} the micro-llama that Sparsa pretrains on Brown once and
 * caches), the corpora ({@code --text}/{@code --val-text}), then {@code OUT/results.json}, {@code OUT/report.html}
 * and {@code OUT/section.md} (printed too).
 */
final class ExperimentOptions {

    @Option(names = "--model", paramLabel = "DIR", order = 1,
            description = "The starting model (Hugging Face Llama folder with tokenizer.json). Required without "
                    + "--quick; --quick without it uses the micro-llama Sparsa pretrains on Brown once (cached).")
    Path model;

    @Option(names = "--quick", order = 2, description = "The reduced version (a few minutes on 2 cores; checks the "
            + "pipeline, not the figures EXPERIMENTS.md reports).")
    boolean quick;

    @Option(names = "--out", paramLabel = "DIR", order = 3,
            description = "Output folder (default out/experiment/NAME, --quick: out/experiment/NAME-quick).")
    Path out;

    @Option(names = "--text", paramLabel = "FILE", order = 20,
            description = "Train on this UTF-8 text (a document a line) instead of brown-train.")
    Path text;

    @Option(names = "--val-text", paramLabel = "FILE", order = 21,
            description = "Validate on this text instead of brown-valid.")
    Path valText;

    @Option(names = "--val-tokens", paramLabel = "N", order = 22,
            description = "Validation tokens (default: the experiment's; see its description).")
    Integer valTokens;

    @Option(names = "--batch", paramLabel = "N", order = 23, description = "Sequences per step.")
    Integer batch;

    @Option(names = "--seq", paramLabel = "N", order = 24, description = "Tokens per sequence and validation window.")
    Integer seq;

    @Option(names = "--lr", paramLabel = "LR", order = 25, description = "Learning rate (constant after warm-up).")
    Float lr;

    @Option(names = "--warmup", paramLabel = "N", order = 26, description = "Warm-up steps.")
    Integer warmup;

    @Option(names = "--weight-decay", defaultValue = "0.1", paramLabel = "W", order = 27,
            description = "AdamW weight decay on matrices (default ${DEFAULT-VALUE}).")
    float weightDecay;

    @Option(names = "--seed", defaultValue = "1234", paramLabel = "N", order = 28,
            description = "Seed of the data order and of initializations (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--threads", paramLabel = "N", order = 29,
            description = "Worker threads (default: all processors).")
    Integer threads;

    @Option(names = "--resume", order = 30,
            description = "Take the runs already finished under OUT/runs/ (same options).")
    boolean resume;

    static int pick(Integer given, boolean quick, int q, int full) {
        return given != null ? given : quick ? q : full;
    }

    static float pick(Float given, boolean quick, float q, float full) {
        return given != null ? given : quick ? q : full;
    }

    /**
     * The checks every experiment makes before its own: --threads, --text with --val-text (when it trains), --model
     * without --quick ({@code modelHint}: what it should be), --val-tokens.
     */
    void check(boolean trains, String modelHint) {
        if (threads != null && threads < 1) {
            throw new SparsaException.UsageException("--threads must be >= 1, got " + threads);
        }
        if (trains && (text == null) != (valText == null)) {
            throw new SparsaException.UsageException("give --text and --val-text together (or neither: Brown)");
        }
        if (model == null && !quick) {
            throw new SparsaException.UsageException("--model DIR is required without --quick (" + modelHint + ")");
        }
        if (valTokens != null && valTokens < 2) {
            throw new SparsaException.UsageException("--val-tokens must be >= 2, got " + valTokens);
        }
    }

    /**
     * Runs experiment {@code name} (after the checks): finds the model, opens the corpora, runs {@code experiment}
     * and writes and prints its outputs; 0.
     */
    int run(String name, CommandLine.Model.CommandSpec spec,
            Function<NeuronExperimentCommand.Context, Object> experiment) {
        Path dir = out != null ? out : Path.of("out", "experiment", quick ? name + "-quick" : name);
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new SparsaException.UsageException("--out " + dir + " exists and is not a directory");
        }
        int n = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        TrainProgress progress = new TrainProgress(System.err);
        long t0 = System.nanoTime();
        try (Parallel par = new Parallel(n)) {
            Path modelDir = model;
            String source = "given";
            if (modelDir == null) {
                DenseLlamaCache.Spec ms = DenseLlamaCache.Spec.microLlamaBrown();
                progress.label("pretrain " + ms.name());
                DenseLlamaCache.Entry e = DenseLlamaCache.obtain(Fetch.defaultCache().root(), ms,
                        () -> ProfileCommand.brown("brown-train"), () -> ProfileCommand.brown("brown-valid"), par,
                        progress);
                progress.bar().finish();
                progress.say((e.cached() ? "cached" : "pretrained") + " dense " + ms.name() + ": " + e.dir());
                modelDir = e.dir();
                source = "cached-pretrain";
            }
            Corpus train = text != null ? Corpus.ofTextFile(text) : null;
            Corpus valid = valText != null ? Corpus.ofTextFile(valText) : null;
            Object r = experiment.apply(new NeuronExperimentCommand.Context(par, progress, modelDir, source, train,
                    valid, dir));
            progress.bar().finish();
            ResultsFiles.writeExperiment(r, dir, json -> NeuronReport.markdown(ResultsFiles.readNeuron(json),
                    commandLine(spec)), spec.commandLine().getOut(), ProgressBar.clock((System.nanoTime() - t0) / 1e9),
                    n);
        }
        return 0;
    }

    /** The command as typed (for the Markdown section). */
    private static String commandLine(CommandLine.Model.CommandSpec spec) {
        List<String> args = spec.root().commandLine().getParseResult().originalArgs();
        return "./sparsa " + String.join(" ", args.stream().map(a -> a.contains(" ") ? "'" + a + "'" : a).toList());
    }
}
