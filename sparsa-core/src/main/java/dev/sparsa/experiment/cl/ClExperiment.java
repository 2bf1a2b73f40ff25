package dev.sparsa.experiment.cl;

import dev.sparsa.SparsaException;
import dev.sparsa.experiment.RunStore;
import dev.sparsa.experiment.Runs;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Permutation;
import dev.sparsa.train.AdamW;
import dev.sparsa.train.Backprop;
import dev.sparsa.train.Continual;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.Schedule;
import dev.sparsa.train.TrainContext;
import dev.sparsa.train.Trainer;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * A continual-learning experiment on a {@link TaskSequence}: from the same fresh weights, the baselines and one
 * method, each task's validation bits/byte after every stage (the accuracy matrix), {@link ClMetrics} and the counted
 * training multiply-adds ({@link Flops}). The runs:
 * <ul>
 *   <li>{@code sequential}: fine-tune task after task (forgets);</li>
 *   <li>{@code joint}: one stage over every task's windows together, as many steps as the sequence (the upper
 *   bound; one row);</li>
 *   <li>{@code replay}: sequential, plus {@code replayRows} rows per batch drawn uniformly from a buffer to which each
 *   finished task leaves {@code bufferPerTask} of its windows (a per-task fixed buffer);</li>
 *   <li>the method ({@link Continual}: CLNP on plain sequential batches, SparCL on the replay batches).</li>
 * </ul>
 * A task's training is {@code epochs} passes over its pool of at most {@code windowsPerTask} windows of seq + 1
 * tokens, {@code batch} windows a step in a fresh seeded order each epoch (the remainder of an epoch is dropped); a
 * fresh AdamW (constant rate after warm-up) per task. Finished runs are kept in OUT/runs ({@link RunStore}) for
 * --resume, and a run under way leaves its state after each stage ({@code StageCheckpoint}), from which --resume
 * continues it to the same bits. A method with a network per task (CLNP) is evaluated twice after each stage: each
 * task with its own network (R) and every task with the one network of all its neurons ({@link
 * Continual#agnosticWeights}, R′).
 */
public final class ClExperiment {

    public record Options(int windowsPerTask, int epochs, int batch, int replayRows, int bufferPerTask, int seq,
                          float lr, int warmup, float weightDecay, double initStd, long seed, boolean quick,
                          boolean resume) {
        public Options {
            if (windowsPerTask < 1) {
                throw new SparsaException.UsageException("--windows-per-task must be >= 1, got " + windowsPerTask);
            }
            if (epochs < 1) {
                throw new SparsaException.UsageException("--epochs must be >= 1, got " + epochs);
            }
            if (replayRows < 1) {
                throw new SparsaException.UsageException("--replay-rows must be >= 1, got " + replayRows);
            }
            if (bufferPerTask < 1) {
                throw new SparsaException.UsageException("--buffer must be >= 1, got " + bufferPerTask);
            }
            if (!(initStd > 0)) {
                throw new SparsaException.UsageException("--init-std must be > 0, got " + initStd);
            }
            new Trainer.Options(batch, 1, seq, 1, lr, warmup, Schedule.Kind.CONSTANT, 0f, weightDecay, 0.9f, 0.95f,
                    1f, seed, 0, 1, 0, 0f, false);                                   // the trainer's checks
        }
    }

    private final String experiment;
    private final ModelConfig config;
    private final String modelName;
    private final String modelSource;
    private final List<TaskSequence.Task> tasks;
    private final Options o;
    private final Supplier<Continual> method;
    private final boolean methodReplays;
    private final Map<String, String> methodOptions;
    private final RunStore store;
    private final Runs.Listener listener;
    private final int[] ids;            // every task's training tokens, concatenated
    private final int[][] pools;        // [task]: window starts into ids

    /**
     * @param method        makes the method (a fresh one per run)
     * @param methodReplays whether the method trains on the replay batches (SparCL) or plain ones (CLNP)
     */
    public ClExperiment(String experiment, ModelConfig config, String modelName, String modelSource,
                        List<TaskSequence.Task> tasks, Options o, Supplier<Continual> method, boolean methodReplays,
                        Map<String, String> methodOptions, Path out, Runs.Listener listener) {
        if (tasks.size() < 2) {
            throw new SparsaException.UsageException(experiment + ": a sequence needs at least 2 tasks");
        }
        this.experiment = experiment;
        this.config = config;
        this.modelName = modelName;
        this.modelSource = modelSource;
        this.tasks = List.copyOf(tasks);
        this.o = o;
        this.method = method;
        this.methodReplays = methodReplays;
        this.methodOptions = Collections.unmodifiableMap(new LinkedHashMap<>(methodOptions));   // in given order
        this.store = new RunStore(out, o.resume());
        this.listener = listener;
        int total = 0;
        for (TaskSequence.Task t : tasks) {
            total = Math.addExact(total, t.train().size());
        }
        ids = new int[total];
        pools = new int[tasks.size()][];
        int base = 0;
        for (int k = 0; k < tasks.size(); k++) {
            int[] s = tasks.get(k).train().ids();
            System.arraycopy(s, 0, ids, base, s.length);
            int windows = (s.length - 1) / o.seq();
            if (windows < o.batch()) {
                throw new SparsaException.UsageException("task " + tasks.get(k).name() + " has " + windows
                        + " training windows of " + (o.seq() + 1) + " tokens, fewer than --batch " + o.batch());
            }
            if (tasks.get(k).valid().predictedTokens() < 1) {
                throw new SparsaException.UsageException("task " + tasks.get(k).name() + " has no validation tokens");
            }
            int[] starts = Permutation.random(windows, o.seed() * 31 + k);     // a seeded sample of the task's windows
            int n = Math.min(windows, o.windowsPerTask());
            pools[k] = new int[n];
            for (int c = 0; c < n; c++) {
                pools[k][c] = base + starts[c] * o.seq();
            }
            Arrays.sort(pools[k]);
            base += s.length;
        }
    }

    public ClResults run(Parallel par) {
        long t0 = System.nanoTime();
        double[] start;
        try (Arena a = Arena.ofShared()) {
            LlamaParams p = LlamaParams.init(config, o.initStd(), o.seed(), a);
            start = new double[tasks.size()];
            for (int j = 0; j < start.length; j++) {
                start[j] = new Continual.Task(j, tasks.size(), tasks.get(j).name(), p, tasks.get(j).valid(), par,
                        listener).bitsPerByte(p.weights());
            }
        }
        List<Runs.Plan<ClResults.Run>> plans = new ArrayList<>();
        for (String id : List.of("sequential", "joint", "replay", experiment)) {
            int steps = 0;
            for (int[] pool : pools) {
                steps += o.epochs() * (pool.length / o.batch());           // joint's union: about the same
            }
            plans.add(new Runs.Plan<>(id, steps, fingerprint(id), () -> runOne(id, start, par)));
        }
        List<ClResults.Run> runs = Runs.all(plans, ClResults.Run.class, store, listener,
                r -> String.format(Locale.ROOT, "average final bits/byte %.4f%s, %.3g multiply-adds",
                        r.metrics().averageFinal(), r.metrics().bwt() == null ? ""
                                : String.format(Locale.ROOT, ", BWT %+.4f", r.metrics().bwt()), (double) r.flops()));
        for (Runs.Plan<ClResults.Run> pl : plans) {                            // every run file is written now
            Path f = StageCheckpoint.file(store, pl.id());
            try {
                Files.deleteIfExists(f);
            } catch (IOException e) {
                throw new SparsaException(f + ": cannot delete a stage checkpoint: " + e.getMessage(), e);
            }
        }
        ClResults.Setup setup = new ClResults.Setup(modelName, modelSource, config.hiddenAct(), config.numLayers(),
                config.hiddenSize(), config.intermediateSize(), config.vocabSize(), LlamaParams.count(config),
                tasks.stream().map(TaskSequence.Task::name).toList(),
                tasks.stream().map(TaskSequence.Task::genres).toList(),
                Arrays.stream(pools).mapToInt(x -> x.length).toArray(),
                tasks.stream().mapToLong(t -> t.valid().predictedTokens()).toArray(), o.epochs(), o.batch(),
                o.replayRows(), o.bufferPerTask(), o.seq(), o.lr(), o.warmup(), o.weightDecay(), o.initStd(),
                o.seed(), o.quick(), par.threads(), methodOptions);
        return new ClResults(ClResults.SCHEMA, experiment, setup, start, runs, (System.nanoTime() - t0) / 1e9, List.of(
                "Every run starts from the same N(0, σ²) weights (ReLU FFN); a task's stage is its epochs over its "
                        + "window pool; a fresh AdamW per stage.",
                "R[stage][task]: the task's own validation documents (the corpus-wide document rule), bits/byte, lower "
                        + "is better; forgetting f_j = R[T−1][j] − min_{i<T−1} R[i][j] (≥ 0: forgot), BWT = mean "
                        + "R[j][j] − R[T−1][j] (< 0: forgetting), FWT = mean b_j − R[j−1][j] (b: the fresh weights).",
                "Multiply-adds counted per matrix product as non-zero weights × tokens (SparCL's count): forward, dx "
                        + "and the dW entries computed; attention products dense; elementwise ops left out.",
                "replay: " + o.replayRows() + " buffer rows added to each batch of " + o.batch() + " from the second "
                        + "task on; every finished task leaves " + o.bufferPerTask() + " random windows of "
                        + (o.seq() + 1) + " tokens in the buffer."));
    }

    private ClResults.Run runOne(String id, double[] start, Parallel par) {
        long t0 = System.nanoTime();
        boolean joint = id.equals("joint");
        boolean replay = id.equals("replay") || (id.equals(experiment) && methodReplays);
        Continual m = id.equals(experiment) ? method.get() : new Plain(id);
        int rowsPer = o.batch() + (replay ? o.replayRows() : 0);
        int seq = o.seq();
        int stride = seq + 1;
        int stages = joint ? 1 : tasks.size();
        double[][] r = new double[stages][tasks.size()];
        double[][] ra = null;                // task-agnostic R, for a method with task-specific networks (CLNP)
        int[] stageEnd = new int[stages];
        long[] stageFlops = new long[stages];
        List<Double> ce = new ArrayList<>();
        List<Integer> buffer = new ArrayList<>();
        int step = 0;
        Path ckpt = StageCheckpoint.file(store, id);
        try (Arena arena = Arena.ofShared()) {
            LlamaParams p = LlamaParams.init(config, o.initStd(), o.seed(), arena);
            int first = 0;
            if (store.resuming() && Files.isRegularFile(ckpt)) {                 // after a kill: the last stage done
                StageCheckpoint.State st = StageCheckpoint.read(ckpt, p, fingerprint(id));
                StageCheckpoint.Loop l = st.loop();
                m.restore(st.method());
                first = l.stages();
                step = l.step();
                if (l.agnostic() != null) {
                    ra = new double[stages][];
                }
                for (int s = 0; s < first; s++) {
                    r[s] = l.bitsPerByte()[s].clone();
                    if (ra != null) {
                        ra[s] = l.agnostic()[s].clone();
                    }
                    stageEnd[s] = l.stageEndStep()[s];
                    stageFlops[s] = l.stageFlops()[s];
                }
                for (double c : l.ce()) {
                    ce.add(c);
                }
                for (int w : l.buffer()) {
                    buffer.add(w);
                }
                listener.say(String.format(Locale.ROOT, "%s: resumed after stage %d of %d (step %d) from %s", id,
                        first, stages, step, ckpt.getFileName()));
            }
            Backprop bp = new Backprop(p, rowsPer, seq);
            int[] batch = new int[rowsPer * stride];
            for (int s = first; s < stages; s++) {
                List<Integer> pool = new ArrayList<>();
                for (int k = joint ? 0 : s; k < (joint ? tasks.size() : s + 1); k++) {
                    for (int w : pools[k]) {
                        pool.add(w);
                    }
                }
                int epochs = o.epochs();                   // joint: the union pool, so as many steps
                Continual.Task tc = new Continual.Task(s, stages, joint ? "joint" : tasks.get(s).name(), p,
                        tasks.get(joint ? 0 : s).valid(), par, listener);
                m.startTask(tc);
                AdamW opt = new AdamW(p, new AdamW.Config(0.9f, 0.95f, 1e-8f, o.weightDecay(), false));
                int planned = epochs * (pool.size() / o.batch());
                Schedule sched = new Schedule(o.lr(), o.warmup(), Math.max(planned, o.warmup() + 1),
                        Schedule.Kind.CONSTANT, 0f);
                listener.onStart(step + 1, step + planned, p.count(), id + " " + tc.name());
                int local = 0;
                long flops = 0;
                for (int e = 0; e < epochs; e++) {
                    double share = joint ? 0 : m.removeShare(s, e);
                    if (share > 0 && pool.size() > o.batch()) {
                        flops += removeEasiest(pool, share, bp, batch, m, par);
                    }
                    int[] order = Permutation.random(pool.size(), o.seed() * 1_000_003L + s * 1009L + e);
                    int perEpoch = pool.size() / o.batch();
                    for (int b = 0; b < perEpoch; b++) {
                        step++;
                        local++;
                        long s0 = System.nanoTime();
                        for (int i = 0; i < o.batch(); i++) {
                            System.arraycopy(ids, pool.get(order[b * o.batch() + i]), batch, i * stride, stride);
                        }
                        if (replay) {
                            SplittableRandom rnd = new SplittableRandom(o.seed() * 7919L + step);
                            for (int i = o.batch(); i < rowsPer; i++) {
                                // before the first task has left windows, the current task's fill the rows
                                int w = buffer.isEmpty() ? pool.get(rnd.nextInt(pool.size()))
                                        : buffer.get(rnd.nextInt(buffer.size()));
                                System.arraycopy(ids, w, batch, i * stride, stride);
                            }
                        }
                        p.zeroGrads();
                        float lambda = m.l1(step);
                        Backprop.Loss loss = bp.step(batch, 0, lambda, null, 0f, 1f, par);
                        if (!Double.isFinite(loss.ce())) {
                            throw new SparsaException(id + ": training diverged at step " + step + " (lower --lr?)");
                        }
                        TrainContext ctx = new TrainContext(step, step + planned - local, p, opt, bp, loss);
                        m.beforeOptimizerStep(ctx);
                        flops += Flops.trainStep(config, rowsPer, seq, m::weightNonZeros, m::gradientNonZeros);
                        float lr = sched.at(local);
                        double norm = opt.step(lr, 1f, par);
                        m.afterStep(ctx);
                        ce.add(loss.ce());
                        double sec = (System.nanoTime() - s0) / 1e9;
                        listener.onStep(new Trainer.StepLog(step, step + planned - local, loss.ce(), 0, loss.l1(),
                                lambda, lr, norm, loss.zeroFraction(), (double) rowsPer * seq / sec, sec));
                    }
                }
                m.endTask(tc);
                if (!joint) {
                    SplittableRandom rnd = new SplittableRandom(o.seed() * 104729L + s);
                    int[] pick = Permutation.random(pools[s].length, rnd.nextLong());
                    for (int i = 0; i < Math.min(o.bufferPerTask(), pick.length); i++) {
                        buffer.add(pools[s][pick[i]]);
                    }
                }
                for (int j = 0; j < tasks.size(); j++) {
                    try (Arena ev = Arena.ofShared()) {
                        LlamaWeights w = m.weightsFor(j, p, ev);
                        r[s][j] = new Continual.Task(j, tasks.size(), tasks.get(j).name(), p, tasks.get(j).valid(),
                                par, listener).bitsPerByte(w);
                    }
                }
                try (Arena ev = Arena.ofShared()) {
                    LlamaWeights wa = m.agnosticWeights(p, ev);                // no task identity: one network
                    if (wa != null) {
                        if (ra == null) {
                            ra = new double[stages][];
                        }
                        ra[s] = new double[tasks.size()];
                        for (int j = 0; j < tasks.size(); j++) {
                            ra[s][j] = new Continual.Task(j, tasks.size(), tasks.get(j).name(), p,
                                    tasks.get(j).valid(), par, listener).bitsPerByte(wa);
                        }
                    }
                }
                stageEnd[s] = step;
                stageFlops[s] = flops;
                if (s < stages - 1) {                                          // the last: the run file follows
                    StageCheckpoint.Loop done = new StageCheckpoint.Loop(s + 1, step, Arrays.copyOf(r, s + 1),
                            ra == null ? null : Arrays.copyOf(ra, s + 1), Arrays.copyOf(stageEnd, s + 1),
                            Arrays.copyOf(stageFlops, s + 1), ce.stream().mapToDouble(Double::doubleValue).toArray(),
                            buffer.stream().mapToInt(Integer::intValue).toArray());
                    StageCheckpoint.write(ckpt, done, p, m.state(), fingerprint(id));
                }
                listener.say(String.format(Locale.ROOT, "%s: after %s (step %d): bits/byte %s%s", id, tc.name(), step,
                        fmt(r[s]), ra == null ? "" : ", without the task's identity " + fmt(ra[s])));
            }
            long total = Arrays.stream(stageFlops).sum();
            List<String> stageNames = joint ? List.of("joint")
                    : tasks.stream().map(TaskSequence.Task::name).toList();
            return new ClResults.Run(id, describe(id), stageNames, r, ClMetrics.of(r, start), ra,
                    ra == null ? null : ClMetrics.of(ra, start), step, stageEnd,
                    ce.stream().mapToDouble(Double::doubleValue).toArray(), stageFlops, total, m.perTask(),
                    (System.nanoTime() - t0) / 1e9);
        }
    }

    /**
     * DDR's removal: scores every window of the pool by its CE under the current weights (forward passes of the
     * engine's rows, counted) and drops the {@code share} with the lowest (the easiest); returns the multiply-adds.
     */
    private long removeEasiest(List<Integer> pool, double share, Backprop bp, int[] batch, Continual m,
                               Parallel par) {
        int rows = bp.seqs();
        int seq = o.seq();
        int stride = seq + 1;
        int v = config.vocabSize();
        double[] loss = new double[pool.size()];
        long flops = 0;
        for (int at = 0; at < pool.size(); at += rows) {
            for (int i = 0; i < rows; i++) {
                int w = pool.get(Math.min(at + i, pool.size() - 1));
                System.arraycopy(ids, w, batch, i * stride, stride);
            }
            float[] logits = bp.forward(batch, 0, par);
            flops += Flops.forward(config, rows, seq, m::weightNonZeros);
            for (int i = 0; i < rows && at + i < pool.size(); i++) {
                double sum = 0;
                for (int t = 0; t < seq; t++) {
                    int o0 = (i * seq + t) * v;
                    int y = batch[i * stride + t + 1];
                    float max = Float.NEGATIVE_INFINITY;
                    for (int c = 0; c < v; c++) {
                        max = Math.max(max, logits[o0 + c]);
                    }
                    double z = 0;
                    for (int c = 0; c < v; c++) {
                        z += Math.exp(logits[o0 + c] - max);
                    }
                    sum += Math.log(z) + max - logits[o0 + y];                  // −log softmax(z)_y
                }
                loss[at + i] = sum / seq;
            }
        }
        Integer[] idx = new Integer[pool.size()];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (a, b) -> Double.compare(loss[a], loss[b]));
        int drop = Math.min((int) Math.floor(share * pool.size()), pool.size() - o.batch());
        boolean[] gone = new boolean[pool.size()];
        for (int i = 0; i < drop; i++) {
            gone[idx[i]] = true;
        }
        List<Integer> kept = new ArrayList<>();
        for (int i = 0; i < pool.size(); i++) {
            if (!gone[i]) {
                kept.add(pool.get(i));
            }
        }
        pool.clear();
        pool.addAll(kept);
        return flops;
    }

    private String describe(String id) {
        return switch (id) {
            case "sequential" -> "sequential fine-tuning, task after task";
            case "joint" -> "joint training on every task's windows at once (upper bound)";
            case "replay" -> "sequential with " + o.replayRows() + " replay rows a batch from a per-task buffer of "
                    + o.bufferPerTask() + " windows";
            default -> method.get().name() + (methodReplays ? " on the replay batches" : " on plain batches");
        };
    }

    /** A baseline: no method. */
    private record Plain(String name) implements Continual {
    }

    static String fmt(double[] v) {
        StringBuilder b = new StringBuilder();
        for (double x : v) {
            b.append(b.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, "%.4f", x));
        }
        return b.toString();
    }

    /**
     * Everything a run's result depends on, an option a key (named as on the command line when they differ on
     * resume: {@link RunStore#differences}).
     */
    private Map<String, String> fingerprint(String id) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model", modelName);
        m.put("config", config.toString());
        StringBuilder g = new StringBuilder();
        for (int k = 0; k < tasks.size(); k++) {
            TaskSequence.Task t = tasks.get(k);
            g.append(k == 0 ? "" : "; ").append(t.name()).append(' ').append(t.genres()).append(' ')
                    .append(t.train().size()).append('/').append(t.valid().predictedTokens()).append('/')
                    .append(pools[k].length);
        }
        m.put("tasks", g.toString());
        m.put("windowsPerTask", Integer.toString(o.windowsPerTask()));
        m.put("epochs", Integer.toString(o.epochs()));
        m.put("batch", Integer.toString(o.batch()));
        m.put("replayRows", Integer.toString(o.replayRows()));
        m.put("buffer", Integer.toString(o.bufferPerTask()));
        m.put("seq", Integer.toString(o.seq()));
        m.put("lr", Float.toString(o.lr()));
        m.put("warmup", Integer.toString(o.warmup()));
        m.put("weightDecay", Float.toString(o.weightDecay()));
        m.put("initStd", Double.toString(o.initStd()));
        m.put("seed", Long.toString(o.seed()));
        m.put("quick", Boolean.toString(o.quick()));
        if (id.equals(experiment)) {
            methodOptions.forEach((k, v) -> m.put("method." + k, v));
        }
        m.put("run", id);
        return m;
    }
}
