package dev.sparsa.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sparsa.SparsaException;
import dev.sparsa.calibrate.Calibrator;
import dev.sparsa.eval.EosToken;
import dev.sparsa.eval.EvalResult;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.Evaluator;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.infer.Predictor;
import dev.sparsa.infer.SparseStats;
import dev.sparsa.infer.mode.Calibration;
import dev.sparsa.infer.mode.CalibrationFile;
import dev.sparsa.infer.mode.ModelShape;
import dev.sparsa.infer.mode.SparseMode;
import dev.sparsa.infer.mode.SparseModels;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.model.Activation;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Parallel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code sparsa calibrate}: the calibration file of a sparse mode, from real activations of a corpus. */
@Command(name = "calibrate", mixinStandardHelpOptions = true,
        description = {"Calibrate a sparse mode on a corpus and write its calibration file beside the model "
                + "(sparsa-calibration-MODE.safetensors, which eval, generate, bench, profile and serve find with "
                + "--sparse MODE) or to --out.",
                "Methods: cats (a threshold on |act(gate)| per layer at the target quantile), teal (a magnitude "
                        + "threshold per layer and projection input; --allocation uniform or TEAL's greedy), topk "
                        + "(statistical top-k on the gate pre-activation, z calibrated per layer), predictor (a "
                        + "Deja Vu / PowerInfer predictor per layer trained on the activations, τ for --recall). "
                        + "Then the mode is run on the calibration tokens and its measured sparsity and bits/byte "
                        + "cost are printed (--no-check skips this). See docs/sparse-modes.md."})
public final class CalibrateCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "M",
            description = "A Hugging Face directory, a .safetensors or a .gguf (Llama-family decoder).")
    Path model;

    @Option(names = "--method", required = true, paramLabel = "METHOD",
            description = "cats, teal, topk, predictor (for --sparse predicted) or attribution.")
    String method;

    @Option(names = "--target", paramLabel = "S",
            description = "Target sparsity in (0, 1) (default 0.5). predictor: on a SiLU/GELU model the CATS "
                    + "sparsity that defines its labels (default 0.5); on a ReLU-family model its labels are the "
                    + "exact zeros and no target is taken.")
    Double target;

    @Option(names = "--recall", paramLabel = "R",
            description = "predictor: target recall in (0, 1] on held-out calibration tokens (default 0.99).")
    Double recall;

    @Option(names = "--corpus", paramLabel = "NAME",
            description = "brown-train (the default) or brown-valid, fetched with npm into Sparsa's cache.")
    String corpus;

    @Option(names = "--text", paramLabel = "FILE", description = "Calibrate on this UTF-8 text (one document a line).")
    Path text;

    @Option(names = "--tokens", paramLabel = "N", defaultValue = "20000",
            description = "Calibration tokens: the first N of the corpus's token stream (default ${DEFAULT-VALUE}).")
    long tokens;

    @Option(names = "--ctx", paramLabel = "N",
            description = "Tokens per window (default 256, or the model's max positions if smaller).")
    Integer ctx;

    @Option(names = "--out", paramLabel = "FILE", description = "Write the calibration here instead.")
    Path out;

    @Option(names = "--allocation", paramLabel = "A", defaultValue = "uniform",
            description = "teal: uniform (every projection at the target) or greedy (TEAL's block-wise greedy "
                    + "allocation). Default: ${DEFAULT-VALUE}.")
    String allocation;

    @Option(names = "--greedy-tokens", paramLabel = "N", defaultValue = "512",
            description = "teal greedy: tokens whose block outputs measure the error (default ${DEFAULT-VALUE}).")
    int greedyTokens;

    @Option(names = "--greedy-step", paramLabel = "A", defaultValue = "0.05",
            description = "teal greedy: TEAL's base step size (default ${DEFAULT-VALUE}).")
    double greedyStep;

    @Option(names = "--refine", paramLabel = "N", defaultValue = "2",
            description = "teal: passes that re-estimate the thresholds on the inputs of the sparsified model (0: "
                    + "TEAL's dense distributions only, whose measured sparsity overshoots). Default: "
                    + "${DEFAULT-VALUE}.")
    int refine;

    @Option(names = "--predictor", paramLabel = "KIND", defaultValue = "mlp",
            description = "predictor: mlp (PowerInfer: two layers with ReLU) or lowrank (Deja Vu: two linear "
                    + "layers). Default: ${DEFAULT-VALUE}.")
    String predictor;

    @Option(names = "--rank", paramLabel = "R", defaultValue = "128",
            description = "predictor: hidden width (default ${DEFAULT-VALUE}).")
    int rank;

    @Option(names = "--predictor-dtype", paramLabel = "T", defaultValue = "auto",
            description = "predictor: the dtype its weights run in, f32, bf16 or q8_0; τ is chosen on that "
                    + "predictor's scores (the file keeps the F32 weights). auto: q8_0 where the hidden size and "
                    + "--rank are multiples of 32, else bf16. Default: ${DEFAULT-VALUE}.")
    String predictorDtype;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "8",
            description = "predictor: training epochs (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--lr", paramLabel = "LR", defaultValue = "0.001",
            description = "predictor: AdamW learning rate (default ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--held-out", paramLabel = "F", defaultValue = "0.1",
            description = "predictor: share of the calibration tokens held out to choose τ (default "
                    + "${DEFAULT-VALUE}).")
    double heldOut;

    @Option(names = "--seed", defaultValue = "1234", description = "Seed of every random choice.")
    long seed;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: all processors).")
    Integer threads;

    @Option(names = "--no-check", description = "Do not run the mode on the calibration tokens afterwards.")
    boolean noCheck;

    @Option(names = "--json", description = "Print one JSON object on stdout instead of a table.")
    boolean json;

    /** {@code --predictor-dtype}: null for auto. */
    static DType predictorDtype(String s) {
        return switch (s) {
            case "auto" -> null;
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            case "q8_0" -> DType.Q8_0;
            default -> throw new SparsaException.UsageException("--predictor-dtype must be auto, f32, bf16 or q8_0, "
                    + "got " + s);
        };
    }

    @Override
    public Integer call() throws Exception {
        SparseMode mode = SparseMode.ofMethod(method);
        checkOptions();
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        PrintWriter err = spec.commandLine().getErr();
        try (ModelFiles files = ModelFiles.open(model); Parallel par = new Parallel(nThreads)) {
            ModelConfig cfg = files.config();
            if (!cfg.isDecoder()) {
                throw new SparsaException.UnsupportedException(model + ": calibrate needs a decoder (llama, mistral, "
                        + "qwen2); this is " + cfg.architecture());
            }
            boolean relu = Activation.of(cfg.hiddenAct(), cfg.fatreluThreshold()).zeroBelow();
            if (mode == SparseMode.PREDICTED && relu && target != null) {
                throw new SparsaException.UsageException("--target: a predictor of a ReLU-family model (" + cfg
                        .hiddenAct() + ") learns its exact zeros; give no --target");
            }
            double t = target != null ? target : mode == SparseMode.PREDICTED && relu ? Double.NaN : 0.5;
            Calibrator.Options o = new Calibrator.Options(mode, t, recall != null ? recall : 0.99, allocation,
                    greedyTokens, greedyStep, refine, Predictor.Kind.of(predictor), rank, epochs, lr, heldOut, seed,
                    predictorDtype(predictorDtype));
            if (mode == SparseMode.PREDICTED) {
                o.predictorDtype(cfg.hiddenSize());          // a dtype the shapes do not allow: refused before any work
            }
            int window = window(cfg);
            Tokenizer tok = GenerateCommand.findTokenizer(files, null);
            if (tok == null) {
                throw new SparsaException.UsageException(model + ": no tokenizer.json found (and no vocabulary in "
                        + "the file)");
            }
            EosToken eos = EosToken.resolve(null, cfg, files.format().equals("gguf"), tok, model);
            Corpus c = text != null ? Corpus.ofTextFile(text) : ProfileCommand.brown(corpus != null ? corpus
                    : "brown-train");
            TokenStream stream = TokenStream.of(c, tok, eos.id(), tokens);
            EvalWindows windows = EvalWindows.of(stream, window);
            Path dest = out != null ? out : CalibrationFile.defaultPath(files.location(), mode);
            err.printf(Locale.ROOT, "sparsa: calibrating %s for %s on %s: %d tokens in %d windows of %d, %d "
                            + "thread(s)%n", mode.key(), model, c.name(), stream.size(), windows.count(), window,
                    nThreads);
            err.flush();
            LlamaWeights w = LlamaWeights.load(cfg, files.weights());
            Calibration cal = new Calibrator(w, par, line -> {
                err.println(line);
                err.flush();
            }).run(windows, c.name(), ModelShape.of(cfg, files.weights()), o);
            CalibrationFile.write(dest, cal);
            Map<String, Object> res = new LinkedHashMap<>();
            res.put("calibration", dest.toString());
            res.put("mode", mode.key());
            res.put("target", Double.isNaN(cal.target()) ? null : cal.target());
            res.put("recall", Double.isNaN(cal.recall()) ? null : cal.recall());
            res.put("calibrationSparsity", cal.meanSparsity());
            if (!noCheck) {
                res.putAll(check(w, mode, cal, windows, par));
            }
            PrintWriter pw = spec.commandLine().getOut();
            if (json) {
                pw.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(res));
            } else {
                pw.print(table(res, cal));
            }
            pw.flush();
        }
        return 0;
    }

    /** The mode on the calibration tokens: measured sparsity, bits/byte against dense, and a predictor's recall. */
    static Map<String, Object> check(LlamaWeights w, SparseMode mode, Calibration cal, EvalWindows windows,
                                     Parallel par) {
        ModelConfig cfg = w.config();
        SparseStats stats = new SparseStats(cfg.numLayers());
        EvalResult dense = new Evaluator(LlamaModel.of(w, dev.sparsa.model.DenseFfn::new), par).evaluate(windows);
        EvalResult sparse = new Evaluator(SparseModels.of(w, mode, cal, stats), par).evaluate(windows);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("measuredSparsity", mode == SparseMode.TEAL ? Calibrator.tealSparsity(stats, cfg) : sparse.skipped());
        m.put("skipped", sparse.skipped());
        m.put("denseBitsPerByte", dense.bitsPerByte());
        m.put("bitsPerByte", sparse.bitsPerByte());
        m.put("bitsPerByteCost", sparse.bitsPerByte() / dense.bitsPerByte() - 1);
        if (stats.hasPredictor()) {
            m.put("measuredRecall", stats.recall(-1));
            m.put("measuredPrecision", stats.precision(-1));
            m.put("candidates", stats.candidateShare(-1));
        }
        return m;
    }

    private int window(ModelConfig cfg) {
        int maxPos = cfg.maxPositions();
        int wl = ctx != null ? ctx : maxPos > 0 && maxPos < EvalCommand.DEFAULT_CTX ? maxPos : EvalCommand.DEFAULT_CTX;
        if (maxPos > 0 && wl > maxPos) {
            throw new SparsaException.UsageException("--ctx " + wl + " exceeds the model's max positions (" + maxPos
                    + ")");
        }
        return wl;
    }

    private void checkOptions() {
        if (text != null && corpus != null) {
            throw new SparsaException.UsageException("give --text FILE or --corpus NAME, not both");
        }
        if (target != null && !(target > 0 && target < 1)) {
            throw new SparsaException.UsageException("--target must be in (0, 1), got " + target);
        }
        if (recall != null && !(recall > 0 && recall <= 1)) {
            throw new SparsaException.UsageException("--recall must be in (0, 1], got " + recall);
        }
        if (recall != null && !method.equals("predictor")) {
            throw new SparsaException.UsageException("--recall is for --method predictor");
        }
        if (tokens < 2) {
            throw new SparsaException.UsageException("--tokens must be at least 2, got " + tokens);
        }
        if (ctx != null && ctx < 2) {
            throw new SparsaException.UsageException("--ctx must be at least 2, got " + ctx);
        }
        if (threads != null && threads < 1) {
            throw new SparsaException.UsageException("--threads must be >= 1, got " + threads);
        }
        if (rank < 1 || epochs < 1 || !(lr > 0) || !(heldOut > 0 && heldOut < 1)) {
            throw new SparsaException.UsageException("--rank and --epochs must be >= 1, --lr > 0 and --held-out in "
                    + "(0, 1), got " + rank + ", " + epochs + ", " + lr + ", " + heldOut);
        }
        if (greedyTokens < 2 || !(greedyStep > 0 && greedyStep <= 1)) {
            throw new SparsaException.UsageException("--greedy-tokens must be >= 2 and --greedy-step in (0, 1], got "
                    + greedyTokens + ", " + greedyStep);
        }
    }

    static String table(Map<String, Object> r, Calibration cal) {
        StringBuilder sb = new StringBuilder();
        row(sb, "file", String.valueOf(r.get("calibration")));
        row(sb, "mode", cal.mode().key() + (cal.allocation() != null ? " (" + cal.allocation() + ")" : "")
                + (cal.predictor() != null ? " (" + cal.predictor().kind().key() + " rank " + cal.predictor().rank()
                + ", " + cal.predictor().labels() + " labels)" : ""));
        if (!Double.isNaN(cal.target())) {
            row(sb, "target", fmt(cal.target()));
        }
        if (!Double.isNaN(cal.recall())) {
            row(sb, "recall", fmt(cal.recall()) + " (target)");
        }
        StringBuilder per = new StringBuilder();
        for (Calibration.Layer l : cal.layers()) {
            per.append(per.isEmpty() ? "" : " ").append(fmt(l.sparsity()));
        }
        row(sb, "calibrated", fmt(cal.meanSparsity()) + " sparsity on the activations it was calibrated on; per layer " + per);
        if (cal.mode() == SparseMode.TOPK) {
            StringBuilder g = new StringBuilder();
            for (Calibration.Layer l : cal.layers()) {
                g.append(g.isEmpty() ? "" : " ").append(fmt(l.gaussianSparsity()));
            }
            row(sb, "gaussian z", String.format(Locale.ROOT, "%.4f (the paper's Φ⁻¹) would give %s", cal.gaussianZ(),
                    g));
        }
        if (cal.mode() == SparseMode.PREDICTED) {
            StringBuilder g = new StringBuilder();
            for (Calibration.Layer l : cal.layers()) {
                g.append(g.isEmpty() ? "" : "; ").append(String.format(Locale.ROOT, "recall %.3f precision %.3f",
                        l.recall(), l.precision()));
            }
            row(sb, "held out", g.toString());
        }
        if (r.containsKey("measuredSparsity")) {
            row(sb, "measured", String.format(Locale.ROOT, "%.4f sparsity with --sparse %s on the calibration tokens",
                    (Double) r.get("measuredSparsity"), cal.mode().key()));
            row(sb, "bits/byte", String.format(Locale.ROOT, "%.4f (dense %.4f, %+.2f%%) on the calibration tokens",
                    (Double) r.get("bitsPerByte"), (Double) r.get("denseBitsPerByte"),
                    100 * (Double) r.get("bitsPerByteCost")));
        }
        if (r.containsKey("measuredRecall")) {
            row(sb, "predictor", String.format(Locale.ROOT, "recall %.4f, precision %.4f, candidates %.4f on the "
                            + "calibration tokens", (Double) r.get("measuredRecall"),
                    (Double) r.get("measuredPrecision"), (Double) r.get("candidates")));
        }
        return sb.toString();
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }

    private static void row(StringBuilder sb, String k, String v) {
        sb.append(String.format(Locale.ROOT, "%-11s %s%n", k, v));
    }
}
