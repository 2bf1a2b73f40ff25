package dev.sparsa.train.method;

import dev.sparsa.SparsaException;
import dev.sparsa.infer.LteFfn;
import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnActivations;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.model.LteRouters;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;
import dev.sparsa.train.AdamW;
import dev.sparsa.train.Backprop;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.Method;
import dev.sparsa.train.TrainContext;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * LTE, Learn-To-be-Efficient (Zheng et al. 2024, "Learn To be Efficient: Build Structured Sparsity in Large Language
 * Models"), on the gated FFN of every layer:
 * <ol>
 *   <li><b>Expert grouping</b> (before the first step): the F neurons of each layer are clustered into N = F/S experts
 *   of S neurons by balanced k-means on their gate rows (the paper's parameter clustering on W1, from MoEfication);
 *   the neurons are then permuted once (gate and up rows, down columns: the function does not change) so that
 *   expert e is the contiguous neurons [e·S, (e+1)·S), what the kernel reads.</li>
 *   <li><b>Routers</b>: per layer {@code G(x)_e = σ(x·W_r,e)} on the FFN input x (after the pre-FFN norm), W_r of
 *   [N, D] drawn N(0, 1/D).</li>
 *   <li><b>Stage 1</b> (model-router training, {@code stage1Steps}): soft expert scores scale the neurons,
 *   {@code F(x) = Σ_e G(x)_e E_e(x)}, i.e. {@code h'_i = G_{e(i)}·h_i}; the loss adds LTE's efficiency loss
 *   {@code η · (1/(L·N)) Σ_ℓ Σ_e G_ℓ(x)_e²} and its separability loss {@code λ_s · (1/(L·N)) Σ_ℓ Σ_e 1/(G_ℓ(x)_e − τ)²}
 *   (pushes scores away from the threshold; |G − τ| is taken ≥ 10⁻³ there, the term being infinite at G = τ), both means over the tokens. Model and routers are trained.</li>
 *   <li><b>Stage 2</b> ({@code stage2Steps}): threshold-based hard selection {@code h'_i = 1[G_{e(i)} > τ]·h_i}, the
 *   routers fixed, the model fine-tuned with the task loss alone.</li>
 * </ol>
 * The routers are trained by their own Adam (the trainer's β1, β2; learning rate {@code routerLr}, no decay, no
 * clipping), stepped in {@link #afterStep} on the gradients {@link Backprop} accumulated through {@link #backward}.
 * Their values and moments are part of {@link #state()}, so a resumed run continues to the same bits.
 */
public final class Lte implements Method, Backprop.FfnGate {
    private static final int KMEANS_ITERATIONS = 10;
    static final float MIN_MARGIN = 1e-3f;

    private final int expertSize;
    private final int stage1Steps;
    private final int stage2Steps;
    private final float eta;
    private final float separability;
    private final float tau;
    private final float routerLr;
    private final long seed;

    // set by the first ffnGate(p) or by restore
    private int layers;
    private int d;
    private int f;
    private int n;
    private float[][] wr;          // [L][N·D] routers
    private float[][] gr;          // their gradients
    private float[][] mr;          // Adam moments
    private float[][] vr;
    private long adamSteps;
    private boolean grouped;
    private int stage = 1;
    // the last forward, per layer
    private float[][] g;           // [rows·N] expert scores G
    private float[][] hRaw;        // [rows·F] h before the gate (stage 1)
    private float[][] dz;          // [rows·N] ∂loss/∂z of the router logits
    private float[] zRow;
    private int rows;
    private final List<double[]> log = new ArrayList<>();   // {step, stage, efficiency loss, selected share}

    /**
     * @param expertSize   S, neurons per expert (the paper: 32)
     * @param stage1Steps  steps of stage 1 (soft scores, efficiency loss)
     * @param stage2Steps  steps of stage 2 (hard selection, routers fixed)
     * @param eta          η, the efficiency loss coefficient
     * @param separability λ_s, the separability loss coefficient (0: none)
     * @param tau          τ, the selection threshold (the paper: 0.5)
     * @param routerLr     learning rate of the routers' Adam
     */
    public Lte(int expertSize, int stage1Steps, int stage2Steps, float eta, float separability, float tau,
               float routerLr, long seed) {
        if (expertSize < 1) {
            throw new SparsaException.UsageException("--expert-size must be >= 1, got " + expertSize);
        }
        if (stage1Steps < 0 || stage2Steps < 0 || stage1Steps + stage2Steps < 1) {
            throw new SparsaException.UsageException("LTE needs stage steps >= 0 with at least one step, got "
                    + stage1Steps + " + " + stage2Steps);
        }
        if (!(eta >= 0) || !Float.isFinite(eta)) {
            throw new SparsaException.UsageException("--eta (LTE's efficiency coefficient) must be >= 0, got " + eta);
        }
        if (!(separability >= 0) || !Float.isFinite(separability)) {
            throw new SparsaException.UsageException("--separability must be >= 0, got " + separability);
        }
        if (!(tau > 0 && tau < 1)) {
            throw new SparsaException.UsageException("--tau must be in (0, 1), got " + tau);
        }
        if (!(routerLr > 0) || !Float.isFinite(routerLr)) {
            throw new SparsaException.UsageException("--router-lr must be > 0, got " + routerLr);
        }
        this.expertSize = expertSize;
        this.stage1Steps = stage1Steps;
        this.stage2Steps = stage2Steps;
        this.eta = eta;
        this.separability = separability;
        this.tau = tau;
        this.routerLr = routerLr;
        this.seed = seed;
    }

    @Override
    public String name() {
        return "lte";
    }

    @Override
    public ModelConfig studentConfig(ModelConfig start) {
        return start;                                   // LTE keeps the activation (SiLU works: the paper's point)
    }

    @Override
    public int steps(Integer requested) {
        int total = stage1Steps + stage2Steps;
        if (requested != null && requested != total) {
            throw new SparsaException.UsageException("lte runs " + stage1Steps + " + " + stage2Steps + " = " + total
                    + " steps; --steps " + requested + " disagrees (leave it out)");
        }
        return total;
    }

    /** Stage 1 up to {@code stage1Steps}, then stage 2; the architecture does not change. */
    @Override
    public ModelConfig configAt(int step, ModelConfig current) {
        stage = step <= stage1Steps ? 1 : 2;
        return current;
    }

    /** The current stage (1: soft scores + efficiency loss; 2: hard selection, routers fixed). */
    public int stage() {
        return stage;
    }

    /** Forces a stage (tests; the trainer sets it through {@link #configAt}). */
    public void stage(int s) {
        if (s != 1 && s != 2) {
            throw new IllegalArgumentException("stage " + s);
        }
        stage = s;
    }

    /** The first call groups the neurons of {@code p} into experts (permuting them) and draws the routers. */
    @Override
    public Backprop.FfnGate ffnGate(LlamaParams p) {
        ModelConfig c = p.config();
        if (c.intermediateSize() % expertSize != 0) {
            throw new SparsaException.UsageException("--expert-size " + expertSize + " must divide the FFN width "
                    + c.intermediateSize());
        }
        if (wr == null) {
            allocate(c.numLayers(), c.hiddenSize(), c.intermediateSize());
            SplittableRandom rnd = new SplittableRandom(seed);
            double std = 1 / Math.sqrt(d);
            for (float[] w : wr) {
                for (int i = 0; i < w.length; i++) {
                    w[i] = (float) (rnd.nextGaussian() * std);
                }
            }
        } else if (layers != c.numLayers() || d != c.hiddenSize() || f != c.intermediateSize()) {
            throw new SparsaException.UsageException("LTE routers of " + layers + " x " + d + " x " + f
                    + " do not fit this model");
        }
        if (!grouped) {
            for (int l = 0; l < layers; l++) {
                permute(p, l, balancedKMeans(p.weights().layers().get(l).ffn().gate(), n, expertSize, seed + l));
            }
            grouped = true;
        }
        return this;
    }

    private void allocate(int layers, int d, int f) {
        this.layers = layers;
        this.d = d;
        this.f = f;
        this.n = f / expertSize;
        wr = new float[layers][n * d];
        gr = new float[layers][n * d];
        mr = new float[layers][n * d];
        vr = new float[layers][n * d];
        g = new float[layers][];
        hRaw = new float[layers][];
        dz = new float[layers][];
        zRow = new float[n];
    }

    // ---- expert grouping ----------------------------------------------------------------------------------------

    /**
     * Balanced k-means (MoEfication's parameter clustering, as LTE uses it) of the F rows of {@code w} [F, D] into
     * {@code k} clusters of exactly {@code size}: centroids start at k distinct rows drawn by {@code seed}; each
     * iteration assigns greedily by ascending squared distance over all (row, cluster) pairs, a cluster taking rows
     * until it is full, then moves each centroid to its rows' mean. Returns the permutation: new neuron
     * {@code c·size + j} is old neuron {@code perm[c·size + j]} (the j-th smallest index of cluster c).
     */
    static int[] balancedKMeans(Tensor w, int k, int size, long seed) {
        int rowsW = w.rows();
        int dim = w.cols();
        float[] x = dev.sparsa.tensor.Kernels.toFloats(w);
        double[][] cen = new double[k][dim];
        int[] pick = new SplittableRandom(seed).ints(0, rowsW).distinct().limit(k).toArray();
        for (int c = 0; c < k; c++) {
            for (int j = 0; j < dim; j++) {
                cen[c][j] = x[pick[c] * dim + j];
            }
        }
        int[] assign = new int[rowsW];
        long[] keys = new long[rowsW * k];
        double[] dist = new double[rowsW * k];
        for (int it = 0; it < KMEANS_ITERATIONS; it++) {
            Integer[] order = new Integer[rowsW * k];
            for (int r = 0; r < rowsW; r++) {
                for (int c = 0; c < k; c++) {
                    double s = 0;
                    for (int j = 0; j < dim; j++) {
                        double e = x[r * dim + j] - cen[c][j];
                        s += e * e;                                               // ‖w_r − μ_c‖²
                    }
                    dist[r * k + c] = s;
                    order[r * k + c] = r * k + c;
                }
            }
            Arrays.sort(order, (a, b) -> {
                int cmp = Double.compare(dist[a], dist[b]);
                return cmp != 0 ? cmp : Integer.compare(a, b);
            });
            Arrays.fill(assign, -1);
            int[] fill = new int[k];
            for (Integer pair : order) {
                int r = pair / k;
                int c = pair % k;
                if (assign[r] < 0 && fill[c] < size) {
                    assign[r] = c;
                    fill[c]++;
                }
            }
            for (double[] m : cen) {
                Arrays.fill(m, 0);
            }
            for (int r = 0; r < rowsW; r++) {
                for (int j = 0; j < dim; j++) {
                    cen[assign[r]][j] += x[r * dim + j] / size;                  // μ_c = mean of its rows
                }
            }
        }
        int[] perm = new int[rowsW];
        int[] at = new int[k];
        for (int r = 0; r < rowsW; r++) {
            int c = assign[r];
            perm[c * size + at[c]++] = r;
        }
        return perm;
    }

    /** Reorders the FFN neurons of layer l: new neuron i is old neuron perm[i] (gate/up rows, down columns). */
    static void permute(LlamaParams p, int l, int[] perm) {
        var fw = p.weights().layers().get(l).ffn();
        permuteRows(fw.gate().data(), perm, fw.gate().cols());
        permuteRows(fw.up().data(), perm, fw.up().cols());
        MemorySegment down = fw.down().data();                           // [D, F]: permute within every row
        int dd = fw.down().rows();
        int ff = fw.down().cols();
        float[] row = new float[ff];
        for (int r = 0; r < dd; r++) {
            MemorySegment.copy(down, ValueLayout.JAVA_FLOAT_UNALIGNED, (long) r * ff * 4, row, 0, ff);
            for (int i = 0; i < ff; i++) {
                down.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (long) r * ff + i, row[perm[i]]);
            }
        }
    }

    private static void permuteRows(MemorySegment m, int[] perm, int cols) {
        int rowsM = perm.length;
        float[] all = new float[rowsM * cols];
        MemorySegment.copy(m, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, all, 0, all.length);
        for (int i = 0; i < rowsM; i++) {
            MemorySegment.copy(all, perm[i] * cols, m, ValueLayout.JAVA_FLOAT_UNALIGNED, (long) i * cols * 4, cols);
        }
    }

    // ---- the gate: forward (tap) and backward --------------------------------------------------------------------

    @Override
    public ActivationTap tap() {
        return (layer, position, x, xOff, gate, act, h, off) -> {
            int r = xOff / d;
            if (layer == 0 && r == 0) {
                rows = 0;
            }
            rows = Math.max(rows, r + 1);
            float[] gl = ensure(g, layer, (r + 1) * n);
            LteRouters.logits(wr[layer], n, d, x, xOff, zRow, 0);
            for (int e = 0; e < n; e++) {
                gl[r * n + e] = LteRouters.sigmoid(zRow[e]);                       // G_e = σ(x·W_r,e)
            }
            if (stage == 1) {
                float[] raw = ensure(hRaw, layer, (r + 1) * f);
                System.arraycopy(h, off, raw, r * f, f);
                for (int i = 0; i < f; i++) {
                    h[off + i] *= gl[r * n + i / expertSize];                      // h'_i = G_{e(i)} h_i
                }
            } else {
                for (int e = 0; e < n; e++) {
                    if (!(gl[r * n + e] > tau)) {                                  // h'_i = 1[G_{e(i)} > τ] h_i
                        Arrays.fill(h, off + e * expertSize, off + (e + 1) * expertSize, 0f);
                    }
                }
            }
        };
    }

    private static float[] ensure(float[][] buf, int layer, int size) {
        float[] b = buf[layer];
        if (b == null || b.length < size) {
            float[] nb = new float[Math.max(size, b == null ? 0 : b.length * 2)];
            if (b != null) {
                System.arraycopy(b, 0, nb, 0, b.length);
            }
            buf[layer] = nb;
            b = nb;
        }
        return b;
    }

    @Override
    public void backward(int layer, float[] xn, float[] dh, int rowsB, float gradScale, Parallel par) {
        float[] gl = g[layer];
        if (stage == 2) {
            par.forRange(rowsB, 4, (r0, r1) -> {
                for (int r = r0; r < r1; r++) {
                    for (int e = 0; e < n; e++) {
                        if (!(gl[r * n + e] > tau)) {                              // dh = 1[G > τ] dh'
                            Arrays.fill(dh, r * f + e * expertSize, r * f + (e + 1) * expertSize, 0f);
                        }
                    }
                }
            });
            return;
        }
        float[] raw = hRaw[layer];
        float[] dzl = ensure(dz, layer, rowsB * n);
        float c = gradScale / ((float) rowsB * layers * n);
        par.forRange(rowsB, 4, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                for (int e = 0; e < n; e++) {
                    float ge = gl[r * n + e];
                    float dg = 0f;
                    for (int i = e * expertSize; i < (e + 1) * expertSize; i++) {
                        int o = r * f + i;
                        dg += dh[o] * raw[o];                                      // ∂/∂G_e = Σ_{i∈e} dh'_i h_i
                        dh[o] *= ge;                                               // ∂/∂h_i = G_e dh'_i
                    }
                    dg += c * eta * 2f * ge;                                       // ∂(η G²)/∂G
                    if (separability != 0f) {
                        float m = margin(ge);
                        dg -= c * separability * 2f / (m * m * m);                 // ∂(λ_s/(G−τ)²)/∂G
                    }
                    dzl[r * n + e] = dg * ge * (1f - ge);                          // σ' = G(1 − G)
                }
            }
        });
        float[] gw = gr[layer];
        par.forRange(n, 1, (e0, e1) -> {
            for (int e = e0; e < e1; e++) {
                for (int r = 0; r < rowsB; r++) {
                    float z = dzl[r * n + e];
                    for (int j = 0; j < d; j++) {
                        gw[e * d + j] += z * xn[r * d + j];                        // dW_r,e += dz_e x
                    }
                }
            }
        });
    }

    @Override
    public void inputGradient(int layer, float[] dxn, int rowsB, Parallel par) {
        if (stage == 2) {
            return;
        }
        float[] dzl = dz[layer];
        float[] w = wr[layer];
        par.forRange(rowsB, 4, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                for (int e = 0; e < n; e++) {
                    float z = dzl[r * n + e];
                    for (int j = 0; j < d; j++) {
                        dxn[r * d + j] += z * w[e * d + j];                        // dx += Σ_e dz_e W_r,e
                    }
                }
            }
        });
    }

    /**
     * G − τ, kept at least {@value #MIN_MARGIN} away from 0 (same sign; +: at G = τ): the separability term is
     * infinite at G = τ, and σ(z) rounds to exactly 0.5f for |z| &lt; 1.2e-7, which a step of ~10⁵ scores meets.
     */
    private float margin(float ge) {
        float m = ge - tau;
        return Math.abs(m) >= MIN_MARGIN ? m : m < 0 ? -MIN_MARGIN : MIN_MARGIN;
    }

    /** Efficiency + separability loss of the last forward (stage 1; 0 in stage 2), a mean over its tokens. */
    @Override
    public double loss() {
        if (stage == 2 || rows == 0) {
            return 0;
        }
        double s = 0;
        for (int l = 0; l < layers; l++) {
            for (int i = 0; i < rows * n; i++) {
                double ge = g[l][i];
                double m = margin((float) ge);
                s += eta * ge * ge + (separability == 0 ? 0 : separability / (m * m));
            }
        }
        return s / ((double) rows * layers * n);
    }

    /** Share of (token, layer, expert) with G > τ in the last forward: the computed share of the FFN neurons. */
    public double selectedShare() {
        if (rows == 0) {
            return Double.NaN;
        }
        long k = 0;
        for (int l = 0; l < layers; l++) {
            for (int i = 0; i < rows * n; i++) {
                if (g[l][i] > tau) {
                    k++;
                }
            }
        }
        return (double) k / ((long) rows * layers * n);
    }

    /** Stage 1: one Adam step of the routers on the accumulated gradients; then the gradients are zeroed. */
    @Override
    public void afterStep(TrainContext ctx) {
        if (ctx.step() <= stage1Steps) {
            AdamW.Config oc = ctx.optimizer().config();
            adamSteps++;
            float b1 = oc.beta1();
            float b2 = oc.beta2();
            double c1 = 1 - Math.pow(b1, adamSteps);
            double c2 = 1 - Math.pow(b2, adamSteps);
            for (int l = 0; l < layers; l++) {
                float[] w = wr[l];
                float[] gw = gr[l];
                float[] m = mr[l];
                float[] v = vr[l];
                for (int i = 0; i < w.length; i++) {
                    m[i] = b1 * m[i] + (1 - b1) * gw[i];                           // Adam (Kingma & Ba, Algorithm 1)
                    v[i] = b2 * v[i] + (1 - b2) * gw[i] * gw[i];
                    w[i] -= (float) (routerLr * (m[i] / c1) / (Math.sqrt(v[i] / c2) + oc.eps()));
                }
            }
        }
        for (float[] gw : gr) {
            Arrays.fill(gw, 0f);
        }
        log.add(new double[]{ctx.step(), stage, loss(), selectedShare()});
    }

    /**
     * Validation after step {@code step}: in stage 1 (and not the last step) the soft scores, {@code h'_i = G_{e(i)}
     * h_i} with the routers as they are now (the function stage 1 trains); in stage 2 and at the end the hard
     * selection of {@link LteFfn} over {@link #routers()}, the model {@code eval --sparse lte} runs on the saved
     * folder.
     */
    @Override
    public LlamaModel validationModel(LlamaWeights w, int step, int steps) {
        if (wr == null) {
            throw new IllegalStateException("LTE has not run");
        }
        if (step <= stage1Steps && step < steps) {
            List<float[]> rs = new ArrayList<>();
            for (float[] r : wr) {
                rs.add(r.clone());
            }
            int s = expertSize;
            int nn = n;
            int dd = d;
            return LlamaModel.of(w, (fw, act) -> new SoftGated(new DenseFfn(fw, act), rs.get(fw.layer()), nn, s, dd));
        }
        return LlamaModel.of(w, LteFfn.factory(routers()), null);
    }

    /** Stage 1's function at inference: the dense FFN with h scaled by the expert scores before the down projection. */
    private record SoftGated(DenseFfn dense, float[] router, int experts, int expertSize, int dim)
            implements FfnKernel {
        @Override
        public FfnWeights weights() {
            return dense.weights();
        }

        @Override
        public Activation activation() {
            return dense.activation();
        }

        @Override
        public FfnActivations newActivations(int capacity) {
            return dense.newActivations(capacity);
        }

        @Override
        public float[] downColumnNorms() {
            return dense.downColumnNorms();
        }

        @Override
        public void forward(float[] x, int batch, int pos0, float[] y, FfnActivations acts, ActivationTap tap,
                            Parallel par) {
            float[] z = new float[experts];
            int layer = dense.layer();
            boolean tapped = tap.wants(layer);
            dense.forward(x, batch, pos0, y, acts, (l, pos, xx, xo, gate, a, h, off) -> {
                LteRouters.logits(router, experts, dim, xx, xo, z, 0);
                for (int i = 0; i < experts * expertSize; i++) {
                    h[off + i] *= LteRouters.sigmoid(z[i / expertSize]);              // h'_i = G_{e(i)} h_i
                }
                if (tapped) {
                    tap.onFfn(l, pos, xx, xo, gate, a, h, off);
                }
            }, par);
        }
    }

    /** The routers as the {@code lte} sparse mode reads them (τ of this run). */
    public LteRouters routers() {
        if (wr == null) {
            throw new IllegalStateException("LTE has not run");
        }
        List<float[]> rs = new ArrayList<>();
        for (float[] w : wr) {
            rs.add(w.clone());
        }
        return new LteRouters(expertSize, tau, d, f, rs);
    }

    /** Layer ℓ's router [N, D] (live; tests perturb it). */
    public float[] router(int layer) {
        return wr[layer];
    }

    /** Layer ℓ's router gradient (live). */
    public float[] routerGrad(int layer) {
        return gr[layer];
    }

    public int expertSize() {
        return expertSize;
    }

    public float tau() {
        return tau;
    }

    // ---- checkpoints -------------------------------------------------------------------------------------------

    @Override
    public Map<String, String> state() {
        Map<String, String> s = new LinkedHashMap<>();
        if (wr == null) {
            return s;
        }
        s.put("shape", layers + "," + d + "," + f);
        s.put("grouped", Boolean.toString(grouped));
        s.put("adamSteps", Long.toString(adamSteps));
        StringBuilder lg = new StringBuilder();
        for (double[] e : log) {
            lg.append(lg.isEmpty() ? "" : ";").append(e[0]).append(',').append(e[1]).append(',').append(e[2])
                    .append(',').append(e[3]);
        }
        s.put("log", lg.toString());
        for (int l = 0; l < layers; l++) {
            s.put("router." + l, encode(wr[l]));
            s.put("m." + l, encode(mr[l]));
            s.put("v." + l, encode(vr[l]));
        }
        return s;
    }

    @Override
    public void restore(Map<String, String> s) {
        if (!s.containsKey("shape")) {
            return;
        }
        String[] sh = s.get("shape").split(",");
        allocate(Integer.parseInt(sh[0]), Integer.parseInt(sh[1]), Integer.parseInt(sh[2]));
        grouped = Boolean.parseBoolean(s.get("grouped"));
        adamSteps = Long.parseLong(s.get("adamSteps"));
        log.clear();
        String lg = s.getOrDefault("log", "");
        if (!lg.isEmpty()) {
            for (String e : lg.split(";")) {
                log.add(Arrays.stream(e.split(",")).mapToDouble(Double::parseDouble).toArray());
            }
        }
        for (int l = 0; l < layers; l++) {
            wr[l] = decode(s.get("router." + l), n * d);
            mr[l] = decode(s.get("m." + l), n * d);
            vr[l] = decode(s.get("v." + l), n * d);
        }
    }

    private static String encode(float[] a) {
        ByteBuffer b = ByteBuffer.allocate(a.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(a);
        return Base64.getEncoder().encodeToString(b.array());
    }

    private static float[] decode(String v, int size) {
        if (v == null) {
            throw new SparsaException.FormatException("checkpoint: LTE state is missing a router array");
        }
        float[] a = new float[size];
        ByteBuffer.wrap(Base64.getDecoder().decode(v)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(a);
        return a;
    }

    @Override
    public Map<String, String> options() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("expertSize", Integer.toString(expertSize));
        m.put("stage1Steps", Integer.toString(stage1Steps));
        m.put("stage2Steps", Integer.toString(stage2Steps));
        m.put("eta", Float.toString(eta));
        m.put("separability", Float.toString(separability));
        m.put("tau", Float.toString(tau));
        m.put("routerLr", Float.toString(routerLr));
        m.put("seed", Long.toString(seed));
        return m;
    }

    @Override
    public Map<String, Object> summary() {
        Map<String, Object> m = new LinkedHashMap<>(options());
        m.put("log", log);
        return m;
    }
}
