package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.experiment.RedoExperiment;
import dev.sparsa.io.Fetch;
import dev.sparsa.io.corpus.BrownCorpus;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.spec.ModelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/** {@code sparsa experiment redo}: ReLU pretraining on Brown genres one after another, with and without ReDo. */
@Command(name = "redo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Pretrain a ReLU Llama from scratch on a non-stationary stream (Brown genres one after "
                + "another) twice from the same initial weights, without and with ReDo (recycle tau-dormant FFN "
                + "neurons); report the dormant ratio at each tau over the steps and every genre's validation "
                + "bits/byte at the end of each phase.",
                "The model folder gives the tokenizer and the shape (its activation is replaced by relu, its weights "
                        + "are not used). --quick: micro-llama, genres a,j,k, 60 steps each of 8 x 64 tokens; default genres a,g,j,k,n, 150 steps each of "
                        + "16 x 128."})
public final class ExperimentRedoCommand extends NeuronExperimentCommand {

    @Option(names = "--genres", split = ",", paramLabel = "G", order = 4,
            description = "Brown genres in training order, by letter (default a,g,j,k,n; --quick a,j,k).")
    List<String> genres;

    @Option(names = "--phase-text", paramLabel = "FILE", order = 5,
            description = "Instead of Brown genres: one phase per file (repeat the option); lines i %% 10 == 0 "
                    + "are that phase's validation documents.")
    List<Path> phaseTexts;

    @Option(names = "--steps-per-phase", paramLabel = "N", order = 6,
            description = "Optimizer steps per genre (default 150; --quick 60).")
    Integer stepsPerPhase;

    @Option(names = "--taus", split = ",", paramLabel = "T", order = 7,
            description = "The tau of the reported dormant ratios (default 0,0.025,0.1).")
    double[] taus;

    @Option(names = "--tau", defaultValue = "0.1", paramLabel = "T", order = 8,
            description = "ReDo's tau: neurons with s_i <= tau are recycled (default ${DEFAULT-VALUE}).")
    double tau;

    @Option(names = "--redo-every", paramLabel = "N", order = 9,
            description = "Recycle every N steps (default 25; --quick 10).")
    Integer redoEvery;

    @Option(names = "--init-std", defaultValue = "0.02", paramLabel = "S", order = 10,
            description = "sigma of the initial weights and of ReDo's re-drawn rows (default ${DEFAULT-VALUE}).")
    double initStd;

    private RedoExperiment.Options options;

    @Override
    String name() {
        return "redo";
    }

    @Override
    String modelHint() {
        return "its tokenizer and shape are used, e.g. the tiny-llama trained on brown-train";
    }

    @Override
    boolean trains() {
        return false;
    }

    @Override
    void check() {
        if (genres != null && phaseTexts != null) {
            throw new SparsaException.UsageException("give --genres or --phase-text, not both");
        }
        if (x.text != null || x.valText != null) {
            throw new SparsaException.UsageException("redo trains and validates on genres: use --genres or "
                    + "--phase-text, not --text / --val-text");
        }
        options = new RedoExperiment.Options(pick(stepsPerPhase, x.quick, 60, 150),
                taus != null ? taus : new double[]{0, 0.025, 0.1}, pick(redoEvery, x.quick, 10, 25), tau, initStd,
                pick(x.batch, x.quick, 8, 16), pick(x.seq, x.quick, 64, 128), pick(x.lr, x.quick, 3e-3f, 2e-3f),
                pick(x.warmup, x.quick, 5, 20), x.weightDecay, x.seed, x.quick, x.resume);
        if (genres != null) {
            if (new LinkedHashSet<>(genres).size() != genres.size()) {
                throw new SparsaException.UsageException("--genres: a genre is listed twice");
            }
            genres.forEach(BrownCorpus.Genre::of);
        }
    }

    @Override
    Object run(Context c) {
        int vt = pick(x.valTokens, x.quick, 4096, 16384);
        try (Opened m = open(c.modelDir(), options.seq())) {
            List<RedoExperiment.Phase> phases = new ArrayList<>();
            if (phaseTexts != null) {
                for (Path p : phaseTexts) {
                    Corpus all = Corpus.ofTextFile(p);
                    List<String> tr = new ArrayList<>();
                    List<String> va = new ArrayList<>();
                    for (int i = 0; i < all.lines().size(); i++) {
                        (i % 10 == 0 ? va : tr).add(all.lines().get(i));
                    }
                    if (va.isEmpty() || tr.isEmpty()) {
                        throw new SparsaException.UsageException(p + ": a phase text needs at least 2 lines");
                    }
                    phases.add(phase(p.getFileName().toString(), p.toString(), new Corpus(all.name() + "-train", tr),
                            new Corpus(all.name() + "-valid", va), m, vt));
                }
            } else {
                for (String g : genres != null ? genres : x.quick ? List.of("a", "j", "k")
                        : List.of("a", "g", "j", "k", "n")) {
                    BrownCorpus.Genre ge = BrownCorpus.Genre.of(g);
                    if (ge.validDocuments() == 0) {
                        throw new SparsaException.UsageException("--genres: genre " + ge.letter() + " ("
                                + ge.title() + ") has no validation documents; choose another");
                    }
                    phases.add(phase(ge.letter(), ge.title(),
                            BrownCorpus.load(Fetch.defaultCache(), BrownCorpus.Split.TRAIN, ge),
                            BrownCorpus.load(Fetch.defaultCache(), BrownCorpus.Split.VALID, ge), m, vt));
                }
            }
            ModelConfig relu = m.config().withActivation("relu", 0f);
            System.err.printf("sparsa: experiment redo%s: %s shape (relu, fresh weights), %d genre(s), %d thread(s)%n",
                    x.quick ? " --quick" : "", c.modelDir().getFileName(), phases.size(), c.par().threads());
            return new RedoExperiment(relu, c.modelDir().getFileName().toString(), c.modelSource(), phases, options,
                    c.out(), c.progress()).run(c.par());
        }
    }

    private RedoExperiment.Phase phase(String name, String title, Corpus train, Corpus valid, Opened m, int vt) {
        TokenStream ts = TokenStream.of(train, m.tokenizer(), m.eos());
        EvalWindows val = EvalWindows.of(TokenStream.of(valid, m.tokenizer(), m.eos(), vt), options.seq());
        return new RedoExperiment.Phase(name, title, ts, val);
    }
}
