package dev.sparsa.experiment;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalResult;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.Schedule;
import dev.sparsa.train.TrainData;
import dev.sparsa.train.Trainer;
import dev.sparsa.train.method.ActivationSwap;
import dev.sparsa.train.method.Ap;
import dev.sparsa.train.method.IterativePruning;
import dev.sparsa.train.method.Pruner;
import dev.sparsa.train.method.PruningRounds;
import dev.sparsa.train.method.Sap;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The pruning experiments, from one starting model, every run with the same batches and optimizer:
 * <ul>
 *   <li>{@code ap} (AP, Liu et al. 2023): for each target share (50/70/90%) and each base criterion (magnitude,
 *   Wanda), {@link IterativePruning} with fine-tuning, alone and with {@link Ap}; the dynamic dead-neuron rate over
 *   the fine-tuning steps and the bits/byte at the end. Needs a ReLU-family model.</li>
 *   <li>{@code sap} (SAP, Diao et al. 2023): {@link Sap} against fixed-ratio iterative magnitude pruning (the
 *   lottery-ticket baseline, 20% a round), both rewinding to the start each round; bits/byte against the FFN
 *   weights remaining after each round, and the PQ Index of each matrix every round.</li>
 * </ul>
 */
public final class PruneExperiment {

    /**
     * @param ratios     the ap targets (each in [0, 1))
     * @param pruners    the ap base criteria ({@link Pruner#NAMES})
     * @param apShare    AP's share of each round's pruning
     * @param impRatio   sap's baseline: the fixed share pruned per round
     * @param rounds     R
     * @param roundSteps E
     */
    public record Options(double[] ratios, List<String> pruners, double apShare, double impRatio, int rounds,
                          int roundSteps, int batch, int seq, float lr, int warmup, float weightDecay, long seed,
                          boolean quick, boolean resume) {
        public Options {
            if (ratios.length == 0) {
                throw new SparsaException.UsageException("--ratios: give at least one pruning ratio");
            }
            for (double r : ratios) {
                ratio("--ratios", r);
            }
            ratio("--imp-ratio", impRatio);
            ratio("--ap-share", apShare);
            if (pruners.isEmpty()) {
                throw new SparsaException.UsageException("--pruners: give at least one of " + String.join(", ",
                        Pruner.NAMES));
            }
            if (new HashSet<>(pruners).size() != pruners.size()) {
                throw new SparsaException.UsageException("--pruners: a method is listed twice");
            }
            pruners.forEach(Pruner::of);                    // unknown names: a usage error naming the choices
            if (rounds < 1) {
                throw new SparsaException.UsageException("--rounds must be >= 1, got " + rounds);
            }
            if (roundSteps < 1) {
                throw new SparsaException.UsageException("--round-steps must be >= 1, got " + roundSteps);
            }
            ratios = ratios.clone();
            pruners = List.copyOf(pruners);
            new Trainer.Options(batch, 1, seq, 1, lr, warmup, Schedule.Kind.CONSTANT, 0f, weightDecay, 0.9f, 0.95f,
                    1f, seed, 0, 1, 0, 0f, false);                                   // the trainer's checks
        }

        Trainer.Options trainer(Integer steps) {
            return new Trainer.Options(batch, 1, seq, steps, lr, warmup, Schedule.Kind.CONSTANT, 0f, weightDecay,
                    0.9f, 0.95f, 1f, seed, 0, 1, 0, 0f, false);
        }
    }

    /** A usage error naming the option unless 0 ≤ r &lt; 1. */
    static void ratio(String option, double r) {
        if (!(r >= 0 && r < 1)) {
            throw new SparsaException.UsageException(option + ": a pruning ratio must be in [0, 1), got " + r);
        }
    }

    private final String experiment;
    private final LlamaWeights start;
    private final String modelName;
    private final String modelSource;
    private final TokenStream train;
    private final EvalWindows val;
    private final Options o;
    private final RunStore store;
    private final Runs.Listener listener;

    /** @param experiment {@code ap} or {@code sap} */
    public PruneExperiment(String experiment, LlamaWeights start, String modelName, String modelSource,
                           TokenStream train, EvalWindows val, Options o, Path out, Runs.Listener listener) {
        if (!experiment.equals("ap") && !experiment.equals("sap")) {
            throw new IllegalArgumentException(experiment);
        }
        if (experiment.equals("ap")) {
            Ap.requireRelu("experiment ap", start.config());
        }
        this.experiment = experiment;
        this.start = start;
        this.modelName = modelName;
        this.modelSource = modelSource;
        this.train = train;
        this.val = val;
        this.o = o;
        this.store = new RunStore(out, o.resume());
        this.listener = listener;
    }

    /**
     * A ReLU model made from a dense one by {@code steps} steps of {@link ActivationSwap#relu()} training (the
     * sparsify command's {@code --method relu}), in {@code arena}.
     */
    public static LlamaWeights reluConversion(LlamaWeights dense, TokenStream train, Options o, int steps,
                                              Arena arena, Parallel par, Trainer.Listener listener) {
        ActivationSwap m = ActivationSwap.relu();
        LlamaParams p = LlamaParams.copyOf(dense, m.studentConfig(dense.config()), arena);
        new Trainer(p, m, o.trainer(steps), new TrainData(train.name(), train.ids(), o.seq(), o.seed()), null, null,
                null, listener).run(par);
        return p.weights();
    }

    record Plan(String id, String pruner, double target, double perRound, double ap) {
    }

    List<Plan> plan() {
        List<Plan> p = new ArrayList<>();
        if (experiment.equals("sap")) {
            p.add(new Plan("sap", "magnitude", 0, 0, 0));
            p.add(new Plan("imp", "magnitude", 0, o.impRatio(), 0));
            return p;
        }
        for (double r : o.ratios()) {
            double per = IterativePruning.perRound(r, o.rounds());
            String pct = String.format(Locale.ROOT, "%.0f", r * 100);
            for (String pr : o.pruners()) {
                p.add(new Plan(pr + "-" + pct, pr, r, per, 0));
                p.add(new Plan("ap-" + pr + "-" + pct, pr, r, per, o.apShare()));
            }
        }
        return p;
    }

    public PruneResults run(Parallel par) {
        long t0 = System.nanoTime();
        Map<String, String> fp0 = fingerprint(null);
        PruneResults.Eval dense = store.load("start", fp0, PruneResults.Eval.class);
        if (dense == null) {
            listener.say("evaluating the starting model on " + val.predictedTokens() + " validation tokens");
            EvalResult e = Runs.evaluate(start, val, par);
            dense = new PruneResults.Eval(e.bitsPerByte(), e.sparsity(), 0);
            store.save("start", fp0, dense);
        }
        double denseBpb = dense.bitsPerByte();
        List<Runs.Plan<PruneResults.Run>> plans = new ArrayList<>();
        for (Plan pl : plan()) {
            plans.add(new Runs.Plan<>(pl.id(), (o.rounds() + 1) * o.roundSteps(), fingerprint(pl),
                    () -> runOne(pl, denseBpb, par)));
        }
        List<PruneResults.Run> runs = Runs.all(plans, PruneResults.Run.class, store, listener,
                r -> String.format(Locale.ROOT, "bits/byte %.4f (%+.2f%%), FFN weights pruned %.1f%%, dead-neuron "
                                + "rate %.3f", r.final_().bitsPerByte(), r.final_().delta() * 100,
                        r.weightSparsity() * 100, r.final_().zeroSparsity()));
        ModelConfig c = start.config();
        long ffn = 3L * c.numLayers() * c.hiddenSize() * c.intermediateSize();
        boolean rewind = experiment.equals("sap");
        PruneResults.Setup setup = new PruneResults.Setup(experiment, modelName, modelSource, c.hiddenAct(),
                c.numLayers(), c.hiddenSize(), c.intermediateSize(), ffn, o.rounds(), o.roundSteps(), rewind,
                rewind ? String.format(Locale.ROOT, "SAP (p = %s, q = %s, η_r = 0, γ = 1, β = 0.9) vs iterative "
                        + "magnitude pruning of %s per round, both rewinding", Sap.P, Sap.Q, pct(o.impRatio()))
                        : String.format(Locale.ROOT, "iterative pruning with fine-tuning (per-round share 1 − (1 − "
                        + "target)^{1/R}), each criterion alone and with AP taking %s of every round's share from "
                        + "the gate", pct(o.apShare())),
                o.batch(), o.seq(), o.lr(), o.warmup(), o.weightDecay(), o.seed(), val.predictedTokens(), o.quick(),
                par.threads());
        return new PruneResults(experiment.equals("ap") ? PruneResults.AP : PruneResults.SAP, setup, dense, runs,
                (System.nanoTime() - t0) / 1e9, notes());
    }

    private List<String> notes() {
        List<String> n = new ArrayList<>();
        n.add("Pruned: the gate, up and down matrices of every layer (unstructured); attention, embeddings and norms "
                + "are trained but never pruned.");
        n.add("Each run trains (R + 1)·E steps: E on the unpruned model, then a prune at the end of every E steps but "
                + "the last; pruned weights are held at 0 with their Adam moments.");
        if (experiment.equals("ap")) {
            n.add("Dead-neuron rate: the share of act(gate) entries that are exactly 0 (per token, mean of layers), on "
                    + "each step's training batch (the curve) and on the validation windows (the table).");
        } else {
            n.add("Rewinding: after each prune every parameter goes back to the starting model's value times the mask "
                    + "and AdamW starts afresh (SAP's retraining from the initialization; here the pretrained start).");
        }
        return n;
    }

    private PruneResults.Run runOne(Plan pl, double denseBpb, Parallel par) {
        long t0 = System.nanoTime();
        Pruner pruner = Pruner.of(pl.pruner());
        boolean sap = experiment.equals("sap");
        try (Arena arena = Arena.ofShared()) {
            LlamaParams p = LlamaParams.copyOf(start, start.config(), arena);
            PruningRounds m = sap ? (pl.id().equals("sap") ? Sap.defaults(start, o.rounds(), o.roundSteps())
                    : new IterativePruning(start, pruner, pl.perRound(), o.rounds(), o.roundSteps(), true))
                    : pl.ap() > 0 ? new Ap(start, pruner, pl.perRound(), o.rounds(), o.roundSteps(), false, pl.ap())
                    : new IterativePruning(start, pruner, pl.perRound(), o.rounds(), o.roundSteps(), false);
            List<double[]> points = new ArrayList<>();           // {remaining, bits/byte}
            m.probe((round, step, q) -> {
                double rem = 1 - m.masks().sparsity();
                double bpb = Runs.evaluate(q.weights(), val, par).bitsPerByte();
                points.add(new double[]{rem, bpb});
                listener.say(String.format(Locale.ROOT, "%s: round %d (step %d): %.1f%% of the FFN weights remain, "
                        + "bits/byte %.4f", pl.id(), round, step, rem * 100, bpb));
            });
            Trainer.Result r = new Trainer(p, m, o.trainer(null), new TrainData(train.name(), train.ids(), o.seq(),
                    o.seed()), null, null, null, listener).run(par);
            EvalResult fin = Runs.evaluate(p.weights(), val, par);
            double remaining = 1 - m.masks().sparsity();
            points.add(new double[]{remaining, fin.bitsPerByte()});
            List<Map<String, Object>> log = m.rounds();
            double[][] pq = new double[log.size()][];
            double[] pqMean = new double[log.size()];
            long[] byAp = new long[log.size()];
            for (int k = 0; k < log.size(); k++) {
                pq[k] = ((List<?>) log.get(k).get("pqIndexBefore")).stream().mapToDouble(x -> ((Number) x)
                        .doubleValue()).toArray();
                pqMean[k] = Arrays.stream(pq[k]).average().orElse(Double.NaN);
                Object a = log.get(k).get("prunedByAp");
                byAp[k] = a instanceof List<?> l ? l.stream().mapToLong(x -> ((Number) x).longValue()).sum() : 0;
            }
            return new PruneResults.Run(pl.id(), pl.pruner(), pl.target(), pl.perRound(), pl.ap(), r.steps(),
                    Runs.steps(r.log()), Runs.ce(r.log()),
                    r.log().stream().mapToDouble(Trainer.StepLog::sparsity).toArray(),
                    points.stream().mapToDouble(x -> x[0]).toArray(), points.stream().mapToDouble(x -> x[1]).toArray(),
                    pq, pqMean, byAp, new PruneResults.Eval(fin.bitsPerByte(), fin.sparsity(),
                    fin.bitsPerByte() / denseBpb - 1), 1 - remaining, (System.nanoTime() - t0) / 1e9);
        }
    }

    static String pct(double v) {
        return String.format(Locale.ROOT, "%.0f%%", v * 100);
    }

    private Map<String, String> fingerprint(Plan pl) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("experiment", experiment);
        m.put("model", modelName + " " + start.config());
        m.put("train", train.name() + " " + train.size());
        m.put("valid", val.stream().name() + " " + val.predictedTokens() + " " + val.contextLength());
        m.put("options", String.format(Locale.ROOT, "rounds %d x %d batch %d seq %d lr %s warmup %d wd %s seed %d",
                o.rounds(), o.roundSteps(), o.batch(), o.seq(), o.lr(), o.warmup(), o.weightDecay(), o.seed()));
        if (pl != null) {
            m.put("run", pl.toString());
        }
        return m;
    }
}
