package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.experiment.cl.ClExperiment;
import dev.sparsa.experiment.cl.TaskSequence;
import dev.sparsa.io.Fetch;
import dev.sparsa.io.corpus.BrownCorpus;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.train.Continual;
import dev.sparsa.train.method.Clnp;
import dev.sparsa.train.method.SparCl;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * What {@code sparsa experiment clnp|sparcl} share: the task sequence (Brown genre groups or given texts), the
 * sequence's training options and the baselines (sequential, joint, replay) that run beside the method.
 */
abstract class ExperimentClCommand extends NeuronExperimentCommand {

    @Option(names = "--tasks", split = ",", paramLabel = "T", order = 4,
            description = "The task sequence: group names (press = a+b+c, general = d+e+f+g+h, learned = j, fiction "
                    + "= k+l+m+n+p+r) or Brown genre letters joined by + (default press,general,learned,fiction; "
                    + "--quick press,learned,fiction).")
    List<String> tasks;

    @Option(names = "--task-text", paramLabel = "FILE", order = 5,
            description = "Instead of Brown: one task per file (repeat the option); lines i %% 10 == 0 are that "
                    + "task's validation documents.")
    List<Path> taskTexts;

    @Option(names = "--epochs", paramLabel = "N", order = 6,
            description = "Passes over each task's window pool (default 4; --quick 3).")
    Integer epochs;

    @Option(names = "--windows-per-task", paramLabel = "N", order = 7,
            description = "Training windows of seq + 1 tokens in each task's pool (default 256; --quick 96).")
    Integer windows;

    @Option(names = "--replay-rows", paramLabel = "N", order = 8,
            description = "Buffer rows added to each batch of the replay runs (default 4; --quick 2).")
    Integer replayRows;

    @Option(names = "--buffer", paramLabel = "N", order = 9,
            description = "Windows each finished task leaves in the replay buffer (default 32; --quick 16).")
    Integer buffer;

    @Option(names = "--init-std", defaultValue = "0.02", paramLabel = "S", order = 10,
            description = "sigma of the fresh initial weights (default ${DEFAULT-VALUE}).")
    double initStd;

    ClExperiment.Options options;
    List<TaskSequence.Spec> specs;

    @Override
    String modelHint() {
        return "its tokenizer and shape are used, e.g. the tiny-llama trained on brown-train";
    }

    @Override
    boolean trains() {
        return false;
    }

    /** The method's own checks and its factory (a fresh one per run). */
    abstract Supplier<Continual> method();

    /** The method's options for the results. */
    abstract Map<String, String> methodOptions();

    /** Whether the method trains on the replay batches. */
    abstract boolean replays();

    @Override
    final void check() {
        if (tasks != null && taskTexts != null) {
            throw new SparsaException.UsageException("give --tasks or --task-text, not both");
        }
        if (x.text != null || x.valText != null) {
            throw new SparsaException.UsageException(name() + " trains and validates on its tasks: use --tasks or "
                    + "--task-text, not --text / --val-text");
        }
        if (taskTexts != null && taskTexts.size() < 2) {
            throw new SparsaException.UsageException("--task-text: a sequence needs at least 2 tasks, got "
                    + taskTexts.size());
        }
        options = new ClExperiment.Options(pick(windows, x.quick, 96, 256), pick(epochs, x.quick, 3, 4),
                pick(x.batch, x.quick, 8, 16), pick(replayRows, x.quick, 2, 4), pick(buffer, x.quick, 16, 32),
                pick(x.seq, x.quick, 64, 128), pick(x.lr, x.quick, 3e-3f, 2e-3f), pick(x.warmup, x.quick, 5, 10),
                x.weightDecay, initStd, x.seed, x.quick, x.resume);
        if (taskTexts == null) {
            specs = TaskSequence.parse(tasks != null ? tasks : x.quick ? TaskSequence.QUICK : TaskSequence.DEFAULT);
        }
        method().get();                                                       // the method's own checks
    }

    @Override
    final Object run(Context c) {
        int vt = pick(x.valTokens, x.quick, 2048, 8192);
        try (Opened m = open(c.modelDir(), options.seq())) {
            List<TaskSequence.Task> ts = new ArrayList<>();
            if (taskTexts != null) {
                for (Path p : taskTexts) {
                    Corpus all = Corpus.ofTextFile(p);
                    List<String> tr = new ArrayList<>();
                    List<String> va = new ArrayList<>();
                    for (int i = 0; i < all.lines().size(); i++) {
                        (i % 10 == 0 ? va : tr).add(all.lines().get(i));
                    }
                    if (va.isEmpty() || tr.isEmpty()) {
                        throw new SparsaException.UsageException(p + ": a task text needs at least 2 lines");
                    }
                    ts.add(task(p.getFileName().toString(), p.toString(), new Corpus(all.name() + "-train", tr),
                            new Corpus(all.name() + "-valid", va), m, vt));
                }
            } else {
                for (TaskSequence.Spec s : specs) {
                    List<String> tr = new ArrayList<>();
                    List<String> va = new ArrayList<>();
                    for (BrownCorpus.Genre g : s.genres()) {
                        tr.addAll(BrownCorpus.load(Fetch.defaultCache(), BrownCorpus.Split.TRAIN, g).lines());
                        va.addAll(BrownCorpus.load(Fetch.defaultCache(), BrownCorpus.Split.VALID, g).lines());
                    }
                    ts.add(task(s.name(), s.genreLetters(), new Corpus("brown-" + s.name() + "-train", tr),
                            new Corpus("brown-" + s.name() + "-valid", va), m, vt));
                }
            }
            ModelConfig relu = m.config().withActivation("relu", 0f);
            System.err.printf("sparsa: experiment %s%s: %s shape (relu, fresh weights), %d task(s), %d thread(s)%n",
                    name(), x.quick ? " --quick" : "", c.modelDir().getFileName(), ts.size(), c.par().threads());
            return new ClExperiment(name(), relu, c.modelDir().getFileName().toString(), c.modelSource(), ts, options,
                    method(), replays(), methodOptions(), c.out(), c.progress()).run(c.par());
        }
    }

    private TaskSequence.Task task(String name, String genres, Corpus train, Corpus valid, Opened m, int vt) {
        TokenStream tr = TokenStream.of(train, m.tokenizer(), m.eos());
        EvalWindows val = EvalWindows.of(TokenStream.of(valid, m.tokenizer(), m.eos(), vt), options.seq());
        return new TaskSequence.Task(name, genres, tr, val);
    }

    /** {@code sparsa experiment clnp}. */
    @Command(name = "clnp", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Continual learning via neural pruning (Golkar et al. 2019) on a sequence of Brown genre "
                    + "groups, beside sequential fine-tuning, joint training and replay from the same fresh ReLU "
                    + "weights: train a task with L1 on the FFN activations, prune the neurons least active on its "
                    + "validation text within the graceful-forgetting tolerance, freeze the rest, train the next task "
                    + "on the free neurons; report the accuracy matrix (bits/byte), forgetting, BWT, FWT, free "
                    + "neurons and reuse.",
                    "The model folder gives the tokenizer and the shape (its weights are not used). --quick: "
                            + "micro-llama, tasks press, learned, fiction, 3 epochs of 96 windows of 8 x 64 tokens."})
    static final class ClnpCommand extends ExperimentClCommand {
        @Option(names = "--lambda", defaultValue = "0.01", paramLabel = "L", order = 11,
                description = "lambda of the L1 term on the FFN activations (default ${DEFAULT-VALUE}).")
        float lambda;

        @Option(names = "--graceful", defaultValue = "0.01", paramLabel = "E", order = 12,
                description = "Graceful forgetting: bits/byte a task may lose to pruning (default ${DEFAULT-VALUE}).")
        double graceful;

        @Option(names = "--freeze-ratio", defaultValue = "0.5", paramLabel = "R", order = 13,
                description = "The largest share of a layer's free neurons one task may claim and freeze, in [0, 1] "
                        + "(default ${DEFAULT-VALUE}).")
        double freezeRatio;

        @Override
        String name() {
            return "clnp";
        }

        @Override
        Supplier<Continual> method() {
            new Clnp(lambda, graceful, freezeRatio, initStd, x.seed);
            return () -> new Clnp(lambda, graceful, freezeRatio, initStd, x.seed);
        }

        @Override
        Map<String, String> methodOptions() {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("lambda", Float.toString(lambda));
            m.put("graceful", Double.toString(graceful));
            m.put("freezeRatio", Double.toString(freezeRatio));
            return m;
        }

        @Override
        boolean replays() {
            return false;
        }
    }

    /** {@code sparsa experiment sparcl}. */
    @Command(name = "sparcl", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"SparCL (Wang et al. 2022) on a sequence of Brown genre groups, on top of the replay "
                    + "baseline, beside sequential fine-tuning, joint training and replay from the same fresh ReLU "
                    + "weights: task-aware dynamic weight masking (TDM), dynamic gradient masking (DGM) and dynamic "
                    + "data removal (DDR); report the accuracy matrix (bits/byte), forgetting, BWT, FWT and the "
                    + "counted training multiply-adds against replay.",
                    "The model folder gives the tokenizer and the shape (its weights are not used). --quick: "
                            + "micro-llama, tasks press, learned, fiction, 3 epochs of 96 windows of 8 (+2 replay) x "
                            + "64 tokens."})
    static final class SparClCommand extends ExperimentClCommand {
        @Option(names = "--sparsity", defaultValue = "0.75", paramLabel = "S", order = 11,
                description = "TDM: share of every layer matrix held at zero (default ${DEFAULT-VALUE}).")
        double sparsity;

        @Option(names = "--update-every", defaultValue = "10", paramLabel = "N", order = 12,
                description = "Steps between mask updates (and one at each task's start; default ${DEFAULT-VALUE}).")
        int every;

        @Option(names = "--update-share", defaultValue = "0.1", paramLabel = "P", order = 13,
                description = "TDM: share of the active weights dropped and regrown per update (default "
                        + "${DEFAULT-VALUE}).")
        double updateShare;

        @Option(names = "--alpha", defaultValue = "1", paramLabel = "A", order = 14,
                description = "Weight of the gradient term of CWI = |w| + alpha |grad| (default ${DEFAULT-VALUE}).")
        double alpha;

        @Option(names = "--grad-keep", defaultValue = "0.8", paramLabel = "G", order = 15,
                description = "DGM: share of the active weights whose gradient is kept (default ${DEFAULT-VALUE}).")
        double gradKeep;

        @Option(names = "--removal", split = ",", paramLabel = "R", order = 16,
                description = "DDR: share of a task's remaining windows removed (easiest first) before its epoch 2, "
                        + "3, ... (default 0.2,0.2).")
        double[] removal;

        @Override
        String name() {
            return "sparcl";
        }

        private double[] removal() {
            return removal != null ? removal : new double[]{0.2, 0.2};
        }

        @Override
        Supplier<Continual> method() {
            new SparCl(sparsity, every, updateShare, alpha, gradKeep, removal());
            return () -> new SparCl(sparsity, every, updateShare, alpha, gradKeep, removal());
        }

        @Override
        Map<String, String> methodOptions() {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("sparsity", Double.toString(sparsity));
            m.put("updateEvery", Integer.toString(every));
            m.put("updateShare", Double.toString(updateShare));
            m.put("alpha", Double.toString(alpha));
            m.put("gradKeep", Double.toString(gradKeep));
            m.put("removal", java.util.Arrays.toString(removal()));
            return m;
        }

        @Override
        boolean replays() {
            return true;
        }
    }
}
