package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.cli.report.NeuronReport;
import dev.sparsa.cli.report.ResultsFiles;
import dev.sparsa.eval.EosToken;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.experiment.DenseLlamaCache;
import dev.sparsa.io.Fetch;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * What {@code sparsa experiment redo|ap|sap|attribution} share: the options every one of them has, finding the
 * model (the given folder, or with {@code --quick} and no {@code --model} the micro-llama that Sparsa pretrains on
 * Brown once and caches), the corpora (Brown, or {@code --text}/{@code --val-text}), and writing
 * {@code OUT/results.json}, {@code OUT/report.html} and {@code OUT/section.md} (printed too).
 */
abstract class NeuronExperimentCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

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

    /** The experiment's name ({@code redo}, ...). */
    abstract String name();

    /** Whether the experiment trains on --text (else --text is refused by its own check). */
    boolean trains() {
        return true;
    }

    /** Checks the experiment's own options before anything is loaded (usage errors). */
    abstract void check();

    /** Runs it; returns the results record (written as results.json). */
    abstract Object run(Context c);

    /** What a run has: the pool, the progress, the model folder and how it was found, the corpora. */
    record Context(Parallel par, TrainProgress progress, Path modelDir, String modelSource, Corpus train,
                   Corpus valid, Path out) {
    }

    static int pick(Integer given, boolean quick, int q, int full) {
        return given != null ? given : quick ? q : full;
    }

    static float pick(Float given, boolean quick, float q, float full) {
        return given != null ? given : quick ? q : full;
    }

    @Override
    public final Integer call() throws Exception {
        if (threads != null && threads < 1) {
            throw new SparsaException.UsageException("--threads must be >= 1, got " + threads);
        }
        if (trains() && (text == null) != (valText == null)) {
            throw new SparsaException.UsageException("give --text and --val-text together (or neither: Brown)");
        }
        if (model == null && !quick) {
            throw new SparsaException.UsageException("--model DIR is required without --quick (" + modelHint() + ")");
        }
        if (valTokens != null && valTokens < 2) {
            throw new SparsaException.UsageException("--val-tokens must be >= 2, got " + valTokens);
        }
        check();
        Path dir = out != null ? out : Path.of("out", "experiment", quick ? name() + "-quick" : name());
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
            Object r = run(new Context(par, progress, modelDir, source, train, valid, dir));
            progress.bar().finish();
            ResultsFiles.writeExperiment(r, Main.typed(spec), dir, spec.commandLine().getOut(),
                    ProgressBar.clock((System.nanoTime() - t0) / 1e9), n);
        }
        return 0;
    }

    /** What --model should be, for the error without it. */
    String modelHint() {
        return "a dense Llama-family Hugging Face folder, e.g. the tiny-llama trained on brown-train: ./sparsa "
                + "pretrain --config tiny-llama --out DIR";
    }

    /** An opened decoder: files, config, tokenizer and EOS; the caller closes {@code files}. */
    record Opened(ModelFiles files, ModelConfig config, Tokenizer tokenizer, int eos) implements AutoCloseable {
        LlamaWeights weights() {
            return LlamaWeights.load(config, files.weights());
        }

        @Override
        public void close() {
            files.close();
        }
    }

    /** Opens a Llama-family safetensors folder with its tokenizer, checking {@code seq} against its positions. */
    static Opened open(Path dir, int seq) {
        ModelFiles files = ModelFiles.open(dir);
        try {
            ModelConfig cfg = files.config();
            if (!cfg.isDecoder() || files.format().equals("gguf")) {
                throw new SparsaException.UnsupportedException(dir + ": the experiment needs a Llama-family decoder "
                        + "in a Hugging Face safetensors folder; this is " + cfg.architecture() + " ("
                        + files.format() + ")");
            }
            if (cfg.maxPositions() > 0 && seq > cfg.maxPositions()) {
                throw new SparsaException.UsageException("--seq " + seq + " exceeds the model's max positions "
                        + cfg.maxPositions());
            }
            Tokenizer tok = GenerateCommand.findTokenizer(files, null);
            if (tok == null) {
                throw new SparsaException.UsageException(dir + ": no tokenizer.json beside the model");
            }
            int eos = EosToken.resolve(null, cfg, false, tok, dir).id();
            return new Opened(files, cfg, tok, eos);
        } catch (RuntimeException e) {
            files.close();
            throw e;
        }
    }

    /** The training corpus: --text, else brown-train. */
    static Corpus trainCorpus(Context c) {
        return c.train() != null ? c.train() : ProfileCommand.brown("brown-train");
    }

    static Corpus validCorpus(Context c) {
        return c.valid() != null ? c.valid() : ProfileCommand.brown("brown-valid");
    }

    static EvalWindows windows(Corpus valid, Opened m, int tokens, int seq) {
        return EvalWindows.of(TokenStream.of(valid, m.tokenizer(), m.eos(), tokens), seq);
    }

}
