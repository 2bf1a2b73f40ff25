package dev.sparsa.experiment;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.Method;
import dev.sparsa.train.Schedule;
import dev.sparsa.train.TrainContext;
import dev.sparsa.train.TrainData;
import dev.sparsa.train.Trainer;
import dev.sparsa.train.method.Ap;
import dev.sparsa.train.method.Redo;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The {@code redo} experiment (ReDo, Sokar et al. 2023, §4 on a non-stationary target): a ReLU Llama pretrained from
 * the same initial weights on a stream of Brown genres one after another ({@link TrainData#phases}), once without
 * and once with {@link Redo}; the τ-dormant ratio of the FFN neurons at every step (τ = 0, 0.025, 0.1 by default)
 * and every genre's validation bits/byte at the end of each phase (how much the later genres are learnt, how much
 * the earlier ones are forgotten).
 */
public final class RedoExperiment {

    /**
     * @param stepsPerPhase optimizer steps per genre (each genre's training text is capped to that many batches,
     *                      repeated when shorter)
     * @param taus          the τ of the reported dormant ratios, each in [0, 1]
     * @param redoEvery     ReDo's recycling period (steps)
     * @param redoTau       ReDo's τ
     */
    public record Options(int stepsPerPhase, double[] taus, int redoEvery, double redoTau, double initStd, int batch,
                          int seq, float lr, int warmup, float weightDecay, long seed, boolean quick,
                          boolean resume) {
        public Options {
            if (stepsPerPhase < 1) {
                throw new SparsaException.UsageException("--steps-per-phase must be >= 1, got " + stepsPerPhase);
            }
            if (taus.length == 0) {
                throw new SparsaException.UsageException("--taus: give at least one τ");
            }
            for (double t : taus) {
                tau("--taus", t);
            }
            tau("--tau", redoTau);
            new Redo(redoEvery, redoTau, initStd, seed);                            // ReDo's own checks
            taus = taus.clone();
            new Trainer.Options(batch, 1, seq, 1, lr, warmup, Schedule.Kind.CONSTANT, 0f, weightDecay, 0.9f, 0.95f,
                    1f, seed, 0, 1, 0, 0f, false);                                   // the trainer's checks
        }

        Trainer.Options trainer(int steps) {
            return new Trainer.Options(batch, 1, seq, steps, lr, warmup, Schedule.Kind.CONSTANT, 0f, weightDecay,
                    0.9f, 0.95f, 1f, seed, 0, 1, 0, 0f, false);
        }
    }

    /** A usage error naming the option unless 0 ≤ τ ≤ 1. */
    static void tau(String option, double t) {
        if (!(t >= 0 && t <= 1)) {
            throw new SparsaException.UsageException(option + ": τ must be in [0, 1], got " + t);
        }
    }

    /** One genre: its name, title, training tokens (uncapped) and validation windows. */
    public record Phase(String name, String title, TokenStream train, EvalWindows valid) {
    }

    private final ModelConfig config;
    private final String modelName;
    private final String modelSource;
    private final List<Phase> phases;
    private final Options o;
    private final RunStore store;
    private final Runs.Listener listener;

    /** @param config the shape to pretrain (its activation must be of the ReLU family) */
    public RedoExperiment(ModelConfig config, String modelName, String modelSource, List<Phase> phases, Options o,
                          Path out, Runs.Listener listener) {
        Ap.requireRelu("redo", config);
        if (phases.isEmpty()) {
            throw new SparsaException.UsageException("redo: no genres");
        }
        this.config = config;
        this.modelName = modelName;
        this.modelSource = modelSource;
        this.phases = List.copyOf(phases);
        this.o = o;
        this.store = new RunStore(out, o.resume());
        this.listener = listener;
    }

    /**
     * Each phase's training ids, exactly stepsPerPhase batches of chunks: cut to that length when longer, tiled
     * (the text repeated) when shorter, so every genre gets the same number of steps whatever its size.
     */
    private List<int[]> streams() {
        int cap = o.stepsPerPhase() * o.batch() * o.seq() + 1;
        List<int[]> s = new ArrayList<>();
        for (Phase p : phases) {
            int[] ids = p.train().ids();
            if (ids.length < o.seq() + 1) {
                throw new SparsaException.UsageException("redo: genre " + p.name() + " has fewer tokens ("
                        + ids.length + ") than one window of --seq " + o.seq());
            }
            int[] out = new int[cap];
            for (int at = 0; at < cap; at += ids.length) {
                System.arraycopy(ids, 0, out, at, Math.min(ids.length, cap - at));
            }
            s.add(out);
        }
        return s;
    }

    public RedoResults run(Parallel par) {
        long t0 = System.nanoTime();
        List<int[]> streams = streams();
        int[] phaseEnd = new int[phases.size()];
        int repeats = 1;                     // streams() already gives every genre its steps
        TrainData probe = TrainData.phases("genres", streams, o.seq(), repeats, o.seed());
        for (int k = 0; k < phaseEnd.length; k++) {
            phaseEnd[k] = Math.max(1, probe.phaseStart(k + 1) / o.batch());
        }
        int steps = phaseEnd[phaseEnd.length - 1];
        final int reps = repeats;
        List<Runs.Plan<RedoResults.Run>> plans = new ArrayList<>();
        for (String id : List.of("baseline", "redo")) {
            plans.add(new Runs.Plan<>(id, steps, fingerprint(id, steps, reps),
                    () -> runOne(id, streams, reps, phaseEnd, steps, par)));
        }
        List<RedoResults.Run> runs = Runs.all(plans, RedoResults.Run.class, store, listener,
                r -> String.format(Locale.ROOT, "mean final bits/byte %.4f, dormant(τ=%s) at the end %.3f",
                        r.meanFinalBitsPerByte(), o.taus()[o.taus().length - 1],
                        r.dormant()[o.taus().length - 1][r.steps() - 1]));
        int[] trainTokens = streams.stream().mapToInt(s -> s.length).toArray();
        long[] validTokens = phases.stream().mapToLong(p -> p.valid().predictedTokens()).toArray();
        long params = LlamaParams.count(config);
        RedoResults.Setup setup = new RedoResults.Setup(modelName, modelSource, config.hiddenAct(),
                config.numLayers(), config.hiddenSize(), config.intermediateSize(), config.vocabSize(), params,
                phases.stream().map(Phase::name).toList(), phases.stream().map(Phase::title).toList(), trainTokens,
                validTokens, steps, phaseEnd, o.taus(), o.redoEvery(), o.redoTau(), o.initStd(), o.batch(), o.seq(),
                o.lr(), o.warmup(), o.weightDecay(), o.seed(), o.quick(), par.threads());
        return new RedoResults(RedoResults.SCHEMA, setup, runs, (System.nanoTime() - t0) / 1e9, List.of(
                "Both runs start from the same N(0, σ²) weights and see the same batches: genre after genre, each "
                        + "genre's text capped to its steps' tokens.",
                "Dormant ratio: share of FFN neurons with s_i = E|h_i| / mean_k E|h_k| ≤ τ on the step's batch, "
                        + "h = act(gate) ⊙ up, mean over layers, before that step's recycling.",
                "bits/byte: each genre's own validation documents, after each phase."));
    }

    private RedoResults.Run runOne(String id, List<int[]> streams, int repeats, int[] phaseEnd, int steps,
                                   Parallel par) {
        long t0 = System.nanoTime();
        Redo redo = id.equals("redo") ? new Redo(o.redoEvery(), o.redoTau(), o.initStd(), o.seed()) : null;
        double[][] dormant = new double[o.taus().length][steps];
        double[][][] lastPerLayer = new double[1][][];
        double[][] phaseBpb = new double[phases.size()][phases.size()];
        List<int[]> recycled = new ArrayList<>();
        Method m = new Method() {
            @Override
            public String name() {
                return id;
            }

            @Override
            public ModelConfig studentConfig(ModelConfig start) {
                return start;
            }

            @Override
            public void afterStep(TrainContext ctx) {
                double[][] r = Redo.dormantRatios(ctx.backprop(), o.taus());       // before recycling
                for (int k = 0; k < r.length; k++) {
                    dormant[k][ctx.step() - 1] = Arrays.stream(r[k]).average().orElse(0);
                }
                lastPerLayer[0] = r;
                if (redo != null) {
                    int before = redo.recycled().size();
                    redo.afterStep(ctx);
                    List<int[]> log = redo.recycled();
                    if (log.size() > before) {
                        int[] last = log.getLast();
                        recycled.add(new int[]{ctx.step(), Arrays.stream(last, 1, last.length).sum()});
                    }
                }
                for (int k = 0; k < phaseEnd.length; k++) {
                    if (ctx.step() == phaseEnd[k]) {
                        for (int g = 0; g < phases.size(); g++) {
                            phaseBpb[k][g] = Runs.evaluate(ctx.params().weights(), phases.get(g).valid(), par)
                                    .bitsPerByte();
                        }
                        listener.say(String.format(Locale.ROOT, "%s: end of phase %s (step %d): bits/byte %s", id,
                                phases.get(k).name(), ctx.step(), fmt(phaseBpb[k])));
                    }
                }
            }
        };
        try (Arena arena = Arena.ofShared()) {
            LlamaParams p = LlamaParams.init(config, o.initStd(), o.seed(), arena);
            TrainData data = TrainData.phases("genres", streams, o.seq(), repeats, o.seed());
            Trainer.Result r = new Trainer(p, m, o.trainer(steps), data, null, null, null, listener).run(par);
            double[] fin = phaseBpb[phaseBpb.length - 1].clone();
            return new RedoResults.Run(id, r.steps(), Runs.steps(r.log()), Runs.ce(r.log()), dormant,
                    lastPerLayer[0], recycled.stream().mapToInt(x -> x[0]).toArray(),
                    recycled.stream().mapToInt(x -> x[1]).toArray(), phaseBpb, fin,
                    Arrays.stream(fin).average().orElse(Double.NaN), (System.nanoTime() - t0) / 1e9);
        }
    }

    static String fmt(double[] v) {
        StringBuilder b = new StringBuilder();
        for (double x : v) {
            b.append(b.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, "%.4f", x));
        }
        return b.toString();
    }

    private Map<String, String> fingerprint(String id, int steps, int repeats) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model", modelName + " " + config);
        StringBuilder g = new StringBuilder();
        for (Phase p : phases) {
            g.append(p.name()).append(' ').append(p.train().size()).append('/').append(p.valid().predictedTokens())
                    .append(';');
        }
        m.put("genres", g.toString());
        m.put("options", String.format(Locale.ROOT, "steps %d repeats %d taus %s every %d tau %s std %s batch %d seq %d"
                        + " lr %s warmup %d wd %s seed %d", steps, repeats, Arrays.toString(o.taus()), o.redoEvery(),
                o.redoTau(), o.initStd(), o.batch(), o.seq(), o.lr(), o.warmup(), o.weightDecay(), o.seed()));
        m.put("run", id);
        return m;
    }
}
