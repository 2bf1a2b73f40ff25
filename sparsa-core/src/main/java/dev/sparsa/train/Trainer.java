package dev.sparsa.train;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalResult;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.Evaluator;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.tensor.Parallel;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The training loop: micro-batches from {@link TrainData}, {@link Backprop} (forward, loss, backward), gradient
 * accumulation, global-norm clipping and {@link AdamW} with a {@link Schedule}, the {@link Method}'s λ and hooks,
 * validation with the evaluation protocol ({@link Evaluator}) every {@code valEvery} steps on the method's
 * {@link Method#validationModel} (its gate applied, as inference runs it), and atomic
 * {@link Checkpoint}s every {@code checkpointEvery} steps. With {@code resume} it continues from the newest
 * checkpoint to exactly the bits of an uninterrupted run.
 */
public final class Trainer {

    /**
     * Options of a run; see the {@code pretrain} / {@code sparsify} commands for their meaning.
     *
     * @param microBatches micro-batches per step (gradient accumulation); each has {@code batch / microBatches} rows
     * @param steps        optimizer steps (null: the method decides)
     * @param distill      α of self-distillation from the starting model (0: none)
     * @param valEvery     validate every N steps (0: only at the end); needs validation windows
     */
    public record Options(int batch, int microBatches, int seq, Integer steps, float lr, int warmup,
                          Schedule.Kind schedule, float minLr, float weightDecay, float beta1, float beta2, float clip,
                          long seed, int checkpointEvery, int keepCheckpoints, int valEvery, float distill,
                          boolean resume) {
        public Options {
            if (batch < 1) {
                throw new SparsaException.UsageException("--batch must be >= 1, got " + batch);
            }
            if (seq < 1) {
                throw new SparsaException.UsageException("--seq must be >= 1, got " + seq);
            }
            if (microBatches < 1 || batch % microBatches != 0) {
                throw new SparsaException.UsageException("--micro-batches must divide --batch " + batch + ", got "
                        + microBatches);
            }
            if (steps != null && steps < 1) {
                throw new SparsaException.UsageException("--steps must be >= 1, got " + steps);
            }
            if (!(weightDecay >= 0)) {
                throw new SparsaException.UsageException("--weight-decay must be >= 0, got " + weightDecay);
            }
            if (!(clip >= 0)) {
                throw new SparsaException.UsageException("--clip must be >= 0 (0 = off), got " + clip);
            }
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
                throw new SparsaException.UsageException("AdamW betas must be in [0, 1), got " + beta1 + ", " + beta2);
            }
            if (checkpointEvery < 0 || keepCheckpoints < 1 || valEvery < 0) {
                throw new SparsaException.UsageException("--checkpoint-every and --val-every must be >= 0 and --keep"
                        + "-checkpoints >= 1");
            }
            if (!(distill >= 0 && distill <= 1)) {
                throw new SparsaException.UsageException("--distill must be in [0, 1], got " + distill);
            }
            new Schedule(lr, warmup, steps != null ? steps : 1, schedule, minLr);     // refuses bad --lr, --warmup...
        }

        /** What makes two runs the same run: stored in checkpoints and compared on resume. */
        Map<String, String> fingerprint() {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("batch", Integer.toString(batch));
            m.put("microBatches", Integer.toString(microBatches));
            m.put("seq", Integer.toString(seq));
            m.put("lr", Float.toString(lr));
            m.put("warmup", Integer.toString(warmup));
            m.put("schedule", schedule.name());
            m.put("minLr", Float.toString(minLr));
            m.put("weightDecay", Float.toString(weightDecay));
            m.put("betas", beta1 + "," + beta2);
            m.put("clip", Float.toString(clip));
            m.put("seed", Long.toString(seed));
            m.put("distill", Float.toString(distill));
            return m;
        }
    }

    /** One optimizer step, as logged. */
    public record StepLog(int step, int steps, double ce, double kl, double l1, float lambda, float lr,
                          double gradNorm, double[] sparsityPerLayer, double tokensPerSecond, double seconds) {
        public double sparsity() {
            return Arrays.stream(sparsityPerLayer).average().orElse(0);
        }
    }

    /** Receives the run's events (the CLI's progress bar and JSON log). */
    public interface Listener {
        default void onStart(int firstStep, int steps, long params, String what) {
        }

        default void onStep(StepLog s) {
        }

        default void onValidation(int step, EvalResult r) {
        }

        default void onCheckpoint(int step, Path file) {
        }

        default void say(String message) {
        }
    }

    /** How the run ended. */
    public record Result(ModelConfig config, int steps, List<StepLog> log, List<Map<String, Object>> validations,
                         EvalResult finalValidation, double seconds, Map<String, Object> method) {
    }

    private final LlamaParams params;
    private final Method method;
    private final Options o;
    private final TrainData data;
    private final EvalWindows val;
    private final LlamaWeights teacherWeights;
    private final Path out;
    private final Listener listener;

    /**
     * @param params  the student's starting weights (config: the starting model's; the method swaps it)
     * @param val     validation windows (null: no validation)
     * @param teacher the frozen starting model for distillation (null unless {@code o.distill() > 0})
     * @param out     where checkpoints go ({@code out/checkpoints}); null: no checkpoints
     */
    public Trainer(LlamaParams params, Method method, Options o, TrainData data, EvalWindows val,
                   LlamaWeights teacher, Path out, Listener listener) {
        if (o.distill() > 0 && teacher == null) {
            throw new SparsaException.UsageException("--distill needs the starting model as teacher");
        }
        if (data.seqLen() != o.seq()) {
            throw new IllegalArgumentException("data of seq " + data.seqLen() + " for a run of seq " + o.seq());
        }
        this.params = params;
        this.method = method;
        this.o = o;
        this.data = data;
        this.val = val;
        this.teacherWeights = teacher;
        this.out = out;
        this.listener = listener;
    }

    public Result run(Parallel par) {
        long t0 = System.nanoTime();
        int steps = method.steps(o.steps());
        ModelConfig cfg = method.studentConfig(params.config());
        LlamaParams p = params.withConfig(cfg);
        AdamW opt = new AdamW(p, new AdamW.Config(o.beta1(), o.beta2(), 1e-8f, o.weightDecay(), false));
        Schedule sched = new Schedule(o.lr(), o.warmup(), steps, o.schedule(), o.minLr());
        Map<String, String> run = fingerprint(cfg, steps);
        int start = 0;
        Optional<Path> resumeFrom = checkOut(out, o.resume(), o.checkpointEvery());
        if (out != null) {
            Checkpoint.cleanTemp(out);
        }
        if (resumeFrom.isPresent()) {
            Checkpoint.Meta meta = Checkpoint.read(resumeFrom.get(), p, opt, run);
            start = meta.step();
            data.seek(meta.data());
            method.restore(meta.method());
            listener.say("resumed from " + resumeFrom.get() + " (step " + start + " of " + steps + ")");
        }
        int rowsPer = o.batch() / o.microBatches();
        // the config can change mid-run (a method's later stage); the engine follows it
        cfg = configAt(start + 1, cfg);
        p = p.withConfig(cfg);
        Backprop bp = new Backprop(p, rowsPer, o.seq());
        bp.ffnGate(method.ffnGate(p));
        Teacher teacher = teacherWeights == null || o.distill() == 0 ? null : new Teacher(teacherWeights, rowsPer, o.seq());
        int[] batch = new int[rowsPer * (o.seq() + 1)];
        List<StepLog> log = new ArrayList<>();
        List<Map<String, Object>> vals = new ArrayList<>();
        listener.onStart(start + 1, steps, p.count(), method.name());
        for (int step = start + 1; step <= steps; step++) {
            long s0 = System.nanoTime();
            ModelConfig next = configAt(step, cfg);
            if (!next.equals(cfg)) {
                cfg = next;
                p = p.withConfig(cfg);
                bp = new Backprop(p, rowsPer, o.seq());
                bp.ffnGate(method.ffnGate(p));
                listener.say("step " + step + ": the model is now " + cfg.hiddenAct());
            }
            float lr = sched.at(step);
            float lambda = method.l1(step);
            p.zeroGrads();
            double ce = 0;
            double kl = 0;
            double l1 = 0;
            double[] zeros = new double[cfg.numLayers()];
            Backprop.Loss last = null;
            for (int mb = 0; mb < o.microBatches(); mb++) {
                data.next(rowsPer, batch, 0);
                float[] tl = teacher == null ? null : teacher.logits(batch, 0, par);
                last = bp.step(batch, 0, lambda, tl, o.distill(), 1f / o.microBatches(), par);
                ce += last.ce() / o.microBatches();
                kl += last.klSum() / last.predictions() / o.microBatches();
                l1 += last.l1() / o.microBatches();
                for (int l = 0; l < zeros.length; l++) {
                    zeros[l] += last.zeroFraction()[l] / o.microBatches();
                }
            }
            if (!Double.isFinite(ce)) {
                throw new SparsaException("training diverged at step " + step + ": loss " + ce + " (lower --lr?)");
            }
            method.beforeOptimizerStep(new TrainContext(step, steps, p, opt, bp, last));
            double norm = opt.step(lr, o.clip(), par);
            method.afterStep(new TrainContext(step, steps, p, opt, bp, last));
            double sec = (System.nanoTime() - s0) / 1e9;
            StepLog sl = new StepLog(step, steps, ce, kl, l1, lambda, lr, norm, zeros,
                    (double) o.batch() * o.seq() / sec, sec);
            log.add(sl);
            listener.onStep(sl);
            if (val != null && o.valEvery() > 0 && step % o.valEvery() == 0 && step < steps) {
                EvalResult r = new Evaluator(method.validationModel(p.weights(), step, steps), par).evaluate(val);
                vals.add(validation(step, r));
                listener.onValidation(step, r);
            }
            if (out != null && o.checkpointEvery() > 0 && (step % o.checkpointEvery() == 0 || step == steps)) {
                Path f = Checkpoint.write(out, new Checkpoint.Meta(step, data.position(), opt.steps(), method.state(),
                        run), p, opt, o.keepCheckpoints());
                listener.onCheckpoint(step, f);
            }
        }
        LlamaParams trained = p;
        ModelConfig finalCfg = method.finish(new Method.Finish() {
            @Override
            public ModelConfig config() {
                return trained.config();
            }

            @Override
            public LlamaParams params() {
                return trained;
            }

            @Override
            public double bitsPerByte(ModelConfig c) {
                if (val == null) {
                    throw new SparsaException.UsageException(method.name() + " needs validation text to choose its"
                            + " threshold");
                }
                return new Evaluator(LlamaModel.of(trained.weights().withConfig(c), DenseFfn::new), par)
                        .evaluate(val).bitsPerByte();
            }

            @Override
            public float[] positiveActivations(ModelConfig c) {
                return Trainer.positiveActivations(trained.weights().withConfig(c), val, par);
            }

            @Override
            public void say(String message) {
                listener.say(message);
            }
        });
        EvalResult fin = null;
        if (val != null) {
            fin = new Evaluator(method.validationModel(p.weights().withConfig(finalCfg), steps, steps), par)
                    .evaluate(val);
            vals.add(validation(steps, fin));
            listener.onValidation(steps, fin);
        }
        return new Result(finalCfg, steps, log, vals, fin, (System.nanoTime() - t0) / 1e9, method.summary());
    }

    /**
     * What a run may find under {@code out}, checked before anything is written: {@code --resume} needs a checkpoint
     * there (the newest is returned); a new run that would write checkpoints must not find another run's, which it
     * would overwrite and prune.
     */
    public static Optional<Path> checkOut(Path out, boolean resume, int checkpointEvery) {
        if (out == null) {
            if (resume) {
                throw new SparsaException.UsageException("--resume needs --out");
            }
            return Optional.empty();
        }
        Optional<Path> last = Checkpoint.latest(out);
        if (resume && last.isEmpty()) {
            throw new SparsaException.UsageException("--resume: no checkpoint under " + out.resolve(Checkpoint.DIR));
        }
        if (!resume && checkpointEvery > 0 && last.isPresent()) {
            throw new SparsaException.UsageException("--out " + out + " holds the checkpoints of an earlier run "
                    + "(newest " + last.get().getFileName() + "): continue it with --resume, or choose another --out");
        }
        return resume ? last : Optional.empty();
    }

    /** The command-line option a {@link #fingerprint} key comes from, for messages. */
    static String optionOf(String key) {
        return switch (key) {
            case "microBatches" -> "--micro-batches";
            case "minLr" -> "--min-lr";
            case "weightDecay" -> "--weight-decay";
            case "betas" -> "--beta1/--beta2";
            case "config" -> "the model (config)";
            case "data" -> "the training data (text and tokenizer)";
            default -> "--" + (key.startsWith("method.") ? key.substring("method.".length()) : key)
                    .replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
        };
    }

    private ModelConfig configAt(int step, ModelConfig cfg) {
        return method.configAt(step, cfg);
    }

    private Map<String, String> fingerprint(ModelConfig cfg, int steps) {
        Map<String, String> m = new LinkedHashMap<>(o.fingerprint());
        m.put("method", method.name());
        method.options().forEach((k, v) -> m.put("method." + k, v));
        m.put("steps", Integer.toString(steps));
        m.put("config", cfg.toString());
        m.put("data", data.tokens() + " tokens, CRC-32C " + Long.toHexString(data.checksum()));
        return m;
    }

    private static Map<String, Object> validation(int step, EvalResult r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", step);
        m.put("bitsPerByte", r.bitsPerByte());
        m.put("ce", r.ce());
        m.put("sparsity", r.sparsity());
        m.put("sparsityPerLayer", r.sparsityPerLayer());
        return m;
    }

    /** The positive values of act(gate) over the first validation windows (at most ~64k values per layer). */
    public static float[] positiveActivations(LlamaWeights w, EvalWindows val, Parallel par) {
        if (val == null) {
            throw new SparsaException.UsageException("choosing a threshold needs validation text");
        }
        LlamaModel m = LlamaModel.of(w, DenseFfn::new);
        int f = w.config().intermediateSize();
        List<float[]> chunks = new ArrayList<>();
        int[] count = {0};
        int limit = 1 << 16;
        ActivationTap tap = (layer, pos, x, xo, gate, act, h, off) -> {
            if (count[0] >= limit * w.config().numLayers()) {
                return;
            }
            float[] c = new float[f];
            int n = 0;
            for (int i = off; i < off + f; i++) {
                if (act[i] > 0f) {
                    c[n++] = act[i];
                }
            }
            chunks.add(Arrays.copyOf(c, n));
            count[0] += n;
        };
        for (int win = 0; win < val.count() && count[0] < limit * w.config().numLayers(); win++) {
            int[] ids = val.ids(win);
            m.forward(m.newCache(ids.length), ids, false, tap, par);
        }
        float[] all = new float[count[0]];
        int at = 0;
        for (float[] c : chunks) {
            System.arraycopy(c, 0, all, at, c.length);
            at += c.length;
        }
        return all;
    }
}
