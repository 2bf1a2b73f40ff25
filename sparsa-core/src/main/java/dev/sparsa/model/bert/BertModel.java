package dev.sparsa.model.bert;

import dev.sparsa.SparsaException;
import dev.sparsa.SparsaException.UsageException;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.WeightSource;
import dev.sparsa.io.onnx.OnnxModel;
import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Int8Gemm;
import dev.sparsa.tensor.Int8Matrix;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.MlasErf;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;
import dev.sparsa.tensor.VectorOps;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A BERT encoder (Devlin et al. 2019; post-LayerNorm transformer of Vaswani et al. 2017), e.g. all-MiniLM-L6-v2:
 * <pre>
 *   x⁰ = LN(E_word[id] + E_pos[t] + E_type[type])
 *   per layer ℓ:  a  = LN(x + (MHA(x)·W_Oᵀ + b_O))             (attention block, residual, post-LN)
 *                 g  = a·W_inᵀ + b_in;  h = GELU(g)               (FFN up; the ActivationTap sees a, g, GELU(g), h)
 *                 x' = LN(a + (h·W_outᵀ + b_out))               (FFN down, residual, post-LN)
 * </pre>
 * All linear weights are Sparsa's {@code [out, in]} layout; the tokens of a batch are processed together by
 * {@link Kernels#matmul}. Thread counts give bit-identical results (every kernel splits over independent outputs).
 */
public final class BertModel {

    /**
     * One dense layer y = W·x + b, W {@code [out, in]}: float weights of any dtype the kernels read, or int8 weights
     * whose input is quantized to uint8 at run time (ONNX dynamic quantization: {@code DynamicQuantizeLinear} →
     * {@code MatMulInteger} → rescale; see {@link Int8Gemm}).
     */
    public sealed interface Linear {
        float[] bias();

        int rows();

        int cols();

        /** W as float values: the tensor itself, or the int8 codes dequantized ((q − z)·s) into a new F32 tensor. */
        Tensor floatWeight();

        /** Bytes the weight matrix holds. */
        long weightBytes();

        /** Float weights (F32, F16, BF16, Q8_0, Q4_0). */
        record Dense(Tensor w, float[] bias) implements Linear {
            public int rows() {
                return w.shape()[0];
            }

            public int cols() {
                return w.shape()[1];
            }

            public Tensor floatWeight() {
                return w;
            }

            public long weightBytes() {
                return w.data().byteSize();
            }
        }

        /** int8 weights with per-row scale and zero point; the input is quantized dynamically (per range, below). */
        record DynamicInt8(Int8Matrix w, float[] bias) implements Linear {
            public int rows() {
                return w.rows();
            }

            public int cols() {
                return w.cols();
            }

            public Tensor floatWeight() {
                return w.dequantized(Arena.ofAuto());
            }

            public long weightBytes() {
                return w.bytes();
            }
        }
    }

    /** One encoder layer: Q, K, V, attention output, FFN in and out, and the two LayerNorms. */
    public record Layer(Linear q, Linear k, Linear v, Linear o, float[] ln1Gamma, float[] ln1Beta,
                        Linear in, Linear out, float[] ln2Gamma, float[] ln2Beta) {

        /** A layer of float weights ({@code [out, in]} tensors) and biases. */
        public Layer(Tensor wq, float[] bq, Tensor wk, float[] bk, Tensor wv, float[] bv,
                     Tensor wo, float[] bo, float[] ln1Gamma, float[] ln1Beta,
                     Tensor wIn, float[] bIn, Tensor wOut, float[] bOut, float[] ln2Gamma, float[] ln2Beta) {
            this(new Linear.Dense(wq, bq), new Linear.Dense(wk, bk), new Linear.Dense(wv, bv),
                    new Linear.Dense(wo, bo), ln1Gamma, ln1Beta, new Linear.Dense(wIn, bIn),
                    new Linear.Dense(wOut, bOut), ln2Gamma, ln2Beta);
        }

        public Tensor wq() {
            return q.floatWeight();
        }

        public float[] bq() {
            return q.bias();
        }

        public Tensor wk() {
            return k.floatWeight();
        }

        public float[] bk() {
            return k.bias();
        }

        public Tensor wv() {
            return v.floatWeight();
        }

        public float[] bv() {
            return v.bias();
        }

        public Tensor wo() {
            return o.floatWeight();
        }

        public float[] bo() {
            return o.bias();
        }

        public Tensor wIn() {
            return in.floatWeight();
        }

        public float[] bIn() {
            return in.bias();
        }

        /** W_out [D, F] as floats (dequantized for an int8 layer). */
        public Tensor wOut() {
            return out.floatWeight();
        }

        public float[] bOut() {
            return out.bias();
        }

        List<Linear> linears() {
            return List.of(q, k, v, o, in, out);
        }
    }

    /**
     * All weights. {@code typeEmb} may be null (no token-type embedding in the model). {@code attnScale} multiplies
     * q·k (1/√d_head in BERT).
     */
    public record Weights(Tensor wordEmb, Tensor posEmb, Tensor typeEmb, float[] embLnGamma, float[] embLnBeta,
                          List<Layer> layers, float attnScale) {
    }

    /**
     * Over which rows a dynamic-int8 layer takes the range of its input (ONNX {@code DynamicQuantizeLinear} finds
     * one scale and zero point for its whole input tensor): each sequence's own rows ({@code SEQUENCE}, what ONNX
     * Runtime computes when each sequence is run alone; results do not depend on how sequences are batched), or
     * all rows of the batch ({@code BATCH}, what ONNX Runtime computes for the same rectangular batch, padding rows
     * included). Float layers ignore it.
     */
    public enum QuantRanges { SEQUENCE, BATCH }

    /**
     * A batch of token-id sequences. Sequences may have different lengths (no padding needed: each attends only
     * within itself); a padded batch is given with {@code mask[b][t] = 0} on the padding, which no token attends
     * to (exactly as BERT's additive −∞ mask). {@code typeIds} may be null (all 0); {@code mask} may be null (all 1).
     * Positions are 0..len−1 for every sequence (BERT's absolute positions, right padding). Padding rows are
     * computed like the others, so with a dynamic-int8 model they enter the activation ranges, as in ONNX Runtime.
     */
    public record Batch(int[][] ids, int[][] mask, int[][] typeIds, QuantRanges ranges) {
        public Batch {
            Objects.requireNonNull(ids, "ids");
            Objects.requireNonNull(ranges, "ranges");
            for (int b = 0; b < ids.length; b++) {
                if (mask != null && (mask.length != ids.length || mask[b].length != ids[b].length)) {
                    throw new UsageException("attention mask shape differs from the ids' at sequence " + b);
                }
                if (typeIds != null && (typeIds.length != ids.length || typeIds[b].length != ids[b].length)) {
                    throw new UsageException("token type ids shape differs from the ids' at sequence " + b);
                }
            }
        }

        /** Per-sequence activation ranges. */
        public Batch(int[][] ids, int[][] mask, int[][] typeIds) {
            this(ids, mask, typeIds, QuantRanges.SEQUENCE);
        }

        /** Unpadded sequences, all tokens attended, token type 0. */
        public static Batch of(List<int[]> ids) {
            return new Batch(ids.toArray(int[][]::new), null, null);
        }

        /** This batch with activation ranges over {@code r}. */
        public Batch withRanges(QuantRanges r) {
            return new Batch(ids, mask, typeIds, r);
        }

        public int size() {
            return ids.length;
        }

        int mask(int b, int t) {
            return mask == null ? 1 : mask[b][t];
        }

        int type(int b, int t) {
            return typeIds == null ? 0 : typeIds[b][t];
        }
    }

    private final ModelConfig config;
    private final Weights w;
    private final float[][] downColumnNorms;
    private final Activation activation;
    private final boolean quantized;

    public BertModel(ModelConfig config, Weights weights) {
        this.config = config;
        this.w = weights;
        int d = config.hiddenSize();
        int f = config.intermediateSize();
        if (!config.architecture().equals("bert") || weights.layers().size() != config.numLayers()
                || config.numHeads() * config.headDim() != d) {
            throw new SparsaException("BERT config and weights disagree: " + config);
        }
        this.activation = Activation.of(config.hiddenAct(), config.fatreluThreshold());
        this.downColumnNorms = new float[config.numLayers()][];
        boolean anyInt8 = false;
        for (int l = 0; l < config.numLayers(); l++) {
            Layer ly = weights.layers().get(l);
            checkShape(ly.q(), d, d, "query");
            checkShape(ly.k(), d, d, "key");
            checkShape(ly.v(), d, d, "value");
            checkShape(ly.o(), d, d, "attention output");
            checkShape(ly.in(), f, d, "intermediate");
            checkShape(ly.out(), d, f, "output");
            // ‖d_i‖₂ of column i of W_out [D, F], the output direction of neuron i (CETT, docs/ARCHITECTURE.md §6)
            downColumnNorms[l] = Kernels.columnNorms(ly.wOut());
            anyInt8 |= ly.linears().stream().anyMatch(x -> x instanceof Linear.DynamicInt8);
        }
        this.quantized = anyInt8;
    }

    /** Loads a BERT encoder from an ONNX export (see {@link BertOnnx} for how the graph is mapped). */
    public static BertModel fromOnnx(Path file) {
        try (OnnxModel onnx = OnnxModel.open(file)) {
            return BertOnnx.load(onnx);
        }
    }

    /** Maps a Hugging Face BERT state dict (config.json + safetensors; see {@link BertHf} for the names). */
    public static BertModel fromHf(ModelConfig config, WeightSource weights) {
        return BertHf.load(config, weights);
    }

    /**
     * Opens a BERT encoder: an {@code .onnx} export, or what {@link ModelFiles#open} accepts (a directory with
     * config.json and model.safetensors, or a .safetensors file with config.json beside it).
     */
    public static BertModel open(Path path) {
        if (path.getFileName() != null && path.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".onnx")) {
            return fromOnnx(path);
        }
        try (ModelFiles mf = ModelFiles.open(path)) {
            return fromHf(mf.config(), mf.weights());
        }
    }

    /**
     * The architecture of the BERT encoder in an ONNX graph (layers, hidden size, heads, FFN width, activation...),
     * without loading its weights; a FormatException naming the file when the graph is not a BERT encoder.
     */
    public static ModelConfig describeOnnx(OnnxModel onnx) {
        return BertOnnx.describe(onnx);
    }

    /** Maps an already opened ONNX model; the returned model holds its own copy of the weights. */
    public static BertModel fromOnnx(OnnxModel onnx) {
        return BertOnnx.load(onnx);
    }

    public ModelConfig config() {
        return config;
    }

    public Weights weights() {
        return w;
    }

    /**
     * True when some dense layer is dynamic int8: its activation ranges then cover every row of a sequence (padding
     * included) or of the batch ({@link QuantRanges}), so padding can change the results, as in ONNX Runtime.
     */
    public boolean quantizesActivations() {
        return quantized;
    }

    /** Bytes of the dense layers' weight matrices (int8: one per weight plus a scale and zero point per row). */
    public long linearWeightBytes() {
        long s = 0;
        for (Layer ly : w.layers()) {
            for (Linear x : ly.linears()) {
                s += x.weightBytes();
            }
        }
        return s;
    }

    /** ‖d_i‖₂ for each intermediate neuron i of layer ℓ, d_i = column i of W_out (a copy). */
    public float[] ffnDownColumnNorms(int layer) {
        return downColumnNorms[layer].clone();
    }

    /** Last hidden states, no tap. */
    public float[][] lastHiddenStates(Batch batch, Parallel par) {
        return forward(batch, ActivationTap.NONE, par);
    }

    /**
     * The encoder's last hidden states: {@code out[b]} is {@code len_b × D}, row-major (padding positions
     * included, as every BERT implementation computes them).
     *
     * <p>The tap is called on the calling thread, for each layer ℓ in order, for each sequence b, for each
     * attended position t (mask 1) in order: {@code onFfn(ℓ, t, x = FFN input a, gate = g, act = GELU(g), h)}, where
     * {@code h} is a separate copy of {@code act}; the (possibly modified) {@code h} is what W_out multiplies.
     */
    public float[][] forward(Batch batch, ActivationTap tap, Parallel par) {
        final int d = config.hiddenSize();
        final int f = config.intermediateSize();
        final int nh = config.numHeads();
        final int dh = config.headDim();
        final int nb = batch.size();
        int[] off = new int[nb + 1];
        int maxLen = 0;
        for (int b = 0; b < nb; b++) {
            int len = batch.ids()[b].length;
            if (len > config.maxPositions()) {
                throw new UsageException("sequence " + b + " has " + len + " tokens, more than the model's "
                        + config.maxPositions() + " positions");
            }
            off[b + 1] = Math.addExact(off[b], len);
            maxLen = Math.max(maxLen, len);
        }
        final int n = off[nb];
        if ((long) n * Math.max(d, f) > Integer.MAX_VALUE - 8) {
            throw new UsageException("batch of " + n + " tokens is too large for one forward; split it");
        }
        if (n == 0) {
            float[][] out = new float[nb][];
            for (int b = 0; b < nb; b++) {
                out[b] = new float[0];
            }
            return out;
        }
        float[] x = new float[n * d];
        float[] q = new float[n * d];
        float[] k = new float[n * d];
        float[] v = new float[n * d];
        float[] ctx = new float[n * d];
        float[] tmp = new float[n * d];
        float[] gate = new float[n * f];
        float[] act = new float[n * f];

        embed(batch, off, x, par);
        // dynamic int8: the rows each activation range covers, and one buffer for the codes of an input
        Codes codes = quantized ? new Codes(batch.ranges() == QuantRanges.BATCH ? new int[]{0, n} : off,
                n, Math.max(d, f)) : null;

        for (int l = 0; l < config.numLayers(); l++) {
            Layer ly = w.layers().get(l);
            // Q = x·W_Qᵀ + b_Q, K = x·W_Kᵀ + b_K, V = x·W_Vᵀ + b_V  (Vaswani et al. eq. 1 inputs)
            Input xi = new Input(x, d, codes);
            linear(ly.q(), xi, n, q, par);
            linear(ly.k(), xi, n, k, par);
            linear(ly.v(), xi, n, v, par);
            attention(batch, off, q, k, v, ctx, nh, dh, maxLen, par);
            // a = LN(x + ctx·W_Oᵀ + b_O)  (BertSelfOutput: dense, residual, post-LN)
            linear(ly.o(), new Input(ctx, d, codes), n, tmp, par);
            addNorm(tmp, x, ly.ln1Gamma(), ly.ln1Beta(), n, par); // x ← a
            // g = a·W_inᵀ + b_in;  act = GELU(g) = g·Φ(g)  (Hendrycks & Gimpel 2016, exact erf form), the erf GELU
            // as ONNX Runtime's Gelu/BiasGelu computes it in float (MlasErf: the same bits)
            linear(ly.in(), new Input(x, d, codes), n, gate, par);
            boolean ortGelu = activation.kind() == Activation.Kind.GELU;
            par.forRange(n, 8, (from, to) -> {
                for (int i = from * f; i < to * f; i++) {
                    act[i] = ortGelu ? MlasErf.gelu(gate[i]) : activation.apply(gate[i]);
                }
            });
            float[] h = act;
            if (tap.wants(l)) {
                h = tapFfn(tap, l, batch, off, x, gate, act, d, f);
            }
            // x' = LN(a + h·W_outᵀ + b_out)  (BertOutput: dense, residual, post-LN)
            linear(ly.out(), new Input(h, f, codes), n, tmp, par);
            addNorm(tmp, x, ly.ln2Gamma(), ly.ln2Beta(), n, par);
        }

        float[][] out = new float[nb][];
        for (int b = 0; b < nb; b++) {
            out[b] = java.util.Arrays.copyOfRange(x, off[b] * d, off[b + 1] * d);
        }
        return out;
    }

    /**
     * Sentence embeddings as sentence-transformers computes them for all-MiniLM-L6-v2: the masked mean of the
     * last hidden states, L2-normalized. {@code out[b]} has length D.
     */
    public float[][] sentenceEmbeddings(Batch batch, Parallel par) {
        float[][] hidden = lastHiddenStates(batch, par);
        float[][] out = new float[batch.size()][];
        for (int b = 0; b < batch.size(); b++) {
            int[] mask = batch.mask() == null ? null : batch.mask()[b];
            out[b] = l2Normalize(meanPool(hidden[b], mask, config.hiddenSize()));
        }
        return out;
    }

    /** Masked mean over positions: e = Σ_t m_t·x_t / max(Σ_t m_t, 1e-9) (sentence-transformers Pooling). */
    public static float[] meanPool(float[] hidden, int[] mask, int d) {
        int len = hidden.length / d;
        double[] sum = new double[d];
        double count = 0;
        for (int t = 0; t < len; t++) {
            if (mask != null && mask[t] == 0) {
                continue;
            }
            count++;
            for (int i = 0; i < d; i++) {
                sum[i] += hidden[t * d + i];
            }
        }
        float[] out = new float[d];
        double denom = Math.max(count, 1e-9);
        for (int i = 0; i < d; i++) {
            out[i] = (float) (sum[i] / denom);
        }
        return out;
    }

    /** e / max(‖e‖₂, 1e-12), in place (torch.nn.functional.normalize); returns e. */
    public static float[] l2Normalize(float[] e) {
        double ss = 0;
        for (float v : e) {
            ss += (double) v * v;
        }
        float inv = (float) (1.0 / Math.max(Math.sqrt(ss), 1e-12));
        for (int i = 0; i < e.length; i++) {
            e[i] *= inv;
        }
        return e;
    }

    // ------------------------------------------------------------------------------------------------ ops

    /**
     * x⁰_t = LN(E_word[id_t] + E_pos[t] + E_type[type_t])  (BERT §3.2, input representation); rows of sequence b
     * from {@code off[b]} (also {@link BertBackward}'s input).
     */
    void embed(Batch batch, int[] off, float[] x, Parallel par) {
        int d = config.hiddenSize();
        int vocab = w.wordEmb().rows();
        int types = w.typeEmb() == null ? 1 : w.typeEmb().rows();
        for (int b = 0; b < batch.size(); b++) {
            int[] ids = batch.ids()[b];
            for (int t = 0; t < ids.length; t++) {
                if (ids[t] < 0 || ids[t] >= vocab) {
                    throw new UsageException("token id " + ids[t] + " at sequence " + b + " position " + t
                            + " is outside the vocabulary [0, " + vocab + ")");
                }
                int type = batch.type(b, t);
                if (type < 0 || type >= types) {
                    throw new UsageException("token type " + type + " at sequence " + b + " position " + t
                            + " is outside [0, " + types + ")");
                }
            }
        }
        par.forRange(batch.size(), 1, (from, to) -> {
            float[] row = new float[d];
            float[] sum = new float[d];
            for (int b = from; b < to; b++) {
                int[] ids = batch.ids()[b];
                for (int t = 0; t < ids.length; t++) {
                    Kernels.getRow(w.wordEmb(), ids[t], sum, 0);
                    if (w.typeEmb() != null) {
                        Kernels.getRow(w.typeEmb(), batch.type(b, t), row, 0);
                        for (int i = 0; i < d; i++) {
                            sum[i] += row[i];
                        }
                    }
                    Kernels.getRow(w.posEmb(), t, row, 0);
                    for (int i = 0; i < d; i++) {
                        sum[i] += row[i];
                    }
                    VectorOps.layernorm(x, (off[b] + t) * d, sum, 0, w.embLnGamma(), w.embLnBeta(), d,
                            config.normEps());
                }
            }
        });
    }

    /**
     * The centred uint8 codes of one dense layer's input, shared by the layers reading the same input (Q, K, V):
     * quantized when a dynamic-int8 layer first asks, each range of rows with its own DynamicQuantizeLinear scale.
     */
    private static final class Codes {
        final int[] segments;
        final int[] a;
        final float[] scale;
        Input owner;

        Codes(int[] segments, int n, int width) {
            this.segments = segments;
            this.a = new int[n * width];
            this.scale = new float[n];
        }
    }

    /** A dense layer's float input x (n × width) and, for int8 layers, its codes. */
    private record Input(float[] x, int width, Codes codes) {
        /** x quantized per range (ONNX DynamicQuantizeLinear over the rows of each range), once per input. */
        Codes quantized() {
            if (codes.owner != this) {
                int[] seg = codes.segments;
                for (int s = 0; s + 1 < seg.length; s++) {
                    int from = seg[s] * width;
                    int len = (seg[s + 1] - seg[s]) * width;
                    Int8Gemm.Range r = Int8Gemm.range(x, from, len);
                    Int8Gemm.quantize(x, from, len, r, codes.a);
                    java.util.Arrays.fill(codes.scale, seg[s], seg[s + 1], r.scale());
                }
                codes.owner = this;
            }
            return codes;
        }
    }

    /** y_t = W·x_t + b for each of the n tokens (W [out, in]); an int8 W multiplies x's codes (exact int32 sums). */
    private static void linear(Linear lin, Input in, int n, float[] y, Parallel par) {
        switch (lin) {
            case Linear.Dense d -> Kernels.matmul(d.w(), in.x(), n, y, par);
            case Linear.DynamicInt8 q -> {
                Codes c = in.quantized();
                Int8Gemm.matmul(q.w(), c.a, c.scale, n, y, par);
            }
        }
        float[] bias = lin.bias();
        int out = lin.rows();
        par.forRange(n, 16, (from, to) -> {
            for (int t = from; t < to; t++) {
                for (int i = 0; i < out; i++) {
                    y[t * out + i] += bias[i];
                }
            }
        });
    }

    /** x_t ← LN(x_t + y_t)  (residual, then post-LayerNorm). */
    private void addNorm(float[] y, float[] x, float[] gamma, float[] beta, int n, Parallel par) {
        int d = config.hiddenSize();
        par.forRange(n, 8, (from, to) -> {
            float[] s = new float[d];
            for (int t = from; t < to; t++) {
                for (int i = 0; i < d; i++) {
                    s[i] = x[t * d + i] + y[t * d + i];
                }
                VectorOps.layernorm(x, t * d, s, 0, gamma, beta, d, config.normEps());
            }
        });
    }

    /**
     * Multi-head scaled dot-product attention, per sequence and head (Vaswani et al. eq. 1):
     * ctx_t = Σ_s softmax_s(q_t·k_s · scale + mask_s) v_s over the positions s of t's own sequence, masked
     * positions excluded (BERT adds −∞, which gives them weight exactly 0). A sequence with no attended position
     * attends uniformly to all (what the −∞ mask does then).
     */
    private void attention(Batch batch, int[] off, float[] q, float[] k, float[] v, float[] ctx, int nh, int dh,
                           int maxLen, Parallel par) {
        int d = nh * dh;
        float scale = w.attnScale();
        int n = off[batch.size()];
        int[] seqOf = new int[n];
        for (int b = 0; b < batch.size(); b++) {
            java.util.Arrays.fill(seqOf, off[b], off[b + 1], b);
        }
        // one work item per (token, head): independent outputs, so the result does not depend on the split
        par.forRange(n * nh, 4, (from, to) -> {
            float[] p = new float[maxLen];
            int[] keys = new int[maxLen];
            for (int item = from; item < to; item++) {
                int tok = item / nh;
                int head = item % nh;
                int b = seqOf[tok];
                int len = off[b + 1] - off[b];
                int nk = 0;
                for (int s = 0; s < len; s++) {
                    if (batch.mask(b, s) != 0) {
                        keys[nk++] = s;
                    }
                }
                if (nk == 0) {
                    for (int s = 0; s < len; s++) {
                        keys[nk++] = s;
                    }
                }
                int qo = tok * d + head * dh;
                for (int j = 0; j < nk; j++) {
                    int ko = (off[b] + keys[j]) * d + head * dh;
                    p[j] = VectorOps.dot(q, qo, k, ko, dh) * scale;
                }
                VectorOps.softmax(p, 0, nk);
                for (int i = 0; i < dh; i++) {
                    ctx[qo + i] = 0f;
                }
                for (int j = 0; j < nk; j++) {
                    int vo = (off[b] + keys[j]) * d + head * dh;
                    float pj = p[j];
                    for (int i = 0; i < dh; i++) {
                        ctx[qo + i] += pj * v[vo + i];
                    }
                }
            }
        });
    }

    /** Calls the tap per attended token; returns the h to multiply by W_out (act's copy, as changed by the tap). */
    private float[] tapFfn(ActivationTap tap, int layer, Batch batch, int[] off, float[] x, float[] gate,
                           float[] act, int d, int f) {
        float[] h = act.clone();
        for (int b = 0; b < batch.size(); b++) {
            int len = off[b + 1] - off[b];
            for (int t = 0; t < len; t++) {
                if (batch.mask(b, t) == 0) {
                    continue;
                }
                int tok = off[b] + t;
                tap.onFfn(layer, t, x, tok * d, gate, act, h, tok * f);
            }
        }
        return h;
    }

    private static void checkShape(Linear lin, int rows, int cols, String what) {
        if (lin instanceof Linear.Dense(Tensor t, float[] b) && t.rank() != 2) {
            throw new SparsaException(what + " weight " + t.describe() + ": expected [" + rows + ", " + cols + "]");
        }
        if (lin.rows() != rows || lin.cols() != cols || lin.bias().length != rows) {
            throw new SparsaException(what + " weight [" + lin.rows() + ", " + lin.cols() + "] with " + lin.bias().length
                    + " biases: expected [" + rows + ", " + cols + "] and " + rows);
        }
    }
}
