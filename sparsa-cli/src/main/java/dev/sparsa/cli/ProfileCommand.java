package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.experiment.AttributionExperiment;
import dev.sparsa.experiment.AttributionResults;
import dev.sparsa.profile.metric.Attribution;
import dev.sparsa.cli.report.ResultsFiles;
import dev.sparsa.cli.report.SummaryTable;
import dev.sparsa.io.Fetch;
import dev.sparsa.io.corpus.BrownCorpus;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.profile.ProfileOptions;
import dev.sparsa.profile.ProfileResults;
import dev.sparsa.profile.ProfiledModel;
import dev.sparsa.profile.Profiler;
import dev.sparsa.profile.ProgressListener;
import dev.sparsa.profile.Windows;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code sparsa profile}: every activation-sparsity metric of a model on a corpus → results.json + report.html. */
@Command(name = "profile", mixinStandardHelpOptions = true,
        description = {"Measure activation sparsity (zero, CETT, PPL-p%%, statistical top-k, dead/dormant neurons, "
                + "PQ Index, predictivity, hardware affinity) of a model on a corpus.",
                "Writes DIR/results.json and DIR/report.html (self-contained) and prints a summary."})
public final class ProfileCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "M",
            description = "a built-in BERT encoder (minilm, minilm-q, e5-small-q; fetched from Maven), an .onnx BERT "
                    + "encoder (F32 or dynamic int8), a Hugging Face directory (Llama-family decoder or BERT "
                    + "encoder), or toy-relu / toy-gelu")
    String model;

    @Option(names = "--text", paramLabel = "FILE", description = "profile on this UTF-8 text instead of a corpus")
    Path text;

    @Option(names = "--corpus", paramLabel = "NAME", defaultValue = "brown-valid",
            description = "brown-valid (default) or brown-train; fetched with npm into Sparsa's cache")
    String corpus;

    @Option(names = "--tokens", paramLabel = "N", defaultValue = "20000",
            description = "token budget (default ${DEFAULT-VALUE}): decoders run the first N tokens of the evaluation "
                    + "protocol's stream (EOS after each line, the last partial window kept, as sparsa eval "
                    + "--max-tokens N); encoders floor(N / context) full windows")
    long tokens;

    @Option(names = "--out", paramLabel = "DIR", description = "output directory (default out/profile)")
    Path out;

    @Option(names = "--threads", paramLabel = "T", description = "worker threads (default: all processors)")
    Integer threads;

    @Option(names = "--seed", defaultValue = "1234", description = "seed of every random choice")
    long seed;

    @Option(names = "--eval-tokens", paramLabel = "N", defaultValue = "512",
            description = "tokens per PPL-p%% / predictor-quality evaluation (default ${DEFAULT-VALUE})")
    int evalTokens;

    @Option(names = "--calibration-tokens", paramLabel = "N", defaultValue = "512",
            description = "positions per layer that calibrate the per-layer CETT thresholds")
    int calibrationTokens;

    @Option(names = "--predictor-tokens", paramLabel = "N", defaultValue = "1024",
            description = "tokens per half (train / held-out) for the predictors")
    int predictorTokens;

    @Option(names = "--cett-tokens", paramLabel = "N", defaultValue = "4096",
            description = "per-token CETT searches per layer at most (O(F*D) each); beyond that every s-th position")
    int cettTokens;

    @Option(names = "--bisection-steps", paramLabel = "N", defaultValue = "4",
            description = "bisection steps per PPL-p%% target after the grid bracket")
    int bisectionSteps;

    @Mixin
    SparseOption sparseOption = new SparseOption();

    @Option(names = "--max-length", paramLabel = "N",
            description = "BERT encoders: windows of N tokens, [CLS] and [SEP] included (default: the tokenizer.json's "
                    + "truncation max_length, else the model's positions)")
    Integer maxLength;

    @Option(names = "--attribution", description = "Also run attribution-based sparse activation at 50/70/80/90%% "
            + "sparsity on --eval-tokens tokens: decoders one backward per window (magnitude, GxO, SNIP, corrected "
            + "GxO; bits/byte), BERT encoders 16 backwards per window along random directions (magnitude, SNIP, "
            + "corrected GxO; cosine to the dense embedding); writes DIR/attribution.json and DIR/attribution.html.")
    boolean attribution;

    @Override
    public Integer call() {
        Path dir = out != null ? out : Path.of("out", "profile");
        if (attribution && (model.strip().equalsIgnoreCase("toy-relu") || model.strip().equalsIgnoreCase("toy-gelu"))) {
            throw new SparsaException.UnsupportedException("--attribution needs a backward, and the toy models have "
                    + "none; use it with a Llama folder or a BERT encoder");
        }
        Result r = run(model, text, corpus, tokens, dir, threads, options(), System.err, sparseOption, maxLength);
        System.out.print(r.summary());
        System.out.println("results: " + r.json().toAbsolutePath());
        System.out.println("report:  " + r.html().toAbsolutePath());
        if (attribution) {
            Path json = attribution(dir);
            System.out.print(ResultsFiles.render(json).markdown());
            System.out.println("attribution: " + json.toAbsolutePath());
        }
        return 0;
    }

    /** The attribution sweep over the first --eval-tokens tokens, in windows of the profile's context. */
    private Path attribution(Path dir) {
        int t = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        Corpus c = text != null ? Corpus.ofTextFile(text) : brown(corpus);
        long t0 = System.nanoTime();
        try (Parallel par = new Parallel(t)) {
            if (!isDecoderFolder()) {
                return encoderAttribution(dir, c, par, t0);
            }
            ModelConfig probe;
            try (var f = dev.sparsa.io.ModelFiles.open(Path.of(model))) {
                probe = f.config();
            }
            int ctx = probe.maxPositions() > 0 ? Math.min(256, probe.maxPositions()) : 256;
            try (NeuronExperimentCommand.Opened m = NeuronExperimentCommand.open(Path.of(model), ctx)) {
                EvalWindows val = NeuronExperimentCommand.windows(c, m, evalTokens, ctx);
                List<Attribution.Score> scores = Attribution.ALL;
                double[] sp = AttributionExperiment.SPARSITIES;
                AttributionResults.Sweep s = AttributionExperiment.llama(m.weights(), val, scores, sp, par,
                        msg -> System.err.println("sparsa: " + msg));
                ModelConfig cfg = m.config();
                AttributionResults r = new AttributionResults(AttributionResults.SCHEMA, new AttributionResults.Setup(
                        Path.of(model).getFileName().toString(), "given", cfg.hiddenAct(), cfg.numLayers(),
                        cfg.intermediateSize(), scores.stream().map(Attribution.Score::id).toList(), sp, "greedy",
                        val.count(), ctx, val.predictedTokens(), false, t), s, null, (System.nanoTime() - t0) / 1e9,
                        List.of("sparsa profile --attribution: the experiment attribution's sweep on the profile's "
                                + "corpus (see sparsa experiment attribution --help)."));
                Path json = dir.resolve("attribution.json");
                ResultsFiles.writeJson(r, "./sparsa profile --attribution", json);
                ResultsFiles.renderReport(json, dir.resolve("attribution.html"));
                return json;
            }
        }
    }

    /** Whether --model is a Llama-family folder (else an encoder: an alias, an .onnx file or a BERT folder). */
    private boolean isDecoderFolder() {
        Path p = Path.of(model.strip());
        if (dev.sparsa.io.onnx.Encoders.byAlias(model.strip()).isPresent() || !java.nio.file.Files.isDirectory(p)) {
            return false;
        }
        try (var f = dev.sparsa.io.ModelFiles.open(p)) {
            return f.config().isDecoder();
        }
    }

    /** Projections per window of the encoder sweep (as {@code sparsa experiment attribution}'s default). */
    static final int ENCODER_PROJECTIONS = 16;

    /**
     * The encoder sweep (mean cosine to the dense sentence embedding) over the first --eval-tokens tokens, in the
     * profile's windows.
     */
    private Path encoderAttribution(Path dir, Corpus c, Parallel par, long t0) {
        if (!(ProfiledModels.open(model, par, null, maxLength, msg -> { })
                instanceof dev.sparsa.profile.adapter.BertProfiledModel b)) {
            throw new SparsaException.UnsupportedException("--attribution: " + model.strip() + " is neither a "
                    + "Llama-family folder nor a BERT encoder");
        }
        Windows w = Windows.of(c, b.tokenizer(), b.contextLength(), Math.max(evalTokens, b.contextLength()));
        List<int[]> seqs = w.windows().stream().map(b::wrap).toList();
        List<Attribution.Score> scores = AttributionExperiment.encoderScores(Attribution.ALL);
        double[] sp = AttributionExperiment.SPARSITIES;
        var cfg = b.model().config();
        int k = Math.min(ENCODER_PROJECTIONS, cfg.hiddenSize());
        AttributionResults.Sweep s = AttributionExperiment.encoder(b.model(), seqs, scores, sp, k, seed, par,
                msg -> System.err.println("sparsa: " + msg));
        int total = seqs.getFirst().length;
        List<String> ids = scores.stream().map(Attribution.Score::id).toList();
        AttributionResults r = new AttributionResults(AttributionResults.SCHEMA, new AttributionResults.Setup(
                b.name(), "given", cfg.hiddenAct(), cfg.numLayers(), cfg.intermediateSize(), ids, sp, "none",
                seqs.size(), total, (long) seqs.size() * total, false, par.threads()), null,
                new AttributionResults.Encoder(b.name(), cfg.hiddenAct(), cfg.numLayers(), cfg.intermediateSize(),
                        ids, seqs.size(), total, (long) seqs.size() * total, k, s), (System.nanoTime() - t0) / 1e9,
                List.of("sparsa profile --attribution on an encoder: the encoder half of sparsa experiment "
                        + "attribution on the profile's corpus and windows.", ExperimentAttributionCommand.ENCODER_NOTE));
        Path json = dir.resolve("attribution.json");
        ResultsFiles.writeJson(r, "./sparsa profile --attribution", json);
        ResultsFiles.renderReport(json, dir.resolve("attribution.html"));
        return json;
    }

    ProfileOptions options() {
        ProfileOptions d = ProfileOptions.defaults();
        return new ProfileOptions(tokens, calibrationTokens, d.cettTargets(), d.activeCett(), d.qualityPercents(),
                evalTokens, bisectionSteps, d.predictorRank(), d.predictorEpochs(), predictorTokens, seed, cettTokens);
    }

    record Result(Path json, Path html, String summary) {
    }

    /** The profile's files: {@code dir/results.json}, {@code dir/report.html} and the summary. */
    static Result run(String modelSpec, Path text, String corpusName, long tokens, Path dir, Integer threads,
                      ProfileOptions opt, PrintStream log, SparseOption sparse) {
        return run(modelSpec, text, corpusName, tokens, dir, threads, opt, log, sparse, null);
    }

    /** As above, an encoder's windows {@code maxLength} tokens long when it is given ({@code --max-length}). */
    static Result run(String modelSpec, Path text, String corpusName, long tokens, Path dir, Integer threads,
                      ProfileOptions opt, PrintStream log, SparseOption sparse, Integer maxLength) {
        int t = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (t < 1) {
            throw new SparsaException.UsageException("--threads must be at least 1, got " + t);
        }
        try (Parallel par = new Parallel(t)) {
            ProfileResults res = measure(modelSpec, text, corpusName, tokens, par, opt, ProgressBar.stderr(), log,
                    sparse, maxLength);
            Path json = dir.resolve("results.json");
            ResultsFiles.writeJson(res, json);
            Path html = ResultsFiles.renderReport(json, dir.resolve("report.html"));
            return new Result(json, html, SummaryTable.render(ResultsFiles.readJson(json)));
        }
    }

    /** The profile itself, shared by {@code profile} and {@code demo}. */
    static ProfileResults measure(String modelSpec, Path text, String corpusName, long tokens, Parallel par,
                                  ProfileOptions opt, ProgressListener progress, PrintStream log) {
        return measure(modelSpec, text, corpusName, tokens, par, opt, progress, log, null);
    }

    /** As above, a decoder in the {@code sparse} mode (null: dense): the metrics see the mode's activations. */
    static ProfileResults measure(String modelSpec, Path text, String corpusName, long tokens, Parallel par,
                                  ProfileOptions opt, ProgressListener progress, PrintStream log,
                                  SparseOption sparse) {
        return measure(modelSpec, text, corpusName, tokens, par, opt, progress, log, sparse, null);
    }

    /** As above; an encoder's windows are {@code maxLength} tokens long when it is given, with a notice of which. */
    static ProfileResults measure(String modelSpec, Path text, String corpusName, long tokens, Parallel par,
                                  ProfileOptions opt, ProgressListener progress, PrintStream log,
                                  SparseOption sparse, Integer maxLength) {
        if (tokens < 1) {
            throw new SparsaException.UsageException("--tokens must be at least 1, got " + tokens);
        }
        Corpus corpus = text != null ? Corpus.ofTextFile(text) : brown(corpusName);
        ProfiledModel m = ProfiledModels.open(modelSpec, par, sparse, maxLength, msg -> log.println("sparsa: " + msg));
        // decoders: the evaluation protocol, so that CE / PPL / bits-per-byte equal sparsa eval's
        Windows w = m.isDecoder() ? Windows.decoder(corpus, m.tokenizer(), m.eosId(), m.contextLength(), tokens)
                : Windows.of(corpus, m.tokenizer(), m.contextLength(), tokens);
        log.printf("sparsa: profiling %s on %s: %d tokens in %d windows of %d, %d thread(s)%n", m.name(),
                corpus.name(), w.tokens(), w.windows().size(), w.contextLength(), par.threads());
        return new Profiler(m, opt, par, progress).run(w, corpus.name(), corpus.bytes());
    }

    static Corpus brown(String name) {
        BrownCorpus.Split split = switch (name) {
            case "brown-valid" -> BrownCorpus.Split.VALID;
            case "brown-train" -> BrownCorpus.Split.TRAIN;
            default -> throw new SparsaException.UsageException("--corpus " + name
                    + ": unknown corpus; use brown-valid or brown-train, or --text FILE");
        };
        return BrownCorpus.load(Fetch.defaultCache(), split);
    }
}
