package dev.sparsa.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Scalar reference implementations of {@link Kernels}, {@link VectorOps} and the training kernels ({@link RmsNorm}
 * backward, {@link Rotary}, {@link Attention}, {@link Gated}, {@link CrossEntropy}): the obvious loops, kept as the
 * ground truth that every Vector API kernel is tested against (and usable as a slow fallback when debugging). Not
 * tuned; do not call from hot paths.
 */
public final class ScalarKernels {
    private ScalarKernels() {
    }

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    // ---------------------------------------------------------------- weight-side kernels

    /** {@code y[r] = W[r,:] · x} for every row r (matvec, y = W·x). */
    public static void matvec(Tensor w, float[] x, float[] y, Parallel par) {
        checkVec(w, x, y, 1);
        par.forRange(w.rows(), 16, (from, to) -> {
            for (int r = from; r < to; r++) {
                y[r] = dotRow(w, r, x, 0);
            }
        });
    }

    /**
     * Batched matvec: {@code y[b·rows + r] = W[r,:] · x[b·cols ..]} for b in [0, batch); x is batch × cols and y is
     * batch × rows, both row-major.
     */
    public static void matmul(Tensor w, float[] x, int batch, float[] y, Parallel par) {
        checkVec(w, x, y, batch);
        int rows = w.rows();
        int cols = w.cols();
        par.forRange(rows, 16, (from, to) -> {
            for (int r = from; r < to; r++) {
                for (int b = 0; b < batch; b++) {
                    y[b * rows + r] = dotRow(w, r, x, b * cols);
                }
            }
        });
    }

    /** {@code W[row,:] · x[xOff .. xOff+cols)}. */
    public static float dotRow(Tensor w, int row, float[] x, int xOff) {
        int cols = w.cols();
        MemorySegment s = w.data();
        long base = row * w.rowBytes();
        float sum = 0f;
        switch (w.dtype()) {
            case F32 -> {
                for (int i = 0; i < cols; i++) {
                    sum += s.get(F32, base + 4L * i) * x[xOff + i];
                }
            }
            case F16 -> {
                for (int i = 0; i < cols; i++) {
                    sum += Half.f16ToFloat(s.get(I16, base + 2L * i)) * x[xOff + i];
                }
            }
            case BF16 -> {
                for (int i = 0; i < cols; i++) {
                    sum += Half.bf16ToFloat(s.get(I16, base + 2L * i)) * x[xOff + i];
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < cols / 32; b++) {
                    long blk = base + 34L * b;
                    float d = Half.f16ToFloat(s.get(I16, blk));
                    float acc = 0f;
                    for (int j = 0; j < 32; j++) {
                        acc += s.get(ValueLayout.JAVA_BYTE, blk + 2 + j) * x[xOff + 32 * b + j];
                    }
                    sum += d * acc;
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < cols / 32; b++) {
                    long blk = base + 18L * b;
                    float d = Half.f16ToFloat(s.get(I16, blk));
                    float acc = 0f;
                    for (int j = 0; j < 16; j++) {
                        int q = s.get(ValueLayout.JAVA_BYTE, blk + 2 + j) & 0xff;
                        acc += ((q & 0x0f) - 8) * x[xOff + 32 * b + j];
                        acc += ((q >>> 4) - 8) * x[xOff + 32 * b + j + 16];
                    }
                    sum += d * acc;
                }
            }
        }
        return sum;
    }

    /** Dequantizes row {@code row} of W into {@code dst[dstOff .. dstOff+cols)} (embedding lookup). */
    public static void getRow(Tensor w, int row, float[] dst, int dstOff) {
        int cols = w.cols();
        MemorySegment s = w.data();
        long base = row * w.rowBytes();
        switch (w.dtype()) {
            case F32 -> MemorySegment.copy(s, F32, base, dst, dstOff, cols);
            case F16 -> {
                for (int i = 0; i < cols; i++) {
                    dst[dstOff + i] = Half.f16ToFloat(s.get(I16, base + 2L * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < cols; i++) {
                    dst[dstOff + i] = Half.bf16ToFloat(s.get(I16, base + 2L * i));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < cols / 32; b++) {
                    long blk = base + 34L * b;
                    float d = Half.f16ToFloat(s.get(I16, blk));
                    for (int j = 0; j < 32; j++) {
                        dst[dstOff + 32 * b + j] = s.get(ValueLayout.JAVA_BYTE, blk + 2 + j) * d;
                    }
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < cols / 32; b++) {
                    long blk = base + 18L * b;
                    float d = Half.f16ToFloat(s.get(I16, blk));
                    for (int j = 0; j < 16; j++) {
                        int q = s.get(ValueLayout.JAVA_BYTE, blk + 2 + j) & 0xff;
                        dst[dstOff + 32 * b + j] = ((q & 0x0f) - 8) * d;
                        dst[dstOff + 32 * b + j + 16] = ((q >>> 4) - 8) * d;
                    }
                }
            }
        }
    }

    /** {@code y += a · W[row,:]} — accumulates one column of a down projection stored transposed (sparse FFN). */
    public static void axpyRow(Tensor w, int row, float a, float[] y) {
        int cols = w.cols();
        float[] tmp = new float[cols];
        getRow(w, row, tmp, 0);
        for (int i = 0; i < cols; i++) {
            y[i] += a * tmp[i];
        }
    }

    /** Whole tensor as floats (norm weights, biases, small matrices). */
    public static float[] toFloats(Tensor w) {
        long n = w.numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(w.name() + ": too large to copy to the heap (" + n + " values)");
        }
        float[] out = new float[(int) n];
        int rows = w.rows();
        int cols = w.cols();
        for (int r = 0; r < rows; r++) {
            getRow(w, r, out, r * cols);
        }
        return out;
    }

    // ---------------------------------------------------------------- activation-side kernels

    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    /** RMSNorm: {@code out = x / sqrt(mean(x²) + eps) ⊙ weight}. */
    public static void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        double ss = 0;
        for (int i = 0; i < n; i++) {
            ss += (double) x[xOff + i] * x[xOff + i];
        }
        float inv = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) {
            out[outOff + i] = x[xOff + i] * inv * weight[i];
        }
    }

    /** LayerNorm: {@code out = (x − mean) / sqrt(var + eps) ⊙ gamma + beta} (biased variance). */
    public static void layernorm(float[] out, int outOff, float[] x, int xOff, float[] gamma, float[] beta, int n,
                                 float eps) {
        double mean = 0;
        for (int i = 0; i < n; i++) {
            mean += x[xOff + i];
        }
        mean /= n;
        double var = 0;
        for (int i = 0; i < n; i++) {
            double d = x[xOff + i] - mean;
            var += d * d;
        }
        var /= n;
        float inv = (float) (1.0 / Math.sqrt(var + eps));
        for (int i = 0; i < n; i++) {
            out[outOff + i] = (float) (x[xOff + i] - mean) * inv * gamma[i] + beta[i];
        }
    }

    /** In-place softmax over {@code x[off .. off+n)}. */
    public static void softmax(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int i = 0; i < n; i++) {
            x[off + i] *= inv;
        }
    }

    /**
     * RoPE, Hugging Face "rotate_half" layout: for i &lt; headDim/2 the pair is (x[i], x[i + headDim/2]) rotated by
     * {@code pos · invFreq[i]}. Applied to {@code heads} consecutive heads starting at {@code off}.
     */
    public static void rope(float[] x, int off, int heads, int headDim, int pos, float[] invFreq) {
        int half = headDim / 2;
        for (int i = 0; i < half; i++) {
            double angle = pos * (double) invFreq[i];
            float c = (float) Math.cos(angle);
            float s = (float) Math.sin(angle);
            for (int h = 0; h < heads; h++) {
                int b = off + h * headDim;
                float x0 = x[b + i];
                float x1 = x[b + i + half];
                x[b + i] = x0 * c - x1 * s;
                x[b + i + half] = x0 * s + x1 * c;
            }
        }
    }

    // ---------------------------------------------------------------- sparse FFN, arrays, transpose

    /** {@code y[rows[k]] = W[rows[k],:] · x} for k in [0, count); other entries of y are left alone. */
    public static void matvecRows(Tensor w, int[] rows, int count, float[] x, float[] y) {
        for (int k = 0; k < count; k++) {
            y[rows[k]] = dotRow(w, rows[k], x, 0);
        }
    }

    /** {@code y += Σ_k coef[k] · W[rows[k],:]}, k ascending, one fused multiply-add per element and row. */
    public static void axpyRows(Tensor w, int[] rows, float[] coef, int count, float[] y) {
        float[] tmp = new float[w.cols()];
        for (int k = 0; k < count; k++) {
            getRow(w, rows[k], tmp, 0);
            for (int i = 0; i < tmp.length; i++) {
                y[i] = Math.fma(coef[k], tmp[i], y[i]);
            }
        }
    }

    /** W^T as floats, row-major [cols, rows]. */
    public static float[] transposeFloats(Tensor w) {
        int rows = w.rows();
        int cols = w.cols();
        float[] a = toFloats(w);
        float[] t = new float[a.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = a[r * cols + c];
            }
        }
        return t;
    }

    public static void silu(float[] x, int off, int n) {
        for (int i = off; i < off + n; i++) {
            x[i] = VectorOps.silu(x[i]);
        }
    }

    public static void gelu(float[] x, int off, int n) {
        for (int i = off; i < off + n; i++) {
            x[i] = VectorOps.gelu(x[i]);
        }
    }

    public static void geluTanh(float[] x, int off, int n) {
        for (int i = off; i < off + n; i++) {
            x[i] = VectorOps.geluTanh(x[i]);
        }
    }

    public static void relu(float[] x, int off, int n) {
        for (int i = off; i < off + n; i++) {
            x[i] = VectorOps.relu(x[i]);
        }
    }

    // ---------------------------------------------------------------- training ops: twins of RmsNorm, Rotary,
    // Attention, Gated and CrossEntropy (the same semantics, plain loops, float sums in index order)

    /**
     * Twin of {@link RmsNorm#backward} (gain as a float array): with c = Σ_j dy_j g_j x_j,
     * {@code dx = r·(dy ⊙ g) − (r³ c / n)·x} (overwritten, or added to with {@code accumulate}) and
     * {@code dg += dy ⊙ x·r} (dg may be null).
     */
    public static void rmsnormBackward(float[] dx, int dxOff, boolean accumulate, float[] dy, int dyOff, float[] x,
                                       int xOff, float r, float[] g, float[] dg, int n) {
        float c = 0f;
        for (int i = 0; i < n; i++) {
            c += dy[dyOff + i] * g[i] * x[xOff + i];
        }
        float k = r * r * r * c / n;
        for (int i = 0; i < n; i++) {
            float d = dy[dyOff + i] * g[i] * r - x[xOff + i] * k;
            dx[dxOff + i] = accumulate ? dx[dxOff + i] + d : d;
        }
        if (dg != null) {
            for (int i = 0; i < n; i++) {
                dg[i] += dy[dyOff + i] * (x[xOff + i] * r);
            }
        }
    }

    /**
     * Twin of {@link Rotary#forward}: pair i of each head, (x[i], x[i + d/2]) or with {@code interleaved}
     * (x[2i], x[2i+1]), rotated by θ = pos · invFreq[i] (angle in double, cos/sin rounded to float once).
     */
    public static void rotaryForward(float[] x, int off, int heads, int headDim, int pos, float[] invFreq,
                                     boolean interleaved) {
        rotary(x, off, heads, headDim, pos, invFreq, interleaved, false);
    }

    /** Twin of {@link Rotary#backward}: the same pairs rotated by −θ. */
    public static void rotaryBackward(float[] g, int off, int heads, int headDim, int pos, float[] invFreq,
                                      boolean interleaved) {
        rotary(g, off, heads, headDim, pos, invFreq, interleaved, true);
    }

    private static void rotary(float[] x, int off, int heads, int headDim, int pos, float[] invFreq,
                               boolean interleaved, boolean inverse) {
        int half = headDim / 2;
        for (int h = 0; h < heads; h++) {
            int b = off + h * headDim;
            for (int i = 0; i < half; i++) {
                double angle = pos * (double) invFreq[i];
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                if (inverse) {
                    s = -s;
                }
                int i0 = interleaved ? b + 2 * i : b + i;
                int i1 = interleaved ? i0 + 1 : i0 + half;
                float x0 = x[i0];
                float x1 = x[i1];
                x[i0] = x0 * c - x1 * s;
                x[i1] = x0 * s + x1 * c;
            }
        }
    }

    /**
     * Twin of {@link Attention#forward}: causal GQA attention of the t queries at positions pos0..pos0+t−1
     * ({@code q [t, H·hd]} from qOff) over keys/values 0..pos0+t−1 ({@code [·, KV·hd]} from kvOff), into
     * {@code out [t, H·hd]} from outOff; with {@code probs} non-null, P as {@code [H, t, pos0+t]} from probsOff
     * (zeros after the causal limit).
     */
    public static void attention(Attention.Shape sh, float[] q, int qOff, float[] k, float[] v, int kvOff,
                                 float[] out, int outOff, int t, int pos0, float[] probs, int probsOff) {
        int heads = sh.heads();
        int hd = sh.headDim();
        int qDim = sh.qDim();
        int kvDim = sh.kvDim();
        int group = heads / sh.kvHeads();
        int ctx = pos0 + t;
        float scale = (float) (1.0 / Math.sqrt(hd));
        float[] p = new float[ctx];
        for (int i = 0; i < t; i++) {
            int n = pos0 + i + 1;
            for (int h = 0; h < heads; h++) {
                int qo = qOff + i * qDim + h * hd;
                int kvo = kvOff + (h / group) * hd;
                for (int s = 0; s < n; s++) {
                    p[s] = dot(q, qo, k, kvo + s * kvDim, hd) * scale;             // s_j = q·k_j / √d
                }
                softmax(p, 0, n);                                                   // P = softmax(s)
                for (int j = 0; j < hd; j++) {                                      // o = Σ_j P_j v_j
                    float acc = 0f;
                    for (int s = 0; s < n; s++) {
                        acc += p[s] * v[kvo + s * kvDim + j];
                    }
                    out[outOff + i * qDim + h * hd + j] = acc;
                }
                if (probs != null) {
                    int po = probsOff + (h * t + i) * ctx;
                    for (int s = 0; s < ctx; s++) {
                        probs[po + s] = s < n ? p[s] : 0f;
                    }
                }
            }
        }
    }

    /**
     * Twin of {@link Attention#backward}: {@code seqs} sequences of t tokens (pos0 = 0), P as the forward kept
     * ({@code [seqs, H, t, t]}); dq, dk and dv overwritten.
     */
    public static void attentionBackward(Attention.Shape sh, int seqs, int t, float[] q, float[] k, float[] v,
                                         float[] probs, float[] dOut, float[] dq, float[] dk, float[] dv) {
        int heads = sh.heads();
        int hd = sh.headDim();
        int qDim = sh.qDim();
        int kvDim = sh.kvDim();
        int group = heads / sh.kvHeads();
        float scale = (float) (1.0 / Math.sqrt(hd));
        java.util.Arrays.fill(dk, 0, seqs * t * kvDim, 0f);
        java.util.Arrays.fill(dv, 0, seqs * t * kvDim, 0f);
        float[] ds = new float[t];
        for (int b = 0; b < seqs; b++) {
            for (int h = 0; h < heads; h++) {
                int kvo = b * t * kvDim + (h / group) * hd;
                for (int i = 0; i < t; i++) {
                    int n = i + 1;
                    int qo = (b * t + i) * qDim + h * hd;
                    int po = ((b * heads + h) * t + i) * t;
                    float c = 0f;
                    for (int s = 0; s < n; s++) {
                        ds[s] = dot(dOut, qo, v, kvo + s * kvDim, hd);                  // dP_j = do·v_j
                        c += probs[po + s] * ds[s];                                      // Σ_k P_k dP_k
                    }
                    for (int s = 0; s < n; s++) {
                        ds[s] = probs[po + s] * (ds[s] - c) * scale;                     // ds_j / √d
                    }
                    for (int j = 0; j < hd; j++) {
                        float acc = 0f;
                        for (int s = 0; s < n; s++) {
                            acc += ds[s] * k[kvo + s * kvDim + j];                       // dq = Σ_j ds_j k_j / √d
                        }
                        dq[qo + j] = acc;
                    }
                    for (int s = 0; s < n; s++) {
                        for (int j = 0; j < hd; j++) {
                            dk[kvo + s * kvDim + j] += ds[s] * q[qo + j];                // dk_j += ds_j q / √d
                            dv[kvo + s * kvDim + j] += probs[po + s] * dOut[qo + j];     // dv_j += P_j do
                        }
                    }
                }
            }
        }
    }

    /** Twin of {@link Gated#forward}: {@code a = act(g)}, {@code h = a ⊙ (reluUp ? ReLU(u) : u)} over [from, to). */
    public static void gatedForward(Gated.Fn fn, float t, boolean reluUp, float[] g, float[] u, float[] a, float[] h,
                                    int from, int to) {
        for (int i = from; i < to; i++) {
            float x = g[i];
            float ai = switch (fn) {
                case SILU -> VectorOps.silu(x);
                case GELU -> VectorOps.gelu(x);
                case GELU_TANH -> VectorOps.geluTanh(x);
                case RELU -> VectorOps.relu(x);
                case RELU2 -> VectorOps.relu(x) * VectorOps.relu(x);
                case FATRELU -> x >= t ? x : 0f;
            };
            a[i] = ai;
            h[i] = ai * (reluUp ? VectorOps.relu(u[i]) : u[i]);
        }
    }

    /**
     * Twin of {@link Gated#backward}: {@code da = dh ⊙ u' + λ·sign(a)}, {@code dg = da ⊙ act'(g)},
     * {@code du = dh ⊙ a} (times [u &gt; 0] with reluUp) over [from, to), dg and du overwritten.
     */
    public static void gatedBackward(Gated.Fn fn, float t, boolean reluUp, float[] g, float[] u, float[] a,
                                     float[] dh, float l1, float[] dg, float[] du, int from, int to) {
        for (int i = from; i < to; i++) {
            float x = g[i];
            float upOn = !reluUp || u[i] > 0f ? 1f : 0f;
            float da = dh[i] * u[i] * upOn + l1 * Math.signum(a[i]);
            dg[i] = da * actGrad(fn, t, x);
            du[i] = dh[i] * a[i] * upOn;
        }
    }

    // act'(x) of the gated FFN's activations
    private static float actGrad(Gated.Fn fn, float t, float x) {
        return switch (fn) {
            case SILU -> {                                                      // σ(x)(1 + x(1 − σ(x)))
                float s = 1f / (1f + (float) Math.exp(-x));
                yield s * (1f + x * (1f - s));
            }
            case GELU -> (float) (0.5 * (1 + Erf.erf(x / Math.sqrt(2)))           // Φ(x) + x φ(x)
                    + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI));
            case GELU_TANH -> {                                                 // d/dx 0.5x(1 + tanh(c(x + 0.044715x³)))
                double c = Math.sqrt(2 / Math.PI);
                double th = Math.tanh(c * (x + 0.044715 * x * x * x));
                yield (float) (0.5 * (1 + th) + 0.5 * x * (1 - th * th) * c * (1 + 3 * 0.044715 * x * x));
            }
            case RELU -> x > 0f ? 1f : 0f;
            case RELU2 -> x > 0f ? 2f * x : 0f;
            case FATRELU -> x >= t ? 1f : 0f;
        };
    }

    /**
     * Twin of {@link CrossEntropy#forward}: Σ_r (log Σ_j e^{z_j} − z_y) over rows of {@code logits [rows, v]}; with
     * {@code grad} the logits are replaced by {@code scale·(softmax(z) − onehot(y))}.
     */
    public static double crossEntropy(float[] logits, int rows, int v, int[] targets, int tOff, boolean grad,
                                      float scale) {
        double total = 0;
        float[] e = new float[v];
        for (int r = 0; r < rows; r++) {
            int o = r * v;
            int y = targets[tOff + r];
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < v; j++) {
                max = Math.max(max, logits[o + j]);
            }
            float sum = 0f;
            for (int j = 0; j < v; j++) {
                e[j] = (float) Math.exp(logits[o + j] - max);
                sum += e[j];
            }
            total += Math.log(sum) + max - logits[o + y];
            if (grad) {
                for (int j = 0; j < v; j++) {
                    logits[o + j] = e[j] * (scale / sum) - (j == y ? scale : 0f);
                }
            }
        }
        return total;
    }

    /**
     * Twin of {@link CrossEntropy#distill}: returns {Σ_r ℓ_r, Σ_r KL(q_r ‖ p_r)} with p = softmax(student),
     * q = softmax(teacher), and replaces the student logits by {@code scale·(p − (1 − α)·onehot(y) − α·q)}.
     */
    public static double[] distill(float[] logits, float[] teacher, int rows, int v, int[] targets, int tOff,
                                   float alpha, float scale) {
        double ce = 0;
        double kl = 0;
        for (int r = 0; r < rows; r++) {
            int o = r * v;
            int y = targets[tOff + r];
            double lseS = logSumExp(logits, o, v);
            double lseT = logSumExp(teacher, o, v);
            ce += lseS - logits[o + y];
            for (int j = 0; j < v; j++) {
                double lq = teacher[o + j] - lseT;
                kl += Math.exp(lq) * (lq - (logits[o + j] - lseS));
            }
            for (int j = 0; j < v; j++) {
                float p = (float) Math.exp(logits[o + j] - lseS);
                float q = (float) Math.exp(teacher[o + j] - lseT);
                logits[o + j] = scale * (p - alpha * q - (j == y ? 1 - alpha : 0f));
            }
        }
        return new double[] {ce, kl};
    }

    private static double logSumExp(float[] x, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += Math.exp(x[off + i] - max);
        }
        return max + Math.log(s);
    }

    private static void checkVec(Tensor w, float[] x, float[] y, int batch) {
        if (x.length < (long) batch * w.cols() || y.length < (long) batch * w.rows()) {
            throw new IllegalArgumentException(w.describe() + ": x has " + x.length + " and y " + y.length
                    + " floats, need " + (long) batch * w.cols() + " and " + (long) batch * w.rows());
        }
        if (w.dtype().quantized() && w.cols() % w.dtype().blockSize() != 0) {
            throw new IllegalArgumentException(w.describe() + ": row length not a multiple of the block size");
        }
    }
}
