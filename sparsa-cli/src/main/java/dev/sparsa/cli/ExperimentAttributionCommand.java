package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.experiment.AttributionExperiment;
import dev.sparsa.experiment.AttributionResults;
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
                "--quick: the cached micro-llama, 4096 validation tokens in windows of 128; default 16384 in windows of 256.",
                "The MiniLM (BERT encoder) half of the issue needs a BERT backward, which Sparsa does not have: "
                        + "--model minilm is refused."})
public final class ExperimentAttributionCommand extends NeuronExperimentCommand {

    @Option(names = "--sparsities", split = ",", paramLabel = "S,...", order = 4,
            description = "Shares of FFN neurons deactivated per token, each in [0, 1) (default 0.5,0.7,0.8,0.9).")
    double[] sparsities;

    @Option(names = "--scores", split = ",", paramLabel = "S,...", order = 5,
            description = "Scores: magnitude, gxo, snip, cor-gxo (default all).")
    List<String> scores;

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
        if (x.model != null && x.model.toString().equals("minilm")) {
            throw new SparsaException.UnsupportedException("--model minilm: attribution needs ∂L/∂h, and Sparsa has "
                    + "no backward for the BERT encoder (the trainer's backward is the Llama decoder's); run it on a "
                    + "Llama folder");
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
        try (Opened m = open(c.modelDir(), seq)) {
            EvalWindows val = windows(validCorpus(c), m, vt, seq);
            System.err.printf("sparsa: experiment attribution%s: %s (%s), %d windows of %d, %d thread(s)%n",
                    x.quick ? " --quick" : "", c.modelDir().getFileName(), m.config().hiddenAct(), val.count(), seq,
                    c.par().threads());
            AttributionResults.Sweep s = AttributionExperiment.llama(m.weights(), val, sc, sp, c.par(),
                    c.progress()::say);
            var cfg = m.config();
            return new AttributionResults(AttributionResults.SCHEMA, new AttributionResults.Setup(
                    c.modelDir().getFileName().toString(), c.modelSource(), cfg.hiddenAct(), cfg.numLayers(),
                    cfg.intermediateSize(), sc.stream().map(Attribution.Score::id).toList(), sp, "greedy",
                    val.count(), seq, val.predictedTokens(), x.quick, c.par().threads()), s,
                    (System.nanoTime() - t0) / 1e9, List.of(
                    "Per token and layer the ⌊s·F⌋ neurons with the lowest score have h_i set to 0, in every layer at "
                            + "once, the scores taken from the dense pass (one shot).",
                    "Attribution: ∂L/∂h from one backward of the dense model, L the cross-entropy against its own "
                            + "greedy next-token predictions; gxo = h·∂F/∂h with F = −L, snip = |gxo|, cor-gxo = gxo + "
                            + "½|h|·‖∂F/∂h‖₂ (the paper's corrective term).",
                    "Not run: the MiniLM (BERT encoder) half, with embedding cosine as the quality: Sparsa has no "
                            + "backward for BERT."));
        }
    }
}
