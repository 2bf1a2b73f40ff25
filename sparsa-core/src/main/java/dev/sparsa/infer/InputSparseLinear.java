package dev.sparsa.infer;

import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Gemm;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.Arena;

/**
 * A projection with a magnitude-sparsified input (TEAL, Liu et al. 2024): {@code y = W·s_t(x) (+ b)} with
 * {@code s_t(x)_j = x_j} if {@code |x_j| > t}, else 0. W ({@code [out, in]}) is kept transposed ({@code [in, out]},
 * one contiguous row per input j), so a zeroed input skips a whole row: {@code y = Σ_{j: |x_j| > t} x_j·W[:, j]}
 * ({@link Kernels#axpyRowsSliced}: {@link #SLICES} fixed input ranges, each a task that reads its kept rows whole, then
 * the partial outputs summed in range order: the same bits for any thread count; splitting each row between threads
 * instead read pieces of out/threads values and cost TEAL's decode about 15% at TinyLlama shape). A batch of
 * {@link #GEMM_ROWS} rows or more is one GEMM over the masked inputs (the same function, summed in another order).
 *
 * <p>Memory: the transposed copy has the source's dtype for float weights and Q8_0 for quantized ones (F32 when
 * {@code out} is not a multiple of 32), in an automatic arena; the original (usually mmap'd) is not read again.
 */
public final class InputSparseLinear {
    /** Fixed input ranges of one row's pass (each a task reading its kept rows of Wᵀ whole; see below). */
    static final int SLICES = 8;

    /** Rows from which a batch is one GEMM over the masked inputs instead of one sparse pass per row. */
    public static final int GEMM_ROWS = 48;

    private final Tensor wT;
    private final float[] bias;
    private final int in;
    private final int out;

    /** {@code w} is [out, in]; {@code bias} (length out) may be null. */
    public InputSparseLinear(Tensor w, Tensor bias, Arena arena) {
        this.out = w.rows();
        this.in = w.cols();
        this.wT = Kernels.transpose(w, transposedType(w), arena);
        this.bias = bias == null ? null : Kernels.toFloats(bias);
    }

    /** The dtype of W's transposed copy: the source's for float weights, Q8_0 (or F32) for quantized ones. */
    public static DType transposedType(Tensor w) {
        if (!w.dtype().quantized()) {
            return w.dtype();
        }
        return w.rows() % DType.Q8_0.blockSize() == 0 ? DType.Q8_0 : DType.F32;
    }

    public int in() {
        return in;
    }

    public int out() {
        return out;
    }

    /** W transposed, [in, out]. */
    public Tensor transposed() {
        return wT;
    }

    /** Scratch for one call: the kept inputs, their values, one output row and the masked batch. */
    public static final class Scratch {
        final int[] idx;
        final float[] coef;
        final float[] yRow;
        final float[][] parts;
        float[] masked = new float[0];

        /** For inputs of up to {@code in} values and outputs of up to {@code out} values. */
        public Scratch(int in, int out) {
            idx = new int[in];
            coef = new float[in];
            yRow = new float[out];
            parts = new float[SLICES][out];
        }

        float[] masked(int n) {
            if (masked.length < n) {
                masked = new float[n];
            }
            return masked;
        }
    }

    /**
     * {@code y[r·out ..] = W·s_t(x[r·in ..]) (+ b)} for {@code rows} rows; returns how many inputs were kept in all.
     */
    public long forward(float[] x, int rows, float t, float[] y, Scratch s, Gemm gemm, Parallel par) {
        long kept = 0;
        if (rows < GEMM_ROWS) {
            for (int r = 0; r < rows; r++) {
                kept += row(x, r * in, t, y, r * out, s, par);
            }
            return kept;
        }
        float[] xm = s.masked(rows * in);
        for (int i = 0; i < rows * in; i++) {
            float v = x[i];
            boolean keep = Math.abs(v) > t;                               // s_t(x)_j = x_j·[|x_j| > t]
            xm[i] = keep ? v : 0f;
            kept += keep ? 1 : 0;
        }
        gemm.multiply(rows, out, in, Gemm.Mat.of(xm, 0, in), Gemm.Weight.of(wT), Gemm.Mat.of(y, 0, out), false,
                par);                                                     // Y = s_t(X)·Wᵀ (W stored as Wᵀ)
        if (bias != null) {
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < out; j++) {
                    y[r * out + j] += bias[j];
                }
            }
        }
        return kept;
    }

    /** One row: {@code y[yOff ..] = Σ_{j: |x_j| > t} x_j·W[:, j] (+ b)}; returns the kept inputs. */
    public int row(float[] x, int xOff, float t, float[] y, int yOff, Scratch s, Parallel par) {
        int n = 0;
        for (int j = 0; j < in; j++) {
            float v = x[xOff + j];
            if (Math.abs(v) > t) {                                        // s_t(x)_j = x_j·[|x_j| > t]
                s.idx[n] = j;
                s.coef[n++] = v;
            }
        }
        float[] yr = s.yRow;
        Kernels.axpyRowsSliced(wT, s.idx, s.coef, n, s.parts, yr, par);   // y = Σ_{j kept} x_j W[:, j]
        if (bias != null) {
            for (int j = 0; j < out; j++) {
                yr[j] += bias[j];
            }
        }
        System.arraycopy(yr, 0, y, yOff, out);
        return n;
    }
}
