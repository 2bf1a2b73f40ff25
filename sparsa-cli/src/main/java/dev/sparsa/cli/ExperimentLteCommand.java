package dev.sparsa.cli;

import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.experiment.LteExperiment;
import dev.sparsa.io.corpus.Corpus;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sparsa experiment lte}: LTE's FLOPs against bits/byte at several η and τ, against ProSparse. */
@Command(name = "lte", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"LTE (Learn To be Efficient): group each FFN's neurons into experts (balanced k-means on the "
                + "gate rows), train sigmoid routers with LTE's efficiency loss (stage 1, soft scores), then fine-tune "
                + "the model under threshold-based hard expert selection with the routers fixed (stage 2); once per "
                + "efficiency coefficient eta. Each model is evaluated at each threshold tau with the expert-granular "
                + "kernel; ProSparse at each lambda (same data and steps) at FATReLU thresholds on its own activations. "
                + "Reports bits/byte on brown-valid against the FFN multiply-adds counted per token, and LTE against "
                + "ProSparse at equal computed share. The LTE models are saved with their routers in OUT/models/ "
                + "(--sparse lte runs them).",
                "--quick: the cached micro-llama, experts of 16, 40 + 40 steps of 8 x 64 tokens, eta 0.5,4; "
                        + "default experts of 32, 150 + 150 steps of 16 x 128, eta 0.5,2,8."})
public final class ExperimentLteCommand extends NeuronExperimentCommand {

    @Option(names = "--etas", split = ",", paramLabel = "E", order = 4,
            description = "LTE's efficiency loss coefficients eta, one run each (default 0.5,2,8; --quick 0.5,4).")
    double[] etas;

    @Option(names = "--taus", split = ",", paramLabel = "T", order = 5,
            description = "Thresholds each LTE model is evaluated at (training uses 0.5, the paper's; default "
                    + "0.3,0.5,0.7).")
    double[] taus;

    @Option(names = "--lambdas", split = ",", paramLabel = "L", order = 6,
            description = "ProSparse's final L1 coefficients, one run each (default 0.01,0.05; --quick 0.05).")
    double[] lambdas;

    @Option(names = "--expert-size", paramLabel = "S", order = 7,
            description = "Neurons per expert (default 32, the paper's; --quick 16).")
    Integer expertSize;

    @Option(names = "--stage1-steps", paramLabel = "N", order = 8,
            description = "Stage 1 steps: routers and model with soft scores and the efficiency loss (default 150; "
                    + "--quick 40).")
    Integer stage1;

    @Option(names = "--stage2-steps", paramLabel = "N", order = 9,
            description = "Stage 2 steps: hard selection, routers fixed, model fine-tuned (default 150; --quick 40).")
    Integer stage2;

    @Option(names = "--separability", defaultValue = "0", paramLabel = "C", order = 10,
            description = "LTE's separability loss coefficient (pushes scores away from tau; default "
                    + "${DEFAULT-VALUE}).")
    float separability;

    @Option(names = "--router-lr", defaultValue = "0.01", paramLabel = "LR", order = 11,
            description = "Learning rate of the routers' Adam (default ${DEFAULT-VALUE}).")
    float routerLr;

    private LteExperiment.Options options;

    @Override
    String name() {
        return "lte";
    }

    @Override
    void check() {
        int s1 = pick(stage1, x.quick, 40, 150);
        int s2 = pick(stage2, x.quick, 40, 150);
        options = new LteExperiment.Options(pick(expertSize, x.quick, 16, 32), s1, s2,
                etas != null ? etas : x.quick ? new double[]{0.5, 4} : new double[]{0.5, 2, 8}, separability,
                taus != null ? taus : new double[]{0.3, 0.5, 0.7}, routerLr,
                lambdas != null ? lambdas : x.quick ? new double[]{0.05} : new double[]{0.01, 0.05},
                pick(x.batch, x.quick, 8, 16), pick(x.seq, x.quick, 64, 128), pick(x.lr, x.quick, 2e-3f, 1e-3f),
                pick(x.warmup, x.quick, 5, 20), x.weightDecay, x.seed, x.quick, x.resume);
    }

    @Override
    Object run(Context c) {
        int vt = pick(x.valTokens, x.quick, 4096, 32768);
        Corpus train = trainCorpus(c);
        Corpus valid = validCorpus(c);
        try (Opened m = open(c.modelDir(), options.seq())) {
            TokenStream ts = TokenStream.of(train, m.tokenizer(), m.eos());
            EvalWindows val = windows(valid, m, vt, options.seq());
            LteExperiment lte = new LteExperiment(m.weights(), c.modelDir().getFileName().toString(), c.modelSource(),
                    c.modelDir(), ts, val, options, c.out(), c.progress());
            System.err.printf("sparsa: experiment lte%s: %s (%s), %,d training tokens, %,d validation tokens, %d "
                            + "thread(s)%n", x.quick ? " --quick" : "", c.modelDir().getFileName(),
                    m.config().hiddenAct(), ts.size(), val.predictedTokens(), c.par().threads());
            return lte.run(c.par());
        }
    }
}
