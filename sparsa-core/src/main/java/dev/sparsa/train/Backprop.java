package dev.sparsa.train;

import dev.sparsa.SparsaException;
import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnActivations;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.spec.RopeStyle;
import dev.sparsa.model.llama.LlamaBlock;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaState;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.model.llama.Rope;
import dev.sparsa.tensor.Attention;
import dev.sparsa.tensor.CrossEntropy;
import dev.sparsa.tensor.Gemm;
import dev.sparsa.tensor.Gemm.Mat;
import dev.sparsa.tensor.Gemm.Weight;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.RmsNorm;
import dev.sparsa.tensor.Rotary;
import dev.sparsa.tensor.Tensor;
import dev.sparsa.train.StepProfile.Op;


/**
 * One training micro-batch over {@link LlamaParams}, llm.c style: the inference forward ({@link LlamaBlock}, one
 * {@link LlamaState} slot per layer), the loss, and the backward that walks the same ops in reverse, each op's
 * backward the mirror of its forward line, accumulating into the parameters' gradients:
 * <pre>
 *   loss = (1 − α)·CE + α·KL(teacher ‖ student) + λ · (1/L) Σ_ℓ mean|a_ℓ|        a_ℓ = act(gate_ℓ)
 * </pre>
 * The batch is {@code seqs} rows of {@code t + 1} tokens: row b predicts its tokens 1..t from 0..t−1. CE and KL are
 * means over the seqs·t predictions. All buffers are allocated once; every kernel splits over outputs only, so the
 * gradients are the same bits for any thread count.
 */
public final class Backprop {
    private final LlamaParams p;
    private final ModelConfig cfg;
    private final LlamaWeights w;
    private final FfnKernel[] ffn;
    private final Activation act;
    private final LlamaState st;
    private final int seqs;
    private final int t;
    private final int rows;
    private final float[] invFreq;
    private final Rotary.Table rope;
    private final Gemm gemm = new Gemm();
    private final Attention.Shape shape;
    // inputs and targets of the micro-batch
    private final int[] inputs;
    private final int[] targets;
    // activation gradients, one set reused by every layer
    private final float[] logits;
    private final float[] dx;
    private final float[] dxn;
    private final float[] datt;
    private final float[] dq;
    private final float[] dk;
    private final float[] dv;
    private final float[] dh;
    private final float[] dgate;
    private final float[] dup;
    private StepProfile prof;                       // null: no laps
    private FfnGradientTap gradTap;                 // null: none
    private FfnGate gate;                           // null: none

    /**
     * Sees each layer's FFN intermediate h = act(gate) ⊙ up and its gradient ∂loss/∂h during the backward (both
     * [rows, F], row r = sequence r / t, position r % t), for methods that score neurons by attribution. The arrays
     * are the engine's workspace (dh is reused by the next layer): a tap copies what it keeps and changes nothing.
     */
    @FunctionalInterface
    public interface FfnGradientTap {
        void onFfn(int layer, float[] h, float[] dh, int rows, int f);
    }

    /**
     * A method's gate on each layer's FFN intermediate, between {@code h = act(gate) ⊙ up} and the down projection
     * (LTE's routers: {@code h' = m(xn) ⊙ h} with m from the FFN input xn): its forward is the per-token
     * {@link ActivationTap} of the forward (it may change h in place and keeps what its backward needs), its backward
     * two calls that mirror it. With a gate the loss is CE (+ KL, + L1) + the gate's own {@link #loss()}.
     */
    public interface FfnGate {
        /** The forward, per token; rows are identified by {@code xOff / D}. */
        ActivationTap tap();

        /**
         * Backward through h' = m ⊙ h of layer {@code layer}: {@code dh} ([rows, F]) holds ∂loss/∂h' and becomes
         * ∂loss/∂h in place; the gate adds its own parameters' gradients (its loss term scaled by
         * {@code gradScale / rows}, as the CE is).
         */
        void backward(int layer, float[] xn, float[] dh, int rows, float gradScale, Parallel par);

        /** Adds ∂loss/∂xn through the gate of layer {@code layer} to {@code dxn} ([rows, D]). */
        void inputGradient(int layer, float[] dxn, int rows, Parallel par);

        /** The gate's loss term of the last forward (a mean over its rows). */
        double loss();
    }

    /** What one micro-batch measured: sums over its predictions (nats) and per-layer activation statistics. */
    public record Loss(double ceSum, double klSum, double l1, long predictions, double[] zeroFraction,
                       double[] meanAbsAct) {
        public double ce() {
            return ceSum / predictions;
        }
    }

    public Backprop(LlamaParams params, int seqs, int t) {
        this.p = params;
        this.cfg = params.config();
        this.w = params.weights();
        if (w.ropeStyle() != RopeStyle.HALF) {
            throw new SparsaException.UnsupportedException("training needs q/k in Hugging Face order (a GGUF llama file"
                    + " keeps llama.cpp's interleaved rows): train from the safetensors checkpoint");
        }
        if (seqs < 1 || t < 1) {
            throw new SparsaException.UsageException("batch and sequence length must be >= 1, got " + seqs + " x " + t);
        }
        if (cfg.maxPositions() > 0 && t > cfg.maxPositions()) {
            throw new SparsaException.UsageException("sequence length " + t + " exceeds the model's "
                    + "max_position_embeddings " + cfg.maxPositions());
        }
        LlamaModel m = LlamaModel.of(w, DenseFfn::new);
        this.ffn = new FfnKernel[cfg.numLayers()];
        for (int l = 0; l < ffn.length; l++) {
            ffn[l] = m.ffn(l);
        }
        this.act = ffn[0].activation();
        this.seqs = seqs;
        this.t = t;
        this.rows = Math.multiplyExact(seqs, t);
        this.st = LlamaState.forTraining(cfg, ffn, seqs, t);
        this.invFreq = Rope.invFreq(cfg);
        this.rope = Rotary.Table.of(invFreq, t);
        this.shape = new Attention.Shape(cfg.numHeads(), cfg.numKvHeads(), cfg.headDim());
        int d = cfg.hiddenSize();
        int f = cfg.intermediateSize();
        int qDim = shape.qDim();
        int kvDim = shape.kvDim();
        inputs = new int[rows];
        targets = new int[rows];
        logits = new float[Math.multiplyExact(rows, cfg.vocabSize())];
        dx = new float[rows * d];
        dxn = new float[rows * d];
        datt = new float[rows * qDim];
        dq = new float[rows * qDim];
        dk = new float[rows * kvDim];
        dv = new float[rows * kvDim];
        dh = new float[rows * f];
        dgate = new float[rows * f];
        dup = new float[rows * f];
    }

    public LlamaParams params() {
        return p;
    }

    public int seqs() {
        return seqs;
    }

    public int seqLen() {
        return t;
    }

    /** Times every section of the following steps into {@code profile} (null: stop timing). */
    public void profile(StepProfile profile) {
        this.prof = profile;
    }

    private void lap(Op op, int layer) {
        if (prof != null) {
            prof.lap(op, layer);
        }
    }

    /** Calls {@code tap} in every following backward, once per layer (null: stop). */
    public void gradientTap(FfnGradientTap tap) {
        this.gradTap = tap;
    }

    /** Applies {@code g} in every following forward and backward (null: none). */
    public void ffnGate(FfnGate g) {
        this.gate = g;
    }

    /** The workspace the last forward filled (slot ℓ: layer ℓ's activations), for methods that read them. */
    public LlamaState state() {
        return st;
    }

    /**
     * Forward and backward of one micro-batch: {@code tokens[off + b·(t+1) ..]} for b &lt; seqs. Gradients are
     * added to the parameters' (scaled by {@code gradScale}, e.g. 1 / micro-batches per step).
     *
     * @param l1      λ of the activation L1 term (0: none)
     * @param teacher teacher logits for this batch ([seqs·t, V], from {@link Teacher}) or null
     * @param alpha   distillation weight α in [0, 1] (used with a teacher)
     */
    public Loss step(int[] tokens, int off, float l1, float[] teacher, float alpha, float gradScale, Parallel par) {
        forward(tokens, off, par);
        return lossAndBackward(l1, teacher, alpha, gradScale, par);
    }

    /**
     * Forward and backward of one micro-batch whose targets are given instead of being the next input tokens
     * (e.g. the model's own greedy predictions, for attribution against the dense output): the inputs are
     * {@code tokens[off + b·(t+1) ..]} minus each row's last token, the targets {@code targets[tOff + b·t ..]}
     * (seqs·t ids); plain CE, no L1 term, no teacher.
     */
    public Loss stepToTargets(int[] tokens, int off, int[] targets, int tOff, float gradScale, Parallel par) {
        forward(tokens, off, par);
        if (tOff < 0 || (long) tOff + rows > targets.length) {
            throw new IllegalArgumentException(rows + " targets at " + tOff + " outside an array of " + targets.length);
        }
        System.arraycopy(targets, tOff, this.targets, 0, rows);
        checkIds(this.targets, cfg.vocabSize());
        return lossAndBackward(0f, null, 0f, gradScale, par);
    }

    private Loss lossAndBackward(float l1, float[] teacher, float alpha, float gradScale, Parallel par) {
        int v = cfg.vocabSize();
        float scale = gradScale / rows;
        double ce;
        double kl = 0;
        if (teacher != null) {
            double[] r = CrossEntropy.distill(logits, teacher, rows, v, targets, 0, alpha, scale, par);
            ce = r[0];
            kl = r[1];
        } else {
            ce = CrossEntropy.forward(logits, rows, v, targets, 0, true, scale, par);
        }
        lap(Op.LOSS, -1);
        Stats s = stats(par);
        lap(Op.STATS, -1);
        backward(l1 * gradScale / (cfg.numLayers() * (float) rows * cfg.intermediateSize()), gradScale, par);
        return new Loss(ce, kl, s.l1, rows, s.zeros, s.meanAbs);
    }

    /** Forward only: fills the workspace and the logits ([seqs·t, V]); returns the logits array (reused). */
    public float[] forward(int[] tokens, int off, Parallel par) {
        int stride = t + 1;
        if (off < 0 || (long) off + (long) seqs * stride > tokens.length) {
            throw new IllegalArgumentException("batch of " + seqs + " x " + stride + " tokens at " + off
                    + " outside an array of " + tokens.length);
        }
        for (int b = 0; b < seqs; b++) {
            System.arraycopy(tokens, off + b * stride, inputs, b * t, t);
            System.arraycopy(tokens, off + b * stride + 1, targets, b * t, t);
        }
        checkIds(inputs, cfg.vocabSize());
        checkIds(targets, cfg.vocabSize());
        LlamaBlock.Rows r = new LlamaBlock.Rows(seqs, t, 0);
        LlamaBlock.embed(w, inputs, 0, rows, st.x);
        lap(Op.EMBED, -1);
        ActivationTap tap = gate == null ? ActivationTap.NONE : gate.tap();
        for (int l = 0; l < ffn.length; l++) {
            LlamaBlock.layer(w, l, ffn[l], st, r, null, invFreq, tap, par);
            lap(Op.FWD_LAYER, l);
        }
        LlamaBlock.head(w, st, 0, rows, logits, par);
        lap(Op.HEAD, -1);
        return logits;
    }

    static void checkIds(int[] ids, int vocab) {
        for (int id : ids) {
            if (id < 0 || id >= vocab) {
                throw new SparsaException.UsageException("token id " + id + " is outside the vocabulary [0, " + vocab
                        + ")");
            }
        }
    }

    private record Stats(double l1, double[] zeros, double[] meanAbs) {
    }

    // zero fraction and mean |a| of every layer's act(gate), and the L1 term (1/L) Σ_ℓ mean|a_ℓ|
    private Stats stats(Parallel par) {
        int layers = cfg.numLayers();
        int n = rows * cfg.intermediateSize();
        double[] zeros = new double[layers];
        double[] mean = new double[layers];
        double l1 = 0;
        for (int l = 0; l < layers; l++) {
            float[] a = st.slot(l).ffn.act;
            int chunks = Math.max(1, Math.min(64, n / 4096));
            long[] z = new long[chunks];
            double[] s = new double[chunks];
            par.forRange(chunks, 1, (from, to) -> {
                for (int c = from; c < to; c++) {
                    int i0 = (int) ((long) n * c / chunks);
                    int i1 = (int) ((long) n * (c + 1) / chunks);
                    long zc = 0;
                    double sc = 0;
                    for (int i = i0; i < i1; i++) {
                        float ai = a[i];
                        if (ai == 0f) {
                            zc++;
                        }
                        sc += Math.abs(ai);
                    }
                    z[c] = zc;
                    s[c] = sc;
                }
            });
            long zt = 0;
            double stt = 0;
            for (int c = 0; c < chunks; c++) {
                zt += z[c];
                stt += s[c];
            }
            zeros[l] = (double) zt / n;
            mean[l] = stt / n;
            l1 += mean[l];
        }
        return new Stats(l1 / layers, zeros, mean);
    }

    // the backward of forward(): dlogits are in logits; gradients added to the parameters
    private void backward(float l1Coef, float gradScale, Parallel par) {
        int d = cfg.hiddenSize();
        int v = cfg.vocabSize();
        int n = rows;
        // logits = xf W_lmᵀ
        gemm.multiply(n, d, v, Mat.of(logits, 0, v), Weight.of(w.lmHead()), Mat.of(dxn, 0, d), false, par);
        lap(Op.BWD_HEAD_DX, -1);
        gemm.multiply(v, d, n, Mat.of(logits, 0, v).t(), Mat.of(st.xf, 0, d), Mat.of(p.grad(w.lmHead()), 0, d),
                true, par);
        lap(Op.BWD_HEAD_DW, -1);
        // xf = RMSNorm(x) ⊙ g
        RmsNorm.backwardRows(dx, false, dxn, st.x, st.rstdF, w.finalNorm(), p.grad(w.finalNorm()), n, d, par);
        lap(Op.BWD_FINAL_NORM, -1);
        for (int l = cfg.numLayers() - 1; l >= 0; l--) {
            layerBackward(l, l1Coef, gradScale, par);
        }
        // x = E[ids]: scatter-add, columns split over threads, rows in order
        float[] gE = p.grad(w.embed());
        par.forRange(d, 16, (c0, c1) -> {
            for (int r = 0; r < n; r++) {
                int o = inputs[r] * d;
                int ro = r * d;
                for (int c = c0; c < c1; c++) {
                    gE[o + c] += dx[ro + c];
                }
            }
        });
        lap(Op.BWD_EMBED, -1);
    }

    private void layerBackward(int l, float l1Coef, float gradScale, Parallel par) {
        LlamaWeights.Layer ly = w.layers().get(l);
        LlamaState.Slot s = st.slot(l);
        FfnActivations fa = s.ffn;
        int d = cfg.hiddenSize();
        int f = cfg.intermediateSize();
        int qDim = shape.qDim();
        int kvDim = shape.kvDim();
        int hd = cfg.headDim();
        int n = rows;
        Tensor wDown = ly.ffn().down();
        Tensor wGate = ly.ffn().gate();
        Tensor wUp = ly.ffn().up();
        // x += W_down h
        linearBackward(dx, d, wDown, fa.h, f, dh, false, null, Op.BWD_DOWN_DX, Op.BWD_DOWN_DW, l, par);
        if (gradTap != null) {
            gradTap.onFfn(l, fa.h, dh, n, f);
        }
        // h' = m(xn) ⊙ h: a method's gate (LTE's routers)
        if (gate != null) {
            gate.backward(l, s.xn2, dh, n, gradScale, par);
        }
        // h = act(gate) ⊙ up
        par.forRange(n * f, 4096, (from, to) ->
                act.gatedBackward(fa.gate, fa.up, fa.act, dh, l1Coef, dgate, dup, from, to));
        lap(Op.BWD_GLU, l);
        // gate = W_gate xn, up = W_up xn
        linearBackward(dgate, f, wGate, s.xn2, d, dxn, false, null, Op.BWD_GATE_UP_DX, Op.BWD_GATE_UP_DW, l, par);
        linearBackward(dup, f, wUp, s.xn2, d, dxn, true, null, Op.BWD_GATE_UP_DX, Op.BWD_GATE_UP_DW, l, par);
        if (gate != null) {
            gate.inputGradient(l, dxn, n, par);
        }
        // xn = ReLU(RMSNorm(x) ⊙ g_ffn) for a relufied model: the gradient passes where xn > 0
        reluBackward(dxn, s.xn2, n * d);
        // xn = RMSNorm(x) ⊙ g_ffn (x the mid residual); dx carries the residual path
        RmsNorm.backwardRows(dx, true, dxn, s.xMid, s.rstd2, ly.ffnNorm(), p.grad(ly.ffnNorm()), n, d, par);
        lap(Op.BWD_FFN_NORM, l);
        // x += W_o att (+ b_o)
        linearBackward(dx, d, ly.wo(), s.att, qDim, datt, false, ly.bo(), Op.BWD_O_DX, Op.BWD_O_DW, l, par);
        // att = causal softmax(q kᵀ / √d) v, per sequence
        Attention.backward(shape, seqs, t, s.q, s.k, s.v, s.probs, datt, dq, dk, dv, par);
        lap(Op.BWD_ATTENTION, l);
        // q, k = RoPE(q), RoPE(k): rotate the gradients back
        par.forRange(n, 16, (from, to) -> {
            for (int i = from; i < to; i++) {
                int pos = i % t;
                Rotary.backward(rope, false, dq, i * qDim, cfg.numHeads(), hd, pos);
                Rotary.backward(rope, false, dk, i * kvDim, cfg.numKvHeads(), hd, pos);
            }
        });
        lap(Op.BWD_ROPE, l);
        // q, k, v = W_{q,k,v} xn (+ b)
        linearBackward(dq, qDim, ly.wq(), s.xn1, d, dxn, false, ly.bq(), Op.BWD_QKV_DX, Op.BWD_QKV_DW, l, par);
        linearBackward(dk, kvDim, ly.wk(), s.xn1, d, dxn, true, ly.bk(), Op.BWD_QKV_DX, Op.BWD_QKV_DW, l, par);
        linearBackward(dv, kvDim, ly.wv(), s.xn1, d, dxn, true, ly.bv(), Op.BWD_QKV_DX, Op.BWD_QKV_DW, l, par);
        reluBackward(dxn, s.xn1, n * d);
        // xn = RMSNorm(x) ⊙ g_attn (x the layer input)
        RmsNorm.backwardRows(dx, true, dxn, s.xIn, s.rstd1, ly.attnNorm(), p.grad(ly.attnNorm()), n, d, par);
        lap(Op.BWD_ATTN_NORM, l);
    }

    private void reluBackward(float[] g, float[] y, int n) {
        if (cfg.reluAfterNorm()) {
            for (int i = 0; i < n; i++) {
                if (!(y[i] > 0f)) {
                    g[i] = 0f;
                }
            }
        }
    }

    /**
     * Backward of {@code y = x Wᵀ (+ b)} over the batch: {@code dx (+)= dy W}, {@code dW += dyᵀ x}, {@code db += Σ dy}.
     * dy is [rows, out], x [rows, in]. The two GEMMs end the profile's sections {@code opDx} and {@code opDw} (the
     * bias sum goes with dW).
     */
    private void linearBackward(float[] dy, int out, Tensor wt, float[] x, int in, float[] dxOut, boolean accumulate,
                                Tensor bias, Op opDx, Op opDw, int layer, Parallel par) {
        int n = rows;
        gemm.multiply(n, in, out, Mat.of(dy, 0, out), Weight.of(wt), Mat.of(dxOut, 0, in), accumulate, par);
        lap(opDx, layer);
        gemm.multiply(out, in, n, Mat.of(dy, 0, out).t(), Mat.of(x, 0, in), Mat.of(p.grad(wt), 0, in), true, par);
        if (bias != null) {
            float[] gb = p.grad(bias);
            par.forRange(out, 16, (c0, c1) -> {
                for (int r = 0; r < n; r++) {
                    int o = r * out;
                    for (int c = c0; c < c1; c++) {
                        gb[c] += dy[o + c];
                    }
                }
            });
        }
        lap(opDw, layer);
    }
}
