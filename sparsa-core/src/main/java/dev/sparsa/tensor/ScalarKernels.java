package dev.sparsa.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Scalar reference implementations of {@link Kernels} and {@link VectorOps}: the obvious loops, kept as the ground
 * truth that every Vector API kernel is tested against (and usable as a slow fallback when debugging). Not tuned; do
 * not call from hot paths.
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
