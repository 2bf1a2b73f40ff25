package dev.sparsa.cli;

import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.experiment.PruneExperiment;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.model.Activation;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.SparsaException;
import dev.sparsa.spec.ModelConfig;
import picocli.CommandLine.Option;

import java.lang.foreign.Arena;
import java.util.List;

/** What {@code experiment ap} and {@code experiment sap} share: the pruning rounds, the data, the model. */
abstract class ExperimentPruneCommand extends NeuronExperimentCommand {

    @Option(names = "--rounds", paramLabel = "R", order = 10, description = "Pruning rounds (each run trains "
            + "(R + 1) x E steps; default: the experiment's).")
    Integer rounds;

    @Option(names = "--round-steps", paramLabel = "E", order = 11, description = "Training steps per round.")
    Integer roundSteps;

    PruneExperiment.Options options;

    /** The experiment's options from the common ones. */
    abstract PruneExperiment.Options options();

    /** Steps of relu training that turn a dense SiLU start into a ReLU one (ap only; 0: none). */
    int convertSteps(Context c, ModelConfig cfg) {
        return 0;
    }

    @Override
    void check() {
        options = options();
    }

    @Override
    Object run(Context c) {
        int vt = pick(x.valTokens, x.quick, 4096, 32768);
        Corpus train = trainCorpus(c);
        Corpus valid = validCorpus(c);
        try (Opened m = open(c.modelDir(), options.seq()); Arena arena = Arena.ofShared()) {
            TokenStream ts = TokenStream.of(train, m.tokenizer(), m.eos());
            EvalWindows val = windows(valid, m, vt, options.seq());
            LlamaWeights start = m.weights();
            String source = c.modelSource();
            int convert = convertSteps(c, m.config());
            if (convert > 0) {
                c.progress().label("relu conversion");
                c.progress().say("converting " + c.modelDir().getFileName() + " (" + m.config().hiddenAct() + ") to "
                        + "ReLU: " + convert + " steps of sparsify --method relu");
                start = PruneExperiment.reluConversion(start, ts, options, convert, arena, c.par(), c.progress());
                c.progress().bar().finish();
                source += "+relu-" + convert;
            }
            System.err.printf("sparsa: experiment %s%s: %s (%s), %,d training tokens, %,d validation tokens, %d "
                            + "thread(s)%n", name(), x.quick ? " --quick" : "", c.modelDir().getFileName(),
                    start.config().hiddenAct(), ts.size(), val.predictedTokens(), c.par().threads());
            return new PruneExperiment(name(), start, c.modelDir().getFileName().toString(), source, ts, val,
                    options, c.out(), c.progress()).run(c.par());
        }
    }

    /** The AP experiment. */
    @picocli.CommandLine.Command(name = "ap", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Prune the FFN weights of a ReLU-family Llama to each target share (50/70/90%%) with each "
                    + "criterion (magnitude, Wanda), iteratively with fine-tuning, alone and with AP (Activate-while-"
                    + "Pruning: a share of each round taken from gate weights with negative contribution that moved "
                    + "least); report the dynamic dead-neuron rate over the steps and bits/byte at each share.",
                    "The model must be of the ReLU family (e.g. made by ./sparsa sparsify --method relu or "
                            + "prosparse); --quick without --model converts the cached micro-llama with 40 relu "
                            + "steps, and --convert-steps N does the same for a given SiLU model.",
                    "--quick: 2 rounds x 8 steps per run, batch 8 x 64, 4096 validation tokens; default 3 x 25, 16 x 128, "
                            + "32768."})
    public static final class ApCommand extends ExperimentPruneCommand {
        @Option(names = "--ratios", split = ",", paramLabel = "S", order = 4,
                description = "Target pruned shares of the FFN weights, each in [0, 1) (default 0.5,0.7,0.9).")
        double[] ratios;

        @Option(names = "--pruners", split = ",", paramLabel = "M", order = 5,
                description = "Base criteria: magnitude, wanda (default both).")
        List<String> pruners;

        @Option(names = "--ap-share", defaultValue = "0.1", paramLabel = "A", order = 6,
                description = "AP's share of each round's pruning (default ${DEFAULT-VALUE}: the authors' 2 of 20%%).")
        double apShare;

        @Option(names = "--convert-steps", paramLabel = "N", order = 7,
                description = "Turn a SiLU start into ReLU first with N steps of relu training (default: 40 for the "
                        + "--quick cached model, else none: a SiLU model is refused).")
        Integer convert;

        @Override
        String name() {
            return "ap";
        }

        @Override
        String modelHint() {
            return "a ReLU-family Llama folder, e.g. one made by ./sparsa sparsify --method prosparse";
        }

        @Override
        PruneExperiment.Options options() {
            if (convert != null && convert < 1) {
                throw new SparsaException.UsageException("--convert-steps must be >= 1, got " + convert);
            }
            return new PruneExperiment.Options(ratios != null ? ratios : new double[]{0.5, 0.7, 0.9},
                    pruners != null ? pruners : List.of("magnitude", "wanda"), apShare, 0.2,
                    pick(rounds, x.quick, 2, 3), pick(roundSteps, x.quick, 8, 25), pick(x.batch, x.quick, 8, 16),
                    pick(x.seq, x.quick, 64, 128), pick(x.lr, x.quick, 1e-3f, 1e-3f),
                    pick(x.warmup, x.quick, 2, 10), x.weightDecay, x.seed, x.quick, x.resume);
        }

        @Override
        int convertSteps(Context c, ModelConfig cfg) {
            if (Activation.of(cfg.hiddenAct(), cfg.fatreluThreshold()).zeroBelow()) {
                return 0;
            }
            if (convert != null) {
                return convert;
            }
            if (c.modelSource().equals("cached-pretrain")) {
                return 40;
            }
            throw new SparsaException.UsageException("--model " + c.modelDir() + ": experiment ap needs a ReLU-family "
                    + "model (dead neurons are the exact zeros of act(gate)); this one is " + cfg.hiddenAct()
                    + ": convert it first (./sparsa sparsify --method relu, or prosparse, --model DIR --out RELU_DIR) "
                    + "or add --convert-steps N");
        }
    }

    /** The SAP experiment. */
    @picocli.CommandLine.Command(name = "sap", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"SAP (sparsity-informed adaptive pruning: each round's amount from the PQ Index of each FFN "
                    + "matrix) against fixed-ratio iterative magnitude pruning (20%% a round), both rewinding to the "
                    + "starting weights after each prune; report bits/byte against the FFN weights remaining and the "
                    + "PQ Index curve.",
                    "--quick: 4 rounds x 10 steps, batch 8 x 64, 4096 validation tokens; default 6 x 30, 16 x 128, 32768."})
    public static final class SapCommand extends ExperimentPruneCommand {
        @Option(names = "--imp-ratio", defaultValue = "0.2", paramLabel = "P", order = 4,
                description = "The baseline's share pruned per round, in [0, 1) (default ${DEFAULT-VALUE}).")
        double impRatio;

        @Override
        String name() {
            return "sap";
        }

        @Override
        PruneExperiment.Options options() {
            return new PruneExperiment.Options(new double[]{0.5}, List.of("magnitude"), 0, impRatio,
                    pick(rounds, x.quick, 4, 6), pick(roundSteps, x.quick, 10, 30), pick(x.batch, x.quick, 8, 16),
                    pick(x.seq, x.quick, 64, 128), pick(x.lr, x.quick, 1e-3f, 1e-3f),
                    pick(x.warmup, x.quick, 2, 10), x.weightDecay, x.seed, x.quick, x.resume);
        }
    }
}
