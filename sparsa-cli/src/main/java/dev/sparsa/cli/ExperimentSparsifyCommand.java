package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.cli.report.ResultsFiles;
import dev.sparsa.cli.report.SparsifyMarkdown;
import dev.sparsa.eval.EosToken;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.experiment.DenseLlamaCache;
import dev.sparsa.experiment.SparsifyExperiment;
import dev.sparsa.experiment.SparsifyResults;
import dev.sparsa.io.Fetch;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code sparsa experiment sparsify}: every sparsification method from one dense model, compared alike. */
@Command(name = "sparsify", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train every sparsification method from one dense Llama (dense SiLU continued, relu, relu2, "
                + "relufy, drelu, prosparse, prosparse + distillation) with the same data and steps, evaluate each on "
                + "brown-valid at T = 0 and at the chosen FATReLU threshold (bits/byte, zero sparsity, Δ vs the dense "
                + "model, wall time), and sweep ProSparse's λ schedule for the sparsity-quality curve.",
                "Needs a dense model: --model DIR, e.g. the tiny-llama trained on brown-train (./sparsa pretrain "
                        + "--config tiny-llama --out DIR, or scripts/train/pretrain_torch.py on a GPU machine). "
                        + "--quick without --model pretrains a micro-llama on Brown once (cached in Sparsa's cache) "
                        + "and runs a few steps per method.",
                "Finished runs are kept in OUT/runs/; --resume continues an interrupted experiment at the run it was "
                        + "in."})
public final class ExperimentSparsifyCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR",
            description = "The dense starting model (Hugging Face folder with tokenizer.json). Required without "
                    + "--quick.")
    Path model;

    @Option(names = "--quick", description = "The reduced version (a few minutes on 2 cores): a micro-llama "
            + "pretrained once on Brown and cached (unless --model), 12 steps per method, ProSparse 3 x 4 steps, "
            + "λ scales 0.25,1,4, batch 8 x 128, 8192 validation tokens.")
    boolean quick;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Output folder (default out/experiment/sparsify, --quick: out/experiment/sparsify-quick).")
    Path out;

    @Option(names = "--methods", split = ",", paramLabel = "M",
            description = "Methods to run (default all: dense, relu, relu2, relufy, drelu, prosparse, "
                    + "prosparse+distill); the λ sweep runs with prosparse.")
    List<String> methods;

    @Option(names = "--steps", paramLabel = "N", description = "Steps of each non-staged method (default 300; "
            + "--quick 12).")
    Integer steps;

    @Option(names = "--stage-steps", paramLabel = "S", description = "ProSparse steps per λ stage (default 100; "
            + "--quick 4).")
    Integer stageSteps;

    @Option(names = "--lambdas", split = ",", paramLabel = "L1,L2,...",
            description = "ProSparse λ at the end of each stage (default 0.35,1.75,3.5).")
    float[] lambdas;

    @Option(names = "--lambda-scales", split = ",", paramLabel = "F",
            description = "Factors on the λ schedule for the sweep (default 0.25,0.5,1,2,4; --quick 0.25,1,4).")
    double[] scales;

    @Option(names = "--distill", defaultValue = "0.5", paramLabel = "ALPHA",
            description = "α of self-distillation in prosparse+distill (default ${DEFAULT-VALUE}).")
    float distill;

    @Option(names = "--tolerance", defaultValue = "0.01", paramLabel = "F",
            description = "Auto threshold: largest relative bits/byte rise (default ${DEFAULT-VALUE} = 1 percent).")
    double tolerance;

    @Option(names = "--batch", paramLabel = "N", description = "Sequences per step (default 16; --quick 8).")
    Integer batch;

    @Option(names = "--micro-batches", defaultValue = "1", paramLabel = "N",
            description = "Gradient accumulation micro-batches per step (default ${DEFAULT-VALUE}).")
    int microBatches;

    @Option(names = "--seq", paramLabel = "N",
            description = "Tokens per sequence and per validation window (default 256; --quick 128).")
    Integer seq;

    @Option(names = "--lr", defaultValue = "1e-3", paramLabel = "LR",
            description = "Learning rate, constant after warm-up (default ${DEFAULT-VALUE}).")
    float lr;

    @Option(names = "--warmup", paramLabel = "N", description = "Warm-up steps (default 50; --quick 2).")
    Integer warmup;

    @Option(names = "--weight-decay", defaultValue = "0.1", paramLabel = "W",
            description = "AdamW weight decay on matrices (default ${DEFAULT-VALUE}).")
    float weightDecay;

    @Option(names = "--val-tokens", paramLabel = "N",
            description = "Validation tokens, the same for every run (default 65536; --quick 8192).")
    Integer valTokens;

    @Option(names = "--text", paramLabel = "FILE",
            description = "Train on this UTF-8 text (a document a line) instead of brown-train.")
    Path text;

    @Option(names = "--val-text", paramLabel = "FILE",
            description = "Validate on this text instead of brown-valid.")
    Path valText;

    @Option(names = "--seed", defaultValue = "1234", paramLabel = "N",
            description = "Seed of the data order (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: all processors).")
    Integer threads;

    @Option(names = "--resume", description = "Take the runs already finished under OUT/runs/ (same options).")
    boolean resume;

    /** The reduced version's defaults. */
    static final int QUICK_STEPS = 12;
    static final int QUICK_STAGE_STEPS = 4;
    static final double[] QUICK_SCALES = {0.25, 1, 4};

    @Override
    public Integer call() throws Exception {
        if (threads != null && threads < 1) {
            throw new SparsaException.UsageException("--threads must be >= 1, got " + threads);
        }
        if (model == null && !quick) {
            throw new SparsaException.UsageException("--model DIR is required (a dense Llama-family Hugging Face "
                    + "folder, e.g. the tiny-llama trained on brown-train: ./sparsa pretrain --config tiny-llama "
                    + "--out DIR, or scripts/train/pretrain_torch.py on a GPU machine); --quick runs without one");
        }
        if ((text == null) != (valText == null)) {
            throw new SparsaException.UsageException("give --text and --val-text together (or neither: Brown)");
        }
        Path dir = out != null ? out : Path.of("out", "experiment", quick ? "sparsify-quick" : "sparsify");
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new SparsaException.UsageException("--out " + dir + " exists and is not a directory");
        }
        SparsifyExperiment.Options o = new SparsifyExperiment.Options(
                methods != null ? methods : SparsifyExperiment.METHODS,
                steps != null ? steps : quick ? QUICK_STEPS : 300,
                stageSteps != null ? stageSteps : quick ? QUICK_STAGE_STEPS : 100,
                lambdas != null ? lambdas : new float[]{0.35f, 1.75f, 3.5f},
                scales != null ? scales : quick ? QUICK_SCALES : new double[]{0.25, 0.5, 1, 2, 4},
                distill, tolerance, batch != null ? batch : quick ? 8 : 16, microBatches,
                seq != null ? seq : quick ? 128 : 256, lr, warmup != null ? warmup : quick ? 2 : 50, weightDecay,
                1f, seed, quick, resume);
        int vt = valTokens != null ? valTokens : quick ? 8192 : 65536;
        if (vt < 2) {
            throw new SparsaException.UsageException("--val-tokens must be >= 2, got " + vt);
        }
        int n = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        TrainProgress progress = new TrainProgress(System.err);
        Corpus train = text != null ? Corpus.ofTextFile(text) : null;
        Corpus valid = valText != null ? Corpus.ofTextFile(valText) : null;
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
                progress.say((e.cached() ? "cached" : "pretrained") + " dense " + ms.name() + ": " + e.dir()
                        + (e.cached() ? " (pretrained before; delete the folder to train it again)" : ""));
                modelDir = e.dir();
                source = "cached-pretrain";
            }
            if (train == null) {
                train = ProfileCommand.brown("brown-train");
                valid = ProfileCommand.brown("brown-valid");
            }
            SparsifyResults r;
            try (ModelFiles files = ModelFiles.open(modelDir)) {
                ModelConfig cfg = files.config();
                if (!cfg.isDecoder() || files.format().equals("gguf")) {
                    throw new SparsaException.UnsupportedException(modelDir + ": the experiment trains a Llama-family "
                            + "decoder from its Hugging Face safetensors folder; this is " + cfg.architecture()
                            + " (" + files.format() + ")");
                }
                if (cfg.maxPositions() > 0 && o.seq() > cfg.maxPositions()) {
                    throw new SparsaException.UsageException("--seq " + o.seq() + " exceeds the model's max positions "
                            + cfg.maxPositions());
                }
                Tokenizer tok = GenerateCommand.findTokenizer(files, null);
                if (tok == null) {
                    throw new SparsaException.UsageException(modelDir + ": no tokenizer.json beside the model");
                }
                int eos = EosToken.resolve(null, cfg, false, tok, modelDir).id();
                TokenStream ts = TokenStream.of(train, tok, eos);
                EvalWindows val = EvalWindows.of(TokenStream.of(valid, tok, eos, vt), o.seq());
                LlamaWeights start = LlamaWeights.load(cfg, files.weights());
                System.err.printf(Locale.ROOT, "sparsa: experiment sparsify%s: %s, %d run(s), %s: %,d training "
                                + "tokens, %s: %,d validation tokens, %d thread(s)%n", quick ? " --quick" : "",
                        modelDir.getFileName(), o.methods().size(), train.name(), ts.size(), valid.name(),
                        val.stream().size(), n);
                r = new SparsifyExperiment(start, modelDir.getFileName().toString(), source, ts, val, o, dir,
                        progress).run(par);
                progress.bar().finish();
            }
            SparsifyResults done = r;
            ResultsFiles.writeExperiment(r, Main.typed(spec), dir, spec.commandLine().getOut(),
                    ProgressBar.clock(done.seconds()), n);
        }
        return 0;
    }

}
