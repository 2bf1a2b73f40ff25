package dev.sparsa.calibrate;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.infer.Predictor;
import dev.sparsa.infer.SparseStats;
import dev.sparsa.infer.TealAttention;
import dev.sparsa.infer.TealFfn;
import dev.sparsa.infer.mode.Calibration;
import dev.sparsa.infer.mode.CalibrationFile;
import dev.sparsa.infer.mode.ModelShape;
import dev.sparsa.infer.mode.SparseMode;
import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.llama.AttnProjections;
import dev.sparsa.model.llama.KvCache;
import dev.sparsa.model.llama.LlamaBlock;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.profile.metric.Attribution;
import dev.sparsa.profile.metric.InverseNormal;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Gemm;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.FfnGradients;

import java.lang.foreign.Arena;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Calibrates a sparse mode on real activations (docs/sparse-modes.md): the dense model runs the calibration windows
 * (the evaluation protocol's windows of a corpus) and taps give each method what it needs:
 * <ul>
 *   <li>cats: per layer the target quantile of |act(g)| (CATS: {@code t = min{t' : F(t') ≥ k}});</li>
 *   <li>topk: per layer the target quantile of the standardized pre-activation {@code (g_i − mean(g))/std(g)}, the z
 *   that makes statistical top-k drop the target share (the paper's Gaussian {@code Φ⁻¹(1 − k/F)} is reported
 *   beside it);</li>
 *   <li>teal: per layer the distributions of |xn| (q, k, v inputs), |att| (o input), |x| (gate, up inputs) and |h|
 *   (down input); thresholds are their quantiles at each projection's sparsity, uniform or by TEAL's block-wise
 *   greedy allocation ({@link TealGreedy}). TEAL takes the distributions of the dense model; since o and down see
 *   the outputs of sparsified projections (and every layer those of sparsified layers), their inputs are smaller and
 *   the measured sparsity overshoots (51% for 50% on tiny-llama-brown). {@code refine} passes re-estimate every
 *   threshold on the inputs the sparsified model itself produces, which brings it to the target;</li>
 *   <li>predictor: the FFN inputs and the active sets (act(g) ≠ 0, or CATS's |act(g)| ≥ t at the target for a
 *   SiLU/GELU model), then one predictor per layer trained with Deja Vu's weighted BCE ({@link PredictorTrainer}) and
 *   τ chosen on held-out tokens for the target recall.</li>
 *   <li>attribution: per neuron the mean corrected GxO score (Song et al. 2024: x_i·∂F/∂x_i + ½|x_i|·‖∂F/∂X‖₂,
 *   F the log-likelihood of the dense model's greedy predictions, x = act(g) ⊙ up) over the calibration tokens, by
 *   {@link FfnGradients}, divided by the neuron's mean |act(g_i)| on the same tokens: the weight w_i that turns the
 *   magnitude a token has at inference into the attribution the neuron has on average per unit of it.</li>
 * </ul>
 * Quantiles come from {@link Histogram}s, so the share of calibration values below each threshold is exact.
 */
public final class Calibrator {

    /**
     * @param mode         what to calibrate (cats, teal, topk, predicted)
     * @param target       target sparsity in (0, 1); predicted on a ReLU-family model: NaN (labels are the zeros)
     * @param recall       predicted: target recall in (0, 1]
     * @param allocation   teal: uniform or greedy
     * @param greedyTokens teal greedy: tokens whose block outputs measure the error
     * @param greedyStep   teal greedy: base step α (each step raises the block's sparsity by α / Σ w)
     * @param refine       teal: passes that re-estimate the thresholds on the sparsified model's own inputs (0:
     *                     TEAL's dense distributions only)
     * @param kind         predicted: lowrank or mlp
     * @param rank         predicted: hidden width
     * @param epochs       predicted: training epochs
     * @param lr           predicted: AdamW learning rate
     * @param heldOut      predicted: share of tokens held out for τ, recall and precision
     * @param seed         every random choice
     * @param predictorDtype predicted: the dtype the predictor runs in (null: Q8_0 where the shapes allow, else BF16)
     */
    public record Options(SparseMode mode, double target, double recall, String allocation, int greedyTokens,
                          double greedyStep, int refine, Predictor.Kind kind, int rank, int epochs, double lr, double heldOut,
                          long seed, DType predictorDtype) {

        public Options {
            if (!mode.calibrated()) {
                throw new SparsaException.UsageException("--sparse " + mode.key() + " needs no calibration");
            }
            if (!Double.isNaN(target) && !(target > 0 && target < 1)) {
                throw new SparsaException.UsageException("--target must be in (0, 1), got " + target);
            }
            if (mode == SparseMode.PREDICTED && !(recall > 0 && recall <= 1)) {
                throw new SparsaException.UsageException("--recall must be in (0, 1], got " + recall);
            }
            if (refine < 0) {
                throw new SparsaException.UsageException("--refine must be >= 0, got " + refine);
            }
            if (mode == SparseMode.TEAL && !allocation.equals("uniform") && !allocation.equals("greedy")) {
                throw new SparsaException.UsageException("--allocation must be uniform or greedy, got " + allocation);
            }
        }

        /** Defaults for {@code mode} at {@code target} (recall 0.99, uniform TEAL, an MLP predictor of width 128). */
        public static Options defaults(SparseMode mode, double target) {
            return new Options(mode, target, 0.99, "uniform", 512, 0.05, 2, Predictor.Kind.MLP, 128, 8, 1e-3, 0.1,
                    1234, null);
        }

        /** The predictor's dtype: the one asked for, else Q8_0 where D and r are multiples of 32, else BF16. */
        public DType predictorDtype(int hidden) {
            if (predictorDtype != null) {
                if (predictorDtype.quantized() && (hidden % predictorDtype.blockSize() != 0
                        || rank % predictorDtype.blockSize() != 0)) {
                    throw new SparsaException.UsageException("--predictor-dtype q8_0 needs the hidden size (" + hidden
                            + ") and --rank (" + rank + ") to be multiples of 32; use bf16 or f32");
                }
                return predictorDtype;
            }
            return hidden % 32 == 0 && rank % 32 == 0 ? DType.Q8_0 : DType.BF16;
        }
    }

    private final LlamaWeights w;
    private final Parallel par;
    private final Consumer<String> log;

    public Calibrator(LlamaWeights weights, Parallel par, Consumer<String> log) {
        this.w = weights;
        this.par = par;
        this.log = log;
    }

    /** Calibrates {@code o.mode()} on {@code windows} (named {@code corpus}) for the model {@code shape}. */
    public Calibration run(EvalWindows windows, String corpus, ModelShape shape, Options o) {
        ModelConfig cfg = w.config();
        Activation act = Activation.of(cfg.hiddenAct(), cfg.fatreluThreshold());
        if (Double.isNaN(o.target()) && (o.mode() != SparseMode.PREDICTED || !act.zeroBelow())) {
            throw new SparsaException.UsageException("--method " + o.mode().method() + " on this model needs "
                    + "--target S in (0, 1)" + (o.mode() == SparseMode.PREDICTED ? " (the CATS sparsity of the "
                    + "predictor's labels: " + cfg.hiddenAct() + " has no exact zeros)" : ""));
        }
        Calibration.Source src = new Calibration.Source(corpus, windows.stream().size(), windows.contextLength(),
                o.seed(), Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        return switch (o.mode()) {
            case CATS -> cats(windows, shape, src, o);
            case TOPK -> topk(windows, shape, src, o);
            case TEAL -> teal(windows, shape, src, o);
            case PREDICTED -> predicted(windows, shape, src, o, act);
            case ATTRIBUTION -> attribution(windows, shape, src, o);
            default -> throw new IllegalStateException();
        };
    }

    // ---------------------------------------------------------------- passes

    /** Runs every window through {@code m} (one sequence each, all positions tapped). */
    void pass(LlamaModel m, EvalWindows windows, ActivationTap tap, String what) {
        long t0 = System.nanoTime();
        KvCache cache = m.newCache(windows.contextLength());
        int[] ids = new int[windows.contextLength()];
        for (int k = 0; k < windows.count(); k++) {
            int len = windows.length(k);
            int[] x = len == ids.length ? ids : new int[len];
            windows.stream().copyIds(windows.start(k), len, x);
            cache.clear();
            m.forward(cache, x, false, tap, par);
        }
        log.accept(String.format("calibrate: %s over %d tokens in %.1f s", what, windows.stream().size(),
                (System.nanoTime() - t0) / 1e9));
    }

    private LlamaModel dense() {
        return LlamaModel.of(w, DenseFfn::new);
    }

    private Histogram[] histograms(int n) {
        Histogram[] h = new Histogram[n];
        for (int i = 0; i < n; i++) {
            h[i] = new Histogram();
        }
        return h;
    }

    /** Per layer the histogram of |act(g)| on the dense model. */
    Histogram[] actMagnitudes(EvalWindows windows) {
        int f = w.config().intermediateSize();
        Histogram[] h = histograms(w.config().numLayers());
        pass(dense(), windows, (layer, pos, x, xo, gate, a, hh, off) -> h[layer].addAbs(a, off, f), "|act(gate)|");
        return h;
    }

    // ---------------------------------------------------------------- cats

    private Calibration cats(EvalWindows windows, ModelShape shape, Calibration.Source src, Options o) {
        Histogram[] h = actMagnitudes(windows);
        List<Calibration.Layer> layers = new ArrayList<>();
        for (Histogram hl : h) {
            float t = hl.quantile(o.target());                             // t = min{t' : F(t') ≥ k}
            layers.add(Calibration.Layer.cats(t, hl.below(t)));
        }
        return new Calibration(SparseMode.CATS, shape, src, o.target(), Double.NaN, null, null, Double.NaN, layers,
                null);
    }

    // ---------------------------------------------------------------- topk

    private Calibration topk(EvalWindows windows, ModelShape shape, Calibration.Source src, Options o) {
        int f = w.config().intermediateSize();
        Histogram[] h = histograms(w.config().numLayers());
        pass(dense(), windows, (layer, pos, x, xo, gate, a, hh, off) -> {
            double s = 0;
            for (int i = off; i < off + f; i++) {
                s += gate[i];
            }
            double mean = s / f;
            double ss = 0;
            for (int i = off; i < off + f; i++) {
                ss += (gate[i] - mean) * (gate[i] - mean);
            }
            double sd = Math.sqrt(ss / f);
            for (int i = off; i < off + f; i++) {
                h[layer].add((float) (sd > 0 ? (gate[i] - mean) / sd : 0));  // (g_i − mean(g)) / std(g)
            }
        }, "standardized gate");
        double gz = InverseNormal.of(o.target());                          // Φ⁻¹(1 − k/F), k/F = 1 − target
        List<Calibration.Layer> layers = new ArrayList<>();
        for (Histogram hl : h) {
            float z = hl.quantile(o.target());
            layers.add(Calibration.Layer.topk(z, hl.below(z), hl.below((float) gz)));
        }
        return new Calibration(SparseMode.TOPK, shape, src, o.target(), Double.NaN, null, null, gz, layers, null);
    }

    // ---------------------------------------------------------------- attribution

    private Calibration attribution(EvalWindows windows, ModelShape shape, Calibration.Source src, Options o) {
        long t0 = System.nanoTime();
        int layers = w.config().numLayers();
        int f = w.config().intermediateSize();
        double[][] cor = new double[layers][f];   // Σ_t cor-GxO_i(t)
        double[][] mag = new double[layers][f];   // Σ_t |act(g_i)(t)|
        LlamaModel dense = dense();
        KvCache cache = dense.newCache(windows.contextLength());
        float[] score = new float[f];
        try (FfnGradients fg = new FfnGradients(w)) {
            for (int k = 0; k < windows.count(); k++) {
                int len = windows.length(k);
                if (len < 2) {
                    continue;
                }
                int[] x = new int[len];
                windows.stream().copyIds(windows.start(k), len, x);
                int rows = len - 1;                                          // the positions that predict
                fg.run(x, len, FfnGradients.Labels.GREEDY, par, (l, h, g, r, ff) -> {
                    for (int t = 0; t < r; t++) {
                        Attribution.scores(Attribution.Score.COR_GXO, h, g, t * ff, ff, score, 0);
                        for (int i = 0; i < ff; i++) {
                            cor[l][i] += score[i];                           // x_i·∂F/∂x_i + ½|x_i|·‖∂F/∂X‖₂
                        }
                    }
                });
                cache.clear();
                dense.forward(cache, x, false, (layer, pos, xx, xo, gate, a, hh, off) -> {
                    if (pos < rows) {
                        for (int i = 0; i < f; i++) {
                            mag[layer][i] += Math.abs(a[off + i]);
                        }
                    }
                }, par);
            }
        }
        List<float[]> importance = new ArrayList<>();
        List<Calibration.Layer> ls = new ArrayList<>();
        double dropped = Math.floor(o.target() * f) / f;                      // ⌊s·F⌋ of every token
        for (int l = 0; l < layers; l++) {
            float[] wt = new float[f];
            for (int i = 0; i < f; i++) {
                wt[i] = mag[l][i] > 0 ? (float) (cor[l][i] / mag[l][i]) : 0f;  // w_i = E[cor-GxO_i] / E[|act_i|]
            }
            importance.add(wt);
            ls.add(Calibration.Layer.attribution(dropped));
        }
        log.accept(String.format("calibrate: attribution over %d tokens in %.1f s", windows.stream().size(),
                (System.nanoTime() - t0) / 1e9));
        return new Calibration(SparseMode.ATTRIBUTION, shape, src, o.target(), Double.NaN, null, null, Double.NaN,
                ls, null, importance);
    }

    // ---------------------------------------------------------------- teal

    /** The four input distributions of a layer, indexed as {@link #siteHistogram}. */
    static final int ATTN_IN = 0;
    static final int O_IN = 1;
    static final int FFN_IN = 2;
    static final int DOWN_IN = 3;

    /** Which of the four distributions a site's input follows. */
    static int siteHistogram(SparseStats.Site s) {
        return switch (s) {
            case Q, K, V -> ATTN_IN;
            case O -> O_IN;
            case GATE, UP -> FFN_IN;
            case DOWN -> DOWN_IN;
        };
    }

    /** Per layer the histograms of |xn|, |att|, |x| and |h| on the dense model. */
    Histogram[][] tealDistributions(EvalWindows windows) {
        ModelConfig cfg = w.config();
        int layers = cfg.numLayers();
        Histogram[][] h = new Histogram[layers][];
        for (int l = 0; l < layers; l++) {
            h[l] = histograms(4);
        }
        int d = cfg.hiddenSize();
        int f = cfg.intermediateSize();
        LlamaModel m = LlamaModel.of(w, DenseFfn::new, ly -> new Recording(ly, h[ly.index()], null));
        pass(m, windows, (layer, pos, x, xo, gate, a, hh, off) -> {
            h[layer][FFN_IN].addAbs(x, xo, d);
            h[layer][DOWN_IN].addAbs(hh, off, f);
        }, "TEAL input distributions");
        return h;
    }

    /**
     * The same distributions with the model sparsified by TEAL at thresholds {@code t} (by layer and site): each
     * projection's input as it reaches that projection (before its own threshold), so o sees the attention of the
     * sparsified q, k, v, down the h of the sparsified gate and up, and every layer the output of the sparsified ones
     * before it.
     */
    Histogram[][] tealDistributions(EvalWindows windows, float[][] t) {
        ModelConfig cfg = w.config();
        int layers = cfg.numLayers();
        Histogram[][] h = new Histogram[layers][];
        for (int l = 0; l < layers; l++) {
            h[l] = histograms(4);
        }
        int d = cfg.hiddenSize();
        int f = cfg.intermediateSize();
        int down = SparseStats.Site.DOWN.ordinal();
        LlamaModel m = LlamaModel.of(w, (fw, act) -> {
            float[] tl = t[fw.layer()].clone();
            tl[down] = 0f;                                                 // s_{t_down} is applied by the tap below
            return new TealFfn(fw, act, tl, null);
        }, ly -> new Recording(ly, h[ly.index()], new TealAttention(ly, t[ly.index()], null)));
        pass(m, windows, (layer, pos, x, xo, gate, a, hh, off) -> {
            h[layer][FFN_IN].addAbs(x, xo, d);
            h[layer][DOWN_IN].addAbs(hh, off, f);
            float td = t[layer][down];
            for (int i = off; i < off + f; i++) {
                hh[i] = Math.abs(hh[i]) > td ? hh[i] : 0f;                 // s_{t_down}(h), as TealFfn does
            }
        }, "TEAL input distributions of the sparsified model");
        return h;
    }

    /** The thresholds of one layer's sites at the sparsities {@code p} (by site). */
    static float[] thresholds(Histogram[] layer, double[] p) {
        float[] t = new float[p.length];
        for (SparseStats.Site s : SparseStats.Site.values()) {
            double ps = p[s.ordinal()];
            t[s.ordinal()] = ps <= 0 ? 0f : ps >= 1 ? Float.MAX_VALUE : layer[siteHistogram(s)].quantile(ps);
        }
        return t;
    }

    /** TEAL's parameter weights of the projections (q = 1): k, v = kvDim / D, gate, up, down = F / D. */
    static double[] projectionWeights(ModelConfig c) {
        double d = c.hiddenSize();
        double q = c.numHeads() * c.headDim() / d;
        double kv = c.numKvHeads() * c.headDim() / d;
        double ffn = c.intermediateSize() / d;
        return new double[] {q, kv, kv, q, ffn, ffn, ffn};
    }

    /** Σ w_i p_i / Σ w_i: the block's parameter-weighted sparsity (TEAL's "effective sparsity"). */
    static double effective(double[] p, double[] weights) {
        double s = 0;
        double n = 0;
        for (int i = 0; i < p.length; i++) {
            s += Math.min(1, p[i]) * weights[i];
            n += weights[i];
        }
        return s / n;
    }

    private Calibration teal(EvalWindows windows, ModelShape shape, Calibration.Source src, Options o) {
        Histogram[][] h = tealDistributions(windows);
        double[] weights = projectionWeights(w.config());
        List<double[]> sparsities;
        if (o.allocation().equals("greedy")) {
            sparsities = new TealGreedy(w, h, par, log).allocate(windows, o.target(), o.greedyTokens(),
                    o.greedyStep());
        } else {
            sparsities = new ArrayList<>();
            for (int l = 0; l < h.length; l++) {
                double[] p = new double[SparseStats.Site.values().length];
                java.util.Arrays.fill(p, o.target());
                sparsities.add(p);
            }
        }
        float[][] th = new float[h.length][];
        for (int l = 0; l < h.length; l++) {
            th[l] = thresholds(h[l], sparsities.get(l));
        }
        for (int it = 0; it < o.refine(); it++) {                          // re-estimate on the sparsified model
            h = tealDistributions(windows, th);
            for (int l = 0; l < h.length; l++) {
                th[l] = thresholds(h[l], sparsities.get(l));
            }
        }
        List<Calibration.Layer> layers = new ArrayList<>();
        for (int l = 0; l < h.length; l++) {
            double[] p = sparsities.get(l);
            float[] t = th[l];
            double[] measured = new double[p.length];
            for (SparseStats.Site s : SparseStats.Site.values()) {
                measured[s.ordinal()] = p[s.ordinal()] >= 1 ? 1 : h[l][siteHistogram(s)].below(t[s.ordinal()]);
            }
            layers.add(Calibration.Layer.teal(t, p, effective(measured, weights)));
        }
        return new Calibration(SparseMode.TEAL, shape, src, o.target(), Double.NaN, o.allocation(), null, Double.NaN,
                layers, null);
    }

    /**
     * The TEAL sparsity {@code stats} measured: per layer the parameter-weighted share of zeroed inputs over the
     * seven projections ({@link #effective}), averaged over the layers (NaN when nothing was counted).
     */
    public static double tealSparsity(SparseStats stats, ModelConfig cfg) {
        double[] weights = projectionWeights(cfg);
        double sum = 0;
        for (int l = 0; l < stats.layers(); l++) {
            double[] p = new double[weights.length];
            for (SparseStats.Site s : SparseStats.Site.values()) {
                p[s.ordinal()] = stats.inputSparsity(l, s);
            }
            sum += effective(p, weights);
        }
        return sum / stats.layers();
    }

    /**
     * Attention projections that count |xn| and |att| into a layer's histograms, then compute them densely or by
     * {@code delegate}.
     */
    private static final class Recording implements AttnProjections {
        private final LlamaWeights.Layer ly;
        private final Histogram[] h;
        private final AttnProjections delegate;

        Recording(LlamaWeights.Layer ly, Histogram[] h, AttnProjections delegate) {
            this.ly = ly;
            this.h = h;
            this.delegate = delegate;
        }

        @Override
        public void qkv(float[] xn, int rows, float[] q, float[] k, float[] v, Gemm gemm, Parallel par) {
            h[ATTN_IN].addAbs(xn, 0, rows * ly.wq().cols());
            if (delegate != null) {
                delegate.qkv(xn, rows, q, k, v, gemm, par);
                return;
            }
            LlamaBlock.linear(gemm, ly.wq(), xn, rows, q, ly.bq(), par);
            LlamaBlock.linear(gemm, ly.wk(), xn, rows, k, ly.bk(), par);
            LlamaBlock.linear(gemm, ly.wv(), xn, rows, v, ly.bv(), par);
        }

        @Override
        public void o(float[] att, int rows, float[] out, Gemm gemm, Parallel par) {
            h[O_IN].addAbs(att, 0, rows * ly.wo().cols());
            if (delegate != null) {
                delegate.o(att, rows, out, gemm, par);
                return;
            }
            LlamaBlock.linear(gemm, ly.wo(), att, rows, out, ly.bo(), par);
        }
    }

    // ---------------------------------------------------------------- predictor

    private Calibration predicted(EvalWindows windows, ModelShape shape, Calibration.Source src, Options o,
                                  Activation act) {
        ModelConfig cfg = w.config();
        int layers = cfg.numLayers();
        boolean cats = !act.zeroBelow() || !Double.isNaN(o.target());
        float[] labelT = new float[layers];
        if (cats) {
            Histogram[] h = actMagnitudes(windows);
            for (int l = 0; l < layers; l++) {
                labelT[l] = h[l].quantile(o.target());                     // CATS labels: |act(g)| ≥ t
            }
        }
        PredictorData data = PredictorData.collect(this, dense(), windows, cats ? labelT : null, cfg);
        PredictorTrainer.Options to = new PredictorTrainer.Options(o.kind(), o.rank(), o.epochs(), o.lr(), 256,
                0.01, o.seed());
        List<Predictor> predictors = new ArrayList<>();
        List<Calibration.Layer> out = new ArrayList<>();
        DType dtype = o.predictorDtype(cfg.hiddenSize());
        for (int l = 0; l < layers; l++) {
            long t0 = System.nanoTime();
            PredictorData.Layer d = data.layer(l);
            int n = d.rows();
            int train = (int) Math.round(n * (1 - o.heldOut()));
            if (train < 1 || train >= n) {
                throw new SparsaException.UsageException("--tokens: " + n + " calibration tokens leave no held-out "
                        + "tokens to choose τ (need at least " + (int) Math.ceil(1 / o.heldOut()) + ")");
            }
            PredictorTrainer.Result r = PredictorTrainer.train(d, train, to, par);
            Predictor run = r.predictor().as(dtype, Arena.ofAuto());          // τ for the weights inference reads
            PredictorTrainer.Eval e = PredictorTrainer.chooseThreshold(run, d, train, n, o.recall(), par);
            predictors.add(r.predictor());
            out.add(Calibration.Layer.predicted(cats ? labelT[l] : Float.NaN, e.tau(), e.recall(), e.precision(),
                    1 - e.candidates()));
            log.accept(String.format("calibrate: layer %d predictor: loss %.4f, held-out recall %.3f, precision %.3f,"
                            + " candidates %.1f%% (active %.1f%%), %s, %.1f s", l, r.loss(), e.recall(), e.precision(),
                    100 * e.candidates(), 100 * e.activeShare(), CalibrationFile.key(dtype),
                    (System.nanoTime() - t0) / 1e9));
        }
        Calibration.PredictorSpec spec = new Calibration.PredictorSpec(o.kind(), o.rank(), cats ? "cats" : "nonzero",
                o.epochs(), o.lr(), o.heldOut(), dtype);
        return new Calibration(SparseMode.PREDICTED, shape, src, cats ? o.target() : Double.NaN, o.recall(), null,
                spec, Double.NaN, out, predictors);
    }

    LlamaWeights weights() {
        return w;
    }

    Parallel parallel() {
        return par;
    }
}
