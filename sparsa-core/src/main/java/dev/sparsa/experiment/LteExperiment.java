package dev.sparsa.experiment;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.Evaluator;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.infer.LteFfn;
import dev.sparsa.infer.mode.SparseModels;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.LteRouters;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.HfExport;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.Schedule;
import dev.sparsa.train.TrainData;
import dev.sparsa.train.Trainer;
import dev.sparsa.train.method.Lte;
import dev.sparsa.train.method.ProSparse;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code sparsa experiment lte}: LTE ({@link Lte}) at each efficiency coefficient η against ProSparse
 * ({@link ProSparse}) at each λ, from one dense model with the same data, optimizer and number of steps. Each LTE
 * model is evaluated with its routers at each threshold τ ({@link LteFfn}, hard selection), each ProSparse model at
 * FATReLU thresholds placed on its own activations (0 and the 10/30/50/70/80/90th percentiles of the positive ones). For
 * every configuration: bits/byte on the validation windows and the FFN multiply-adds per token, counted on the same
 * windows (LTE: the router and the selected experts' gate, up and down; ProSparse under the exact-sparse kernel: the
 * dense gate and the up and down of each neuron with act ≠ 0). Each LTE point is then compared with ProSparse's
 * Pareto curve (bits/byte against FLOPs share) interpolated at the same share. The LTE models are saved with their
 * routers under {@code OUT/models/lte-eta-η/} ({@code --sparse lte} runs them).
 */
public final class LteExperiment {
    private static final double[] PROSPARSE_QUANTILES = {0.1, 0.3, 0.5, 0.7, 0.8, 0.9};

    /** The options (validated by the record). */
    public record Options(int expertSize, int stage1Steps, int stage2Steps, double[] etas, float separability,
                          double[] taus, float routerLr, double[] lambdas, int batch, int seq, float lr, int warmup,
                          float weightDecay, long seed, boolean quick, boolean resume) {
        public Options {
            if (etas.length == 0) {
                throw new SparsaException.UsageException("--etas: give at least one efficiency coefficient");
            }
            for (double e : etas) {
                if (!(e >= 0) || !Double.isFinite(e)) {
                    throw new SparsaException.UsageException("--etas: every η must be a finite number >= 0, got " + e);
                }
            }
            if (taus.length == 0) {
                throw new SparsaException.UsageException("--taus: give at least one threshold");
            }
            for (double t : taus) {
                if (!(t > 0 && t < 1)) {
                    throw new SparsaException.UsageException("--taus: every τ must be in (0, 1), got " + t);
                }
            }
            for (double l : lambdas) {
                if (!(l >= 0) || !Double.isFinite(l)) {
                    throw new SparsaException.UsageException("--lambdas: every λ must be a finite number >= 0, got "
                            + l);
                }
            }
            new Lte(expertSize, stage1Steps, stage2Steps, 0f, separability, 0.5f, routerLr, seed);   // its checks
            trainer(batch, seq, lr, warmup, weightDecay, seed);
            etas = etas.clone();
            taus = taus.clone();
            lambdas = lambdas.clone();
        }

        Trainer.Options trainer() {
            return trainer(batch, seq, lr, warmup, weightDecay, seed);
        }

        static Trainer.Options trainer(int batch, int seq, float lr, int warmup, float wd, long seed) {
            return new Trainer.Options(batch, 1, seq, null, lr, warmup, Schedule.Kind.CONSTANT, 0f, wd, 0.9f, 0.95f,
                    1f, seed, 0, 1, 0, 0f, false);
        }

        int steps() {
            return stage1Steps + stage2Steps;
        }
    }

    /** One finished run, as the store keeps it. */
    public record Done(LteResults.Run run, List<LteResults.Point> points) {
    }

    private final LlamaWeights start;
    private final String modelName;
    private final String modelSource;
    private final List<Path> tokenizerFiles;
    private final TokenStream train;
    private final EvalWindows val;
    private final Options o;
    private final Path out;
    private final RunStore store;
    private final Runs.Listener listener;

    public LteExperiment(LlamaWeights start, String modelName, String modelSource, Path modelDir, TokenStream train,
                         EvalWindows val, Options o, Path out, Runs.Listener listener) {
        if (start.config().intermediateSize() % o.expertSize() != 0) {
            throw new SparsaException.UsageException("--expert-size " + o.expertSize() + " must divide the model's "
                    + "FFN width " + start.config().intermediateSize());
        }
        this.start = start;
        this.modelName = modelName;
        this.modelSource = modelSource;
        this.tokenizerFiles = HfExport.TOKENIZER_FILES.stream().map(modelDir::resolve).toList();
        this.train = train;
        this.val = val;
        this.o = o;
        this.out = out;
        this.store = new RunStore(out, o.resume());
        this.listener = listener;
    }

    static String etaId(double eta) {
        return "lte-eta-" + fmt(eta);
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%s", (float) v);
    }

    public LteResults run(Parallel par) {
        long t0 = System.nanoTime();
        ModelConfig cfg = start.config();
        Map<String, String> fp0 = fingerprint("start");
        Double dense = store.load("start", fp0, Double.class);
        if (dense == null) {
            listener.say("evaluating the starting model on " + val.predictedTokens() + " validation tokens");
            dense = Runs.evaluate(start, val, par).bitsPerByte();
            store.save("start", fp0, dense);
        }
        List<Runs.Plan<Done>> plans = new ArrayList<>();
        for (double eta : o.etas()) {
            String id = etaId(eta);
            plans.add(new Runs.Plan<>(id, o.steps(), fingerprint(id), () -> lteRun(id, eta, par)));
        }
        for (double lambda : o.lambdas()) {
            String id = "prosparse-lambda-" + fmt(lambda);
            plans.add(new Runs.Plan<>(id, o.steps(), fingerprint(id), () -> prosparseRun(id, lambda, par)));
        }
        List<Done> done = Runs.all(plans, Done.class, store, listener, d -> d.points().stream()
                .map(p -> String.format(Locale.ROOT, "%s %.3g: bits/byte %.4f at %.1f%% of the FFN FLOPs",
                        p.method().equals("lte") ? "τ" : "T", p.threshold(), p.bitsPerByte(), p.flopsShare() * 100))
                .reduce((a, b) -> a + "; " + b).orElse(""));
        List<LteResults.Run> runs = new ArrayList<>();
        List<LteResults.Point> points = new ArrayList<>();
        for (Done d : done) {
            runs.add(d.run());
            points.addAll(d.points());
        }
        int experts = cfg.intermediateSize() / o.expertSize();
        LteResults.Setup setup = new LteResults.Setup(modelName, modelSource, cfg.hiddenAct(), cfg.numLayers(),
                cfg.hiddenSize(), cfg.intermediateSize(), o.expertSize(), experts, o.stage1Steps(), o.stage2Steps(),
                o.steps(), o.batch(), o.seq(), o.lr(), o.routerLr(), o.separability(), o.etas(), o.taus(), o.lambdas(),
                val.predictedTokens(), o.quick(), out.resolve("models").resolve(etaId(o.etas()[o.etas().length / 2]))
                .toString());
        return new LteResults(LteResults.SCHEMA, setup, dense, runs, points, compare(points),
                (System.nanoTime() - t0) / 1e9);
    }

    /** Each LTE point against ProSparse's Pareto curve interpolated at its FLOPs share and at its neuron share. */
    static List<LteResults.Comparison> compare(List<LteResults.Point> points) {
        List<LteResults.Point> ps = points.stream().filter(p -> p.method().equals("prosparse")).toList();
        List<LteResults.Comparison> out = new ArrayList<>();
        for (LteResults.Point p : points) {
            if (!p.method().equals("lte")) {
                continue;
            }
            double atF = interpolate(ps, LteResults.Point::flopsShare, p.flopsShare());
            double atC = interpolate(ps, LteResults.Point::computedShare, p.computedShare());
            out.add(new LteResults.Comparison(p.run(), p.threshold(), p.flopsShare(), p.computedShare(),
                    p.bitsPerByte(), atF, p.bitsPerByte() - atF, atC, p.bitsPerByte() - atC));
        }
        return out;
    }

    /**
     * The Pareto front of {@code ps} in (share, bits/byte) (no point with a smaller or equal share has lower bits/byte),
     * interpolated linearly at {@code share}; NaN outside its range.
     */
    static double interpolate(List<LteResults.Point> ps, java.util.function.ToDoubleFunction<LteResults.Point> key,
                              double share) {
        List<LteResults.Point> sorted = ps.stream().sorted(Comparator.comparingDouble(key)).toList();
        List<LteResults.Point> front = new ArrayList<>();
        for (LteResults.Point p : sorted) {
            boolean dominated = false;
            for (LteResults.Point q : sorted) {
                if (q != p && key.applyAsDouble(q) <= key.applyAsDouble(p) && q.bitsPerByte() < p.bitsPerByte()) {
                    dominated = true;
                    break;
                }
            }
            if (!dominated) {
                front.add(p);
            }
        }
        for (int k = 0; k + 1 < front.size(); k++) {
            double a = key.applyAsDouble(front.get(k));
            double b = key.applyAsDouble(front.get(k + 1));
            if (share >= a && share <= b) {
                double w = b == a ? 0 : (share - a) / (b - a);
                return front.get(k).bitsPerByte() + w * (front.get(k + 1).bitsPerByte() - front.get(k).bitsPerByte());
            }
        }
        if (front.size() == 1 && key.applyAsDouble(front.getFirst()) == share) {
            return front.getFirst().bitsPerByte();
        }
        return Double.NaN;
    }

    private Done lteRun(String id, double eta, Parallel par) {
        long t0 = System.nanoTime();
        ModelConfig cfg = start.config();
        try (Arena arena = Arena.ofShared()) {
            LlamaParams p = LlamaParams.copyOf(start, cfg, arena);
            Lte m = new Lte(o.expertSize(), o.stage1Steps(), o.stage2Steps(), (float) eta, o.separability(), 0.5f,
                    o.routerLr(), o.seed());
            Trainer.Result r = new Trainer(p, m, o.trainer(), new TrainData(train.name(), train.ids(), o.seq(),
                    o.seed()), null, null, null, listener).run(par);
            LteRouters routers = m.routers();
            Path dir = out.resolve("models").resolve(id);
            HfExport.write(dir, p, p.config(), DType.F32, tokenizerFiles);
            routers.write(dir);
            List<LteResults.Point> pts = new ArrayList<>();
            for (double tau : o.taus()) {
                LteRouters rt = routers.withTau((float) tau);
                double bpb = new Evaluator(SparseModels.lte(p.weights(), rt), par).evaluate(val).bitsPerByte();
                double[] c = countLte(p.weights(), rt, par);
                pts.add(new LteResults.Point(id, "lte", eta, tau, bpb, c[0], c[1], c[2]));
                listener.say(String.format(Locale.ROOT, "%s τ = %.2f: bits/byte %.4f, %.1f%% of the FFN FLOPs, "
                        + "%.1f%% of the neurons", id, tau, bpb, c[1] * 100, c[2] * 100));
            }
            @SuppressWarnings("unchecked")
            List<double[]> log = (List<double[]>) m.summary().get("log");
            LteResults.Run run = new LteResults.Run(id, "lte", eta, Runs.steps(r.log()), Runs.ce(r.log()),
                    log.stream().mapToInt(x -> (int) x[1]).toArray(), log.stream().mapToDouble(x -> x[2]).toArray(),
                    log.stream().mapToDouble(x -> x[3]).toArray(), (System.nanoTime() - t0) / 1e9);
            return new Done(run, pts);
        }
    }

    private Done prosparseRun(String id, double lambda, Parallel par) {
        long t0 = System.nanoTime();
        ModelConfig cfg = start.config();
        try (Arena arena = Arena.ofShared()) {
            ProSparse m = new ProSparse(o.steps(), new float[]{(float) lambda}, 0f, 0.01);  // one sine-ramped stage
            LlamaParams p = LlamaParams.copyOf(start, m.studentConfig(cfg), arena);
            Trainer.Result r = new Trainer(p, m, o.trainer(), new TrainData(train.name(), train.ids(), o.seq(),
                    o.seed()), null, null, null, listener).run(par);
            ModelConfig relu = r.config();
            float[] pos = Trainer.positiveActivations(p.weights().withConfig(relu), val, par);
            Arrays.sort(pos);
            List<Float> ts = new ArrayList<>(List.of(0f));
            for (double q : PROSPARSE_QUANTILES) {
                if (pos.length > 0) {
                    float t = pos[(int) Math.min(pos.length - 1, Math.floor(q * pos.length))];
                    if (t > ts.getLast()) {
                        ts.add(t);
                    }
                }
            }
            List<LteResults.Point> pts = new ArrayList<>();
            for (float t : ts) {
                ModelConfig c = t == 0f ? relu : relu.withActivation("fatrelu", t);
                LlamaWeights w = p.weights().withConfig(c);
                double bpb = Runs.evaluate(w, val, par).bitsPerByte();
                double[] cnt = countProSparse(w, par);
                pts.add(new LteResults.Point(id, "prosparse", lambda, t, bpb, cnt[0], cnt[1], cnt[2]));
                listener.say(String.format(Locale.ROOT, "%s T = %.3g: bits/byte %.4f, %.1f%% of the FFN FLOPs", id, t,
                        bpb, cnt[1] * 100));
            }
            int steps = r.log().size();
            LteResults.Run run = new LteResults.Run(id, "prosparse", lambda, Runs.steps(r.log()), Runs.ce(r.log()),
                    new int[steps], new double[steps], new double[steps], (System.nanoTime() - t0) / 1e9);
            return new Done(run, pts);
        }
    }

    /** {FFN multiply-adds per token (all layers), their share of dense, share of neurons computed}: LTE. */
    double[] countLte(LlamaWeights w, LteRouters r, Parallel par) {
        ModelConfig c = w.config();
        int d = c.hiddenSize();
        int n = r.experts();
        long[] k = {0, 0};                                              // selected experts, (token, layer) pairs
        float[] z = new float[n];
        ActivationTap tap = (layer, pos, x, xo, gate, act, h, off) -> {
            LteRouters.logits(r.router(layer), n, d, x, xo, z, 0);
            for (int e = 0; e < n; e++) {
                if (LteRouters.selected(z[e], r.tau())) {
                    k[0]++;
                }
            }
            k[1]++;
        };
        forEachWindow(SparseModels.lte(w, r), tap, par);
        double tokens = (double) k[1] / c.numLayers();
        double flops = (k[1] * (double) LteFfn.flops(0, n, r.expertSize(), d)
                + k[0] * 3.0 * r.expertSize() * d) / tokens;
        double dense = 3.0 * d * c.intermediateSize() * c.numLayers();
        return new double[]{flops, flops / dense, (double) k[0] / ((double) k[1] * n)};
    }

    /** The same for a ReLU-family model under the exact-sparse kernel: dense gate, up and down of act ≠ 0. */
    double[] countProSparse(LlamaWeights w, Parallel par) {
        ModelConfig c = w.config();
        int d = c.hiddenSize();
        int f = c.intermediateSize();
        long[] k = {0, 0};                                              // active neurons, (token, layer) pairs
        ActivationTap tap = (layer, pos, x, xo, gate, act, h, off) -> {
            for (int i = off; i < off + f; i++) {
                if (act[i] != 0f) {
                    k[0]++;
                }
            }
            k[1]++;
        };
        forEachWindow(LlamaModel.of(w, DenseFfn::new), tap, par);
        double tokens = (double) k[1] / c.numLayers();
        double flops = (k[1] * (double) d * f + k[0] * 2.0 * d) / tokens;
        double dense = 3.0 * d * f * c.numLayers();
        return new double[]{flops, flops / dense, (double) k[0] / ((double) k[1] * f)};
    }

    private void forEachWindow(LlamaModel m, ActivationTap tap, Parallel par) {
        for (int win = 0; win < val.count(); win++) {
            int[] ids = val.ids(win);
            m.forward(m.newCache(ids.length), ids, false, tap, par);
        }
    }

    private Map<String, String> fingerprint(String id) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("experiment", "lte");
        m.put("model", modelName + " " + start.config());
        m.put("train", train.name() + " " + train.size());
        m.put("valid", val.stream().name() + " " + val.predictedTokens() + " " + val.contextLength());
        m.put("options", String.format(Locale.ROOT, "experts of %d, stages %d + %d, sep %s, taus %s, router lr %s, "
                        + "batch %d seq %d lr %s warmup %d wd %s seed %d", o.expertSize(), o.stage1Steps(),
                o.stage2Steps(), o.separability(), Arrays.toString(o.taus()), o.routerLr(), o.batch(), o.seq(), o.lr(),
                o.warmup(), o.weightDecay(), o.seed()));
        m.put("run", id);
        return m;
    }
}
