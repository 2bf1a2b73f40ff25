package dev.sparsa.experiment;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalResult;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.Evaluator;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.io.AtomicFile;
import dev.sparsa.model.Activation;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.Method;
import dev.sparsa.train.method.Methods;
import dev.sparsa.train.Schedule;
import dev.sparsa.train.TrainData;
import dev.sparsa.train.Trainer;
import dev.sparsa.train.method.Dense;
import dev.sparsa.train.method.ProSparse;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The {@code sparsify} experiment (trainer issue §5): from one dense starting model, every sparsification method of
 * {@link #METHODS} trained with the same data order, steps and optimizer, then each evaluated on the same validation
 * windows at T = 0 and at a chosen FATReLU threshold; plus a ProSparse λ sweep (the λ schedule scaled by each
 * factor of {@code lambdaScales}) for the sparsity–quality curve.
 *
 * <p>Threshold rule: ProSparse chooses T itself (its step 3, {@link ProSparse#autoThreshold}). The other methods whose
 * trained activation is plain ReLU ({@code relu}, {@code relufy}) get the same search afterwards ("post-hoc"), so
 * that the table separates what the L1 schedule buys from what threshold shifting buys; the rest ({@code dense}
 * SiLU, {@code relu2}, {@code drelu}) are reported at T = 0 only.
 *
 * <p>Every finished run is written to {@code out/runs/ID.json} with the options it ran under; with {@code resume},
 * runs whose file matches are taken from there, so an experiment that died continues at the run it was in (which
 * restarts from its first step). Training checkpoints are off.
 */
public final class SparsifyExperiment {

    /** The methods, in the order they run ({@code dense} = continued training with the model's own activation). */
    public static final List<String> METHODS = List.of("dense", "relu", "relu2", "relufy", "drelu", "prosparse",
            "prosparse+distill");

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /**
     * @param methods      a subset of {@link #METHODS}
     * @param steps        optimizer steps of the non-staged methods
     * @param stageSteps   ProSparse steps per λ stage (its steps = stages × this)
     * @param lambdas      ProSparse's λ at the end of each stage (scale 1)
     * @param lambdaScales the sweep's factors on {@code lambdas} (1 is the {@code prosparse} run itself)
     * @param distill      α of {@code prosparse+distill}
     * @param tolerance    the largest relative bits/byte rise the auto threshold accepts
     * @param quick        recorded in the results (the reduced variant)
     * @param resume       take finished runs from {@code out/runs/}
     */
    public record Options(List<String> methods, int steps, int stageSteps, float[] lambdas, double[] lambdaScales,
                          float distill, double tolerance, int batch, int microBatches, int seq, float lr, int warmup,
                          float weightDecay, float clip, long seed, boolean quick, boolean resume) {
        public Options {
            if (methods.isEmpty()) {
                throw new SparsaException.UsageException("--methods: give at least one of " + String.join(", ",
                        METHODS));
            }
            Set<String> seen = new HashSet<>();
            for (String m : methods) {
                if (!METHODS.contains(m)) {
                    throw new SparsaException.UsageException("--methods: unknown method '" + m + "' (" + String.join(
                            ", ", METHODS) + ")");
                }
                if (!seen.add(m)) {
                    throw new SparsaException.UsageException("--methods: '" + m + "' is listed twice");
                }
            }
            if (steps < 2) {
                throw new SparsaException.UsageException("--steps must be >= 2 (relufy has two stages), got " + steps);
            }
            if (stageSteps < 1) {
                throw new SparsaException.UsageException("--stage-steps must be >= 1, got " + stageSteps);
            }
            for (double s : lambdaScales) {
                if (!(s > 0) || !Double.isFinite(s)) {
                    throw new SparsaException.UsageException("--lambda-scales: every scale must be a positive number,"
                            + " got " + Arrays.toString(lambdaScales));
                }
            }
            if (!(distill > 0 && distill <= 1)) {
                throw new SparsaException.UsageException("--distill must be in (0, 1] (α of prosparse+distill), got "
                        + distill);
            }
            methods = List.copyOf(methods);
            lambdas = lambdas.clone();
            lambdaScales = lambdaScales.clone();
            new ProSparse(stageSteps, lambdas, null, tolerance);           // the same checks as sparsify's
            new Trainer.Options(batch, microBatches, seq, steps, lr, warmup, Schedule.Kind.CONSTANT, 0f,  // and
                    weightDecay, 0.9f, 0.95f, clip, seed, 0, 1, 0, distill, false);               // the trainer's
        }

        Trainer.Options trainer(Integer runSteps, float alpha) {
            return new Trainer.Options(batch, microBatches, seq, runSteps, lr, warmup, Schedule.Kind.CONSTANT, 0f,
                    weightDecay, 0.9f, 0.95f, clip, seed, 0, 1, 0, alpha, false);
        }
    }

    /** Receives the experiment's events on top of each run's trainer events. */
    public interface Listener extends Trainer.Listener {
        /**
         * A run starts.
         *
         * @param eta seconds left for this and the later runs, from the mean of the runs done so far (NaN before the
         *            first)
         */
        default void onRunStart(int index, int total, String id, int steps, double elapsed, double eta) {
        }

        /** A run is done ({@code resumed}: taken from its file). */
        default void onRunDone(SparsifyResults.Run run, boolean resumed) {
        }
    }

    /** One planned run. */
    record Plan(String id, String method, String group, Double lambdaScale, float distill) {
    }

    private final LlamaWeights start;
    private final String modelName;
    private final String modelSource;
    private final TokenStream train;
    private final EvalWindows val;
    private final Options o;
    private final Path out;
    private final Listener listener;

    /**
     * @param start       the dense starting model (also the distillation teacher)
     * @param modelSource {@code given} or {@code cached-pretrain}
     * @param train       the training token stream (every run visits it in the same order)
     * @param val         the validation windows (context = {@code o.seq()})
     * @param out         where {@code runs/ID.json} go
     */
    public SparsifyExperiment(LlamaWeights start, String modelName, String modelSource, TokenStream train,
                              EvalWindows val, Options o, Path out, Listener listener) {
        if (val.contextLength() != o.seq()) {
            throw new IllegalArgumentException("validation windows of " + val.contextLength() + " for seq " + o.seq());
        }
        this.start = start;
        this.modelName = modelName;
        this.modelSource = modelSource;
        this.train = train;
        this.val = val;
        this.o = o;
        this.out = out;
        this.listener = listener;
    }

    /** The runs in order: the methods, then the sweep's extra λ scales (when prosparse is among the methods). */
    List<Plan> plan() {
        List<Plan> p = new ArrayList<>();
        for (String m : o.methods()) {
            switch (m) {
                case "prosparse" -> p.add(new Plan(m, "prosparse", "method", 1.0, 0f));
                case "prosparse+distill" -> p.add(new Plan(m, "prosparse", "method", 1.0, o.distill()));
                default -> p.add(new Plan(m, m, "method", null, 0f));
            }
        }
        if (o.methods().contains("prosparse")) {
            for (double s : o.lambdaScales()) {
                if (s != 1.0) {
                    p.add(new Plan("prosparse-x" + scale(s), "prosparse", "sweep", s, 0f));
                }
            }
        }
        return p;
    }

    static String scale(double s) {
        return s == Math.rint(s) ? String.format(Locale.ROOT, "%.0f", s) : Double.toString(s);
    }

    public SparsifyResults run(Parallel par) {
        long t0 = System.nanoTime();
        List<Plan> plan = plan();
        SparsifyResults.Eval dense = denseReference(par);
        List<SparsifyResults.Run> runs = new ArrayList<>();
        double spent = 0;
        int timed = 0;
        for (int i = 0; i < plan.size(); i++) {
            Plan pl = plan.get(i);
            SparsifyResults.Run done = o.resume() ? load(pl.id(), fingerprint(pl), SparsifyResults.Run.class) : null;
            if (done != null) {
                runs.add(done);
                listener.onRunDone(done, true);
                continue;
            }
            double eta = timed == 0 ? Double.NaN : spent / timed * (plan.size() - i);
            listener.onRunStart(i + 1, plan.size(), pl.id(), stepsOf(pl), (System.nanoTime() - t0) / 1e9, eta);
            SparsifyResults.Run r = runOne(pl, dense.bitsPerByte(), par);
            save(pl.id(), fingerprint(pl), r);
            runs.add(r);
            spent += r.seconds();
            timed++;
            listener.onRunDone(r, false);
        }
        return new SparsifyResults(SparsifyResults.SCHEMA, setup(par), dense, runs, (System.nanoTime() - t0) / 1e9,
                notes());
    }

    private int stepsOf(Plan pl) {
        return pl.method().equals("prosparse") ? o.stageSteps() * o.lambdas().length : o.steps();
    }

    private SparsifyResults.Eval denseReference(Parallel par) {
        Map<String, String> fp = fingerprint(null);
        SparsifyResults.Eval d = o.resume() ? load("dense-start", fp, SparsifyResults.Eval.class) : null;
        if (d == null) {
            listener.say("evaluating the dense starting model on " + val.predictedTokens() + " validation tokens");
            EvalResult r = evaluate(start, par);
            d = eval(0f, r, r.bitsPerByte());
            save("dense-start", fp, d);
        }
        listener.say(String.format(Locale.ROOT, "dense %s: bits/byte %.4f, zero sparsity %.4f", modelName,
                d.bitsPerByte(), d.sparsity()));
        return d;
    }

    private SparsifyResults.Run runOne(Plan pl, double denseBpb, Parallel par) {
        long t0 = System.nanoTime();
        Method m = method(pl);
        try (Arena arena = Arena.ofShared()) {                      // the trainer's worker threads read the weights
            LlamaParams p = LlamaParams.copyOf(start, start.config(), arena);
            TrainData data = new TrainData(train.name(), train.ids(), o.seq(), o.seed());
            Integer steps = pl.method().equals("prosparse") ? null : o.steps();
            Trainer.Result r = new Trainer(p, m, o.trainer(steps, pl.distill()), data, val,
                    pl.distill() > 0 ? start : null, null, listener).run(par);
            double trainSeconds = r.seconds();
            ModelConfig fin = r.config();
            Activation fa = Activation.of(fin.hiddenAct(), fin.fatreluThreshold());
            ModelConfig zeroCfg = fa.kind() == Activation.Kind.FATRELU ? fin.withActivation("relu", 0f) : fin;
            EvalResult finEval = r.finalValidation();
            EvalResult zero = zeroCfg.equals(fin) ? finEval : evaluate(p.weights().withConfig(zeroCfg), par);
            Map<String, Object> summary = new LinkedHashMap<>(r.method());
            String rule;
            ModelConfig chosenCfg = fin;
            EvalResult chosen = finEval;
            if (m instanceof ProSparse) {
                rule = "prosparse-auto";
            } else if (fa.kind() == Activation.Kind.RELU) {
                rule = "post-hoc-auto";
                chosenCfg = ProSparse.autoThreshold(finish(p, fin, par), o.tolerance(), summary);
                chosen = chosenCfg.equals(fin) ? finEval : evaluate(p.weights().withConfig(chosenCfg), par);
            } else {
                rule = "none";
            }
            float t = Activation.of(chosenCfg.hiddenAct(), chosenCfg.fatreluThreshold()).threshold();
            return new SparsifyResults.Run(pl.id(), pl.method(), pl.group(), pl.lambdaScale(), lambdas(pl),
                    pl.distill(), r.steps(), zeroCfg.hiddenAct() + (zeroCfg.reluAfterNorm() ? " (+ReLU after norms)"
                    : ""), rule, eval(0f, zero, denseBpb), eval(t, chosen, denseBpb), trainSeconds,
                    (System.nanoTime() - t0) / 1e9, curve(r.log()), summary);
        }
    }

    private Method method(Plan pl) {
        return switch (pl.method()) {
            case "dense" -> new Dense();
            case "prosparse" -> new ProSparse(o.stageSteps(), lambdas(pl), null, o.tolerance());
            default -> Methods.simple(pl.method());
        };
    }

    private float[] lambdas(Plan pl) {
        if (pl.lambdaScale() == null) {
            return new float[0];
        }
        float[] l = o.lambdas().clone();
        for (int i = 0; i < l.length; i++) {
            l[i] = (float) (l[i] * pl.lambdaScale());
        }
        return l;
    }

    /** What {@link ProSparse#autoThreshold} needs, over the trained weights {@code p} (post-hoc search). */
    private Method.Finish finish(LlamaParams p, ModelConfig fin, Parallel par) {
        return new Method.Finish() {
            @Override
            public ModelConfig config() {
                return fin;
            }

            @Override
            public LlamaParams params() {
                return p.withConfig(fin);
            }

            @Override
            public double bitsPerByte(ModelConfig c) {
                return evaluate(p.weights().withConfig(c), par).bitsPerByte();
            }

            @Override
            public float[] positiveActivations(ModelConfig c) {
                return Trainer.positiveActivations(p.weights().withConfig(c), val, par);
            }

            @Override
            public void say(String message) {
                listener.say("post-hoc " + message);
            }
        };
    }

    private EvalResult evaluate(LlamaWeights w, Parallel par) {
        return new Evaluator(LlamaModel.of(w, DenseFfn::new), par).evaluate(val);
    }

    private static SparsifyResults.Eval eval(float threshold, EvalResult r, double denseBpb) {
        return new SparsifyResults.Eval(threshold, r.bitsPerByte(), r.ce(), r.sparsity(), r.sparsityPerLayer(),
                r.bitsPerByte() / denseBpb - 1, r.seconds());
    }

    static SparsifyResults.Curve curve(List<Trainer.StepLog> log) {
        int n = log.size();
        int[] step = new int[n];
        double[] ce = new double[n];
        double[] kl = new double[n];
        double[] l1 = new double[n];
        double[] lambda = new double[n];
        double[] sp = new double[n];
        for (int i = 0; i < n; i++) {
            Trainer.StepLog s = log.get(i);
            step[i] = s.step();
            ce[i] = s.ce();
            kl[i] = s.kl();
            l1[i] = s.l1();
            lambda[i] = s.lambda();
            sp[i] = s.sparsity();
        }
        return new SparsifyResults.Curve(step, ce, kl, l1, lambda, sp);
    }

    private SparsifyResults.Setup setup(Parallel par) {
        ModelConfig c = start.config();
        long params = 0;
        for (var t : start.named().values()) {
            params += t.numel();
        }
        return new SparsifyResults.Setup(modelName, modelSource, params, c.architecture(), c.hiddenAct(),
                c.numLayers(), c.hiddenSize(), c.intermediateSize(), c.vocabSize(), train.name(), train.size(),
                val.stream().name(), val.predictedTokens(), val.predictedBytes(), val.contextLength(), o.quick(),
                o.methods(), o.steps(), o.stageSteps(), o.lambdas(), o.lambdaScales(), o.distill(), o.tolerance(),
                o.batch(), o.microBatches(), o.seq(), o.lr(), o.warmup(), "constant after warm-up", o.weightDecay(),
                o.clip(), o.seed(), par.threads());
    }

    private static List<String> notes() {
        return List.of(
                "Sparsity: the zero fraction of act(gate) over every layer and position of the validation windows "
                        + "(dReLU: of ReLU(x W_gate)).",
                "T = 0: the trained activation as it is. Chosen T: prosparse picks the largest FATReLU T of its grid "
                        + "whose bits/byte rise stays within the tolerance (ProSparse step 3); relu and relufy get "
                        + "the same search after training (post-hoc); dense (SiLU), relu2 and drelu have no threshold.",
                "Every run starts from the same dense weights and sees the same training batches in the same order; "
                        + "AdamW, constant learning rate after warm-up, no checkpoints.",
                "Δ: bits/byte relative to the dense starting model evaluated as it is.",
                "Wall times are of this machine as it was (a shared machine runs slower).");
    }

    /** What makes a saved run reusable: the model, the data and every option the run depends on. */
    private Map<String, String> fingerprint(Plan pl) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model", modelName + " " + start.config());
        m.put("train", train.name() + " " + train.size());
        m.put("valid", val.stream().name() + " " + val.predictedTokens() + " " + val.contextLength());
        m.put("options", String.format(Locale.ROOT, "batch %d/%d seq %d lr %s warmup %d wd %s clip %s seed %d",
                o.batch(), o.microBatches(), o.seq(), o.lr(), o.warmup(), o.weightDecay(), o.clip(), o.seed()));
        if (pl != null) {
            m.put("run", pl.toString());
            m.put("steps", Integer.toString(stepsOf(pl)));
            m.put("lambdas", Arrays.toString(lambdas(pl)));
            m.put("tolerance", Double.toString(o.tolerance()));
        }
        return m;
    }

    private void save(String id, Map<String, String> fp, Object value) {
        Path f = out.resolve("runs").resolve(id + ".json");
        try {
            Files.createDirectories(f.getParent());
            AtomicFile.write(f, JSON.writeValueAsBytes(Map.of("fingerprint", fp, "value", value)));
        } catch (IOException e) {
            throw new SparsaException(f + ": cannot write: " + e.getMessage(), e);
        }
    }

    /** The saved value of {@code id} when its fingerprint matches; null when there is none. */
    private <T> T load(String id, Map<String, String> fp, Class<T> type) {
        Path f = out.resolve("runs").resolve(id + ".json");
        if (!Files.isRegularFile(f)) {
            return null;
        }
        try {
            var node = JSON.readTree(f.toFile());
            Map<?, ?> saved = JSON.treeToValue(node.get("fingerprint"), Map.class);
            if (!fp.equals(saved)) {
                throw new SparsaException.UsageException(f + ": made with other options or another model; use another"
                        + " --out, or leave out --resume to start over");
            }
            return JSON.treeToValue(node.get("value"), type);
        } catch (IOException | NullPointerException e) {
            throw SparsaException.FormatException.of(f, "not a saved run of this experiment: " + e.getMessage());
        }
    }
}
