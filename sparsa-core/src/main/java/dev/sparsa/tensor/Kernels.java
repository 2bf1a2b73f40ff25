package dev.sparsa.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import jdk.incubator.vector.FloatVector;

import static dev.sparsa.tensor.Simd.FS;
import static dev.sparsa.tensor.Simd.L;
import static dev.sparsa.tensor.Simd.hsum;

/**
 * The weight-side kernels every model, profiler and trainer is built from: each reads a {@link Tensor} of any
 * {@link DType} (mmap'd or in an arena) against {@code float[]} activations. Matvec and its row-list and fused
 * variants, the tiled batched {@link #matmul}, the transposed accumulation {@link #axpyRows}, row lookup and
 * conversion. Row-parallel kernels split over output rows only ({@link #axpyRows} over output columns only), so
 * results do not depend on the thread count.
 *
 * <p>Each kernel switches on the dtype once per row range and runs that dtype's Vector API row loop
 * ({@code F32Rows}, {@code F16Rows}, {@code Bf16Rows}, {@code Q8_0Rows}, {@code Q4_0Rows}, over the lane
 * converters of {@code Dequant}); each is tested against {@link ScalarKernels}. Results equal the scalar reference
 * within float rounding (summation order differs), except {@link #getRow}, {@link #axpyRow} and {@link #axpyRows},
 * which are bit-identical to it. {@link #matmul} and {@link #matvec} agree within rounding, not bitwise. Kernels on
 * activation vectors alone (norms, softmax, RoPE, activations) are in {@link VectorOps}.
 */
public final class Kernels {
    private Kernels() {
    }

    /** {@code y[r] = W[r,:] · x} for every row r (matvec, y = W·x). */
    public static void matvec(Tensor w, float[] x, float[] y, Parallel par) {
        checkVec(w, x, y, 1);
        par.forRange(w.rows(), 16, (from, to) -> dotRows(w, from, to, x, y));
    }

    /**
     * {@code y[r] = W[r,:] · x} for r in [from, to), serially: the body of {@link #matvec} for callers that split rows
     * themselves (fused decode passes). One dtype switch, then that dtype's row loop; each value is bit-identical to
     * {@link #dotRow}.
     */
    public static void matvecRange(Tensor w, int from, int to, float[] x, float[] y) {
        checkVec(w, x, y, 1);
        if (from < 0 || to > w.rows() || from > to) {
            throw new IndexOutOfBoundsException(w.describe() + ": rows [" + from + ", " + to + ")");
        }
        dotRows(w, from, to, x, y);
    }

    // y[r] = W[r,:]·x for r in [from, to): the dtype is switched on once per range, not per row
    private static void dotRows(Tensor w, int from, int to, float[] x, float[] y) {
        MemorySegment s = w.data();
        long rb = w.rowBytes();
        int n = w.cols();
        switch (w.dtype()) {
            case F32 -> {
                for (int r = from; r < to; r++) {
                    y[r] = F32Rows.dot(s, r * rb, x, 0, n);
                }
            }
            case F16 -> {
                for (int r = from; r < to; r++) {
                    y[r] = F16Rows.dot(s, r * rb, x, 0, n);
                }
            }
            case BF16 -> {
                for (int r = from; r < to; r++) {
                    y[r] = Bf16Rows.dot(s, r * rb, x, 0, n);
                }
            }
            case Q8_0 -> {
                for (int r = from; r < to; r++) {
                    y[r] = Q8_0Rows.dot(s, r * rb, x, 0, n);
                }
            }
            case Q4_0 -> {
                for (int r = from; r < to; r++) {
                    y[r] = Q4_0Rows.dot(s, r * rb, x, 0, n);
                }
            }
        }
    }

    /**
     * {@code y[rows[k]] = W[rows[k],:] · x} for k in [0, count); other entries of y are untouched (exact-sparse FFN:
     * up projection only for the active neurons). Split over k.
     */
    public static void matvecRows(Tensor w, int[] rows, int count, float[] x, float[] y, Parallel par) {
        checkVec(w, x, y, 1);
        checkRows(w, rows, count);
        par.forRange(count, 16, (from, to) -> dotListedRows(w, rows, from, to, x, y));
    }

    // y[rows[k]] = W[rows[k],:]·x for k in [from, to), one dtype switch per range
    private static void dotListedRows(Tensor w, int[] rows, int from, int to, float[] x, float[] y) {
        MemorySegment s = w.data();
        long rb = w.rowBytes();
        int n = w.cols();
        switch (w.dtype()) {
            case F32 -> {
                for (int k = from; k < to; k++) {
                    y[rows[k]] = F32Rows.dot(s, rows[k] * rb, x, 0, n);
                }
            }
            case F16 -> {
                for (int k = from; k < to; k++) {
                    y[rows[k]] = F16Rows.dot(s, rows[k] * rb, x, 0, n);
                }
            }
            case BF16 -> {
                for (int k = from; k < to; k++) {
                    y[rows[k]] = Bf16Rows.dot(s, rows[k] * rb, x, 0, n);
                }
            }
            case Q8_0 -> {
                for (int k = from; k < to; k++) {
                    y[rows[k]] = Q8_0Rows.dot(s, rows[k] * rb, x, 0, n);
                }
            }
            case Q4_0 -> {
                for (int k = from; k < to; k++) {
                    y[rows[k]] = Q4_0Rows.dot(s, rows[k] * rb, x, 0, n);
                }
            }
        }
    }

    /**
     * {@code y += Σ_k coef[k] · W[rows[k],:]} for k in [0, count): the down projection of an exact-sparse FFN with
     * W_down stored transposed ([F, D], one contiguous row per neuron). Each y[i] gets one fused multiply-add per
     * k in ascending k; threads split y's columns, so the result is bit-identical for any thread count (and to
     * {@link ScalarKernels#axpyRows}).
     */
    public static void axpyRows(Tensor w, int[] rows, float[] coef, int count, float[] y, Parallel par) {
        checkRows(w, rows, count);
        if (coef.length < count || y.length < w.cols()) {
            throw new IllegalArgumentException(w.describe() + ": coef has " + coef.length + " (need " + count
                    + "), y has " + y.length + " (need " + w.cols() + ")");
        }
        int cols = w.cols();
        int units = (cols + 31) / 32; // split in whole 32-column blocks
        // One contiguous column range per thread (at least 8 blocks): each listed row is then read in as few pieces
        // as possible (short strided pieces of ~560 scattered rows defeat the prefetcher). The split only decides
        // which thread writes which y[i]; each y[i] still gets its FMAs in ascending k.
        int grain = Math.max(8, (units + par.threads() - 1) / par.threads());
        par.forRange(units, grain, (from, to) -> {
            int c0 = from * 32;
            int c1 = Math.min(cols, to * 32);
            int k = 0;
            if (w.dtype() == DType.Q8_0) {
                MemorySegment s = w.data();
                long rb = w.rowBytes();
                for (; k + 4 <= count; k += 4) {
                    Q8_0Rows.axpy4(s, rows[k] * rb, rows[k + 1] * rb, rows[k + 2] * rb, rows[k + 3] * rb,
                            coef[k], coef[k + 1], coef[k + 2], coef[k + 3], y, 0, c0, c1);
                }
            }
            for (; k < count; k++) {
                axpy(w, rows[k], coef[k], y, c0, c1);
            }
        });
    }

    /**
     * {@code y = Σ_k coef[k] · W[rows[k],:]} (y overwritten, rows ascending), by whole rows: the rows of W are cut into
     * {@code parts.length} fixed ranges, each range's listed rows are summed into its own partial (one task, whole
     * rows read in ascending address order, four at a time), then {@code y = Σ_s parts[s]} in range order. The split
     * does not depend on the thread count, so neither do the bits; they differ from {@link #axpyRows} (another
     * summation order). For a transposed weight whose kept rows are short (a row of D values split between threads
     * is read in pieces of D/threads, which defeats the prefetcher), this reads each row in one piece.
     * {@code parts[s]} has at least {@code cols} floats.
     */
    public static void axpyRowsSliced(Tensor w, int[] rows, float[] coef, int count, float[][] parts, float[] y,
                                      Parallel par) {
        checkRows(w, rows, count);
        int cols = w.cols();
        int slices = parts.length;
        if (coef.length < count || y.length < cols) {
            throw new IllegalArgumentException(w.describe() + ": coef has " + coef.length + " (need " + count
                    + "), y has " + y.length + " (need " + cols + ")");
        }
        int total = w.rows();
        int[] start = new int[slices + 1];                 // rows[start[s] .. start[s+1]) lie in range s
        for (int sl = 1; sl < slices; sl++) {
            int bound = (int) ((long) total * sl / slices);
            int lo = start[sl - 1];
            int hi = count;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (rows[mid] < bound) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            start[sl] = lo;
        }
        start[slices] = count;
        MemorySegment s = w.data();
        long rb = w.rowBytes();
        boolean q8 = w.dtype() == DType.Q8_0;
        par.forRange(slices, 1, (s0, s1) -> {
            for (int sl = s0; sl < s1; sl++) {
                float[] p = parts[sl];
                Arrays.fill(p, 0, cols, 0f);
                int k = start[sl];
                int end = start[sl + 1];
                if (q8) {
                    for (; k + 4 <= end; k += 4) {
                        Q8_0Rows.axpy4(s, rows[k] * rb, rows[k + 1] * rb, rows[k + 2] * rb, rows[k + 3] * rb,
                                coef[k], coef[k + 1], coef[k + 2], coef[k + 3], p, 0, 0, cols);
                    }
                }
                for (; k < end; k++) {
                    axpy(w, rows[k], coef[k], p, 0, cols);
                }
            }
        });
        par.forRange(cols, 512, (c0, c1) -> VectorOps.sumParts(parts, slices, y, 0, c0, c1));
    }

    /**
     * Batched matvec: {@code y[b·rows + r] = W[r,:] · x[b·cols ..]} for b in [0, batch); x is batch × cols and y is
     * batch × rows, both row-major. From {@link Gemm#MATMUL_MIN_BATCH} tokens on this is {@link Gemm} ({@code Y =
     * X·W^T}, packed, cache-blocked); below, tiled: 4 weight rows are dequantized once per chunk of 32 tokens and
     * multiplied with 4 tokens at a time (16 accumulators), so each weight byte is read once per 32 tokens.
     */
    public static void matmul(Tensor w, float[] x, int batch, float[] y, Parallel par) {
        matmul(null, w, x, batch, y, par);
    }

    /**
     * {@link #matmul(Tensor, float[], int, float[], Parallel)} with the caller's {@link Gemm} engine (its packing
     * buffers are reused from call to call; a workspace keeps one); null makes a fresh one when it is needed.
     */
    public static void matmul(Gemm gemm, Tensor w, float[] x, int batch, float[] y, Parallel par) {
        checkVec(w, x, y, batch);
        int rows = w.rows();
        int cols = w.cols();
        if (batch >= Gemm.MATMUL_MIN_BATCH) {
            (gemm != null ? gemm : new Gemm()).multiply(batch, rows, cols, Gemm.Mat.of(x, 0, cols),
                    Gemm.Weight.of(w).t(), Gemm.Mat.of(y, 0, rows), false, par);
            return;
        }
        if (batch < 4) {
            par.forRange(rows, 16, (from, to) -> {
                for (int r = from; r < to; r++) {
                    for (int b = 0; b < batch; b++) {
                        y[b * rows + r] = dotRow(w, r, x, b * cols);
                    }
                }
            });
            return;
        }
        int tiles = (rows + 3) / 4;
        par.forRange(tiles, 4, (from, to) -> {
            float[] wt = new float[4 * cols];
            for (int b0 = 0; b0 < batch; b0 += 32) {
                int b1 = Math.min(batch, b0 + 32);
                for (int t = from; t < to; t++) {
                    int r0 = 4 * t;
                    int nr = Math.min(4, rows - r0);
                    for (int i = 0; i < nr; i++) {
                        getRow(w, r0 + i, wt, i * cols);
                    }
                    for (int b = b0; b < b1; b += 4) {
                        if (nr == 4 && b + 4 <= b1) {
                            tile4x4(wt, x, b * cols, cols, y, b * rows + r0, rows);
                        } else {
                            for (int bb = b; bb < Math.min(b1, b + 4); bb++) {
                                for (int i = 0; i < nr; i++) {
                                    y[bb * rows + r0 + i] = dot1(wt, i * cols, x, bb * cols, cols);
                                }
                            }
                        }
                    }
                }
            }
        });
    }

    /** {@code W[row,:] · x[xOff .. xOff+cols)}. */
    public static float dotRow(Tensor w, int row, float[] x, int xOff) {
        MemorySegment s = w.data();
        long base = row * w.rowBytes();
        int n = w.cols();
        return switch (w.dtype()) {
            case F32 -> F32Rows.dot(s, base, x, xOff, n);
            case F16 -> F16Rows.dot(s, base, x, xOff, n);
            case BF16 -> Bf16Rows.dot(s, base, x, xOff, n);
            case Q8_0 -> Q8_0Rows.dot(s, base, x, xOff, n);
            case Q4_0 -> Q4_0Rows.dot(s, base, x, xOff, n);
        };
    }

    /** {@code Σ_i w[i]·x[xo+i]} for the n weights of dtype t stored at {@code base} in s (a row inside a record). */
    static float dot(DType t, MemorySegment s, long base, float[] x, int xo, int n) {
        return switch (t) {
            case F32 -> F32Rows.dot(s, base, x, xo, n);
            case F16 -> F16Rows.dot(s, base, x, xo, n);
            case BF16 -> Bf16Rows.dot(s, base, x, xo, n);
            case Q8_0 -> Q8_0Rows.dot(s, base, x, xo, n);
            case Q4_0 -> Q4_0Rows.dot(s, base, x, xo, n);
        };
    }

    /** {@code y[yo+c] = fma(a, w[c], y[yo+c])} for c in [c0, c1) over weights of dtype t at {@code base} in s. */
    static void axpy(DType t, MemorySegment s, long base, float a, float[] y, int yo, int c0, int c1) {
        switch (t) {
            case F32 -> F32Rows.axpy(s, base, a, y, yo, c0, c1);
            case F16 -> F16Rows.axpy(s, base, a, y, yo, c0, c1);
            case BF16 -> Bf16Rows.axpy(s, base, a, y, yo, c0, c1);
            case Q8_0 -> Q8_0Rows.axpy(s, base, a, y, yo, c0, c1);
            case Q4_0 -> Q4_0Rows.axpy(s, base, a, y, yo, c0, c1);
        }
    }

    /** Dequantizes row {@code row} of W into {@code dst[dstOff .. dstOff+cols)} (embedding lookup). */
    public static void getRow(Tensor w, int row, float[] dst, int dstOff) {
        getRowRange(w, row, 0, w.cols(), dst, dstOff);
    }

    /**
     * Dequantizes {@code W[row, from .. from+n)} into {@code dst[dstOff ..)}, the same values as {@link #getRow}
     * gives there; {@code from} and {@code n} are multiples of the dtype's block size (or {@code from + n} is the
     * row's end).
     */
    public static void getRowRange(Tensor w, int row, int from, int n, float[] dst, int dstOff) {
        int bs = w.dtype().blockSize();
        if (from < 0 || n < 0 || from + n > w.cols() || from % bs != 0 || (n % bs != 0 && from + n != w.cols())) {
            throw new IndexOutOfBoundsException(w.describe() + ": columns [" + from + ", " + (from + n)
                    + ") are not whole blocks of the row");
        }
        if (dst.length < (long) dstOff + n || dstOff < 0) {
            throw new IndexOutOfBoundsException(w.describe() + ": range needs dst[" + dstOff + ".." + (dstOff + n)
                    + ")");
        }
        MemorySegment s = w.data();
        long base = row * w.rowBytes() + w.dtype().bytesFor(from);
        switch (w.dtype()) {
            case F32 -> F32Rows.get(s, base, dst, dstOff, n);
            case F16 -> F16Rows.get(s, base, dst, dstOff, n);
            case BF16 -> Bf16Rows.get(s, base, dst, dstOff, n);
            case Q8_0 -> Q8_0Rows.get(s, base, dst, dstOff, n);
            case Q4_0 -> Q4_0Rows.get(s, base, dst, dstOff, n);
        }
    }

    /**
     * {@code y += a · W[row,:]} — accumulates one column of a down projection stored transposed (sparse FFN). One
     * fused multiply-add per element; allocates nothing.
     */
    public static void axpyRow(Tensor w, int row, float a, float[] y) {
        if (y.length < w.cols()) {
            throw new IllegalArgumentException(w.describe() + ": y has " + y.length + " floats, need " + w.cols());
        }
        axpy(w, row, a, y, 0, w.cols());
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

    /**
     * ‖W[:, j]‖₂ for every column j (length cols), accumulated in double over the rows in order: for a down
     * projection [D, F] the norms ‖d_i‖₂ of its neurons' output directions (CETT's m_i = |h_i|·‖d_i‖₂).
     */
    public static float[] columnNorms(Tensor w) {
        int rows = w.rows();
        int cols = w.cols();
        double[] ss = new double[cols];
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            getRow(w, r, row, 0);
            for (int i = 0; i < cols; i++) {
                ss[i] += (double) row[i] * row[i];
            }
        }
        float[] out = new float[cols];
        for (int i = 0; i < cols; i++) {
            out[i] = (float) Math.sqrt(ss[i]);
        }
        return out;
    }

    /**
     * W converted to dtype {@code out} (same shape) in {@code arena}: each row dequantized ({@link #getRow}) and
     * quantized again with {@link Quant} (ggml's reference quantizers; quantized outputs need {@code cols} to be a
     * multiple of 32). Deterministic: the same input gives the same bytes. {@code w} itself when it is already
     * {@code out}.
     */
    public static Tensor convert(Tensor w, DType out, Arena arena) {
        if (w.dtype() == out) {
            return w;
        }
        int rows = w.rows();
        int cols = w.cols();
        if (out.quantized() && cols % out.blockSize() != 0) {
            throw new IllegalArgumentException(w.describe() + ": cannot convert to " + out + ", a row of " + cols
                    + " is not a multiple of " + out.blockSize());
        }
        long outRowBytes = out.bytesFor(cols);
        MemorySegment dst = arena.allocate(Math.multiplyExact(outRowBytes, (long) rows), 64);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            getRow(w, r, row, 0);
            Quant.quantize(out, row, 0, cols, dst, r * outRowBytes);
        }
        return new Tensor(w.name(), out, w.shape().clone(), dst);
    }

    /**
     * W^T as a new 2-D tensor {@code [cols, rows]} of dtype {@code out} in {@code arena} (e.g. W_down [D, F] →
     * [F, D] for {@link #axpyRows}). Quantized outputs use {@link Quant} (ggml's reference quantizers) and need
     * {@code rows} to be a multiple of 32. Reads each input row once; heap use is 32 × cols floats.
     */
    public static Tensor transpose(Tensor w, DType out, Arena arena) {
        int rows = w.rows();
        int cols = w.cols();
        if (out.quantized() && rows % out.blockSize() != 0) {
            throw new IllegalArgumentException(w.describe() + ": cannot transpose to " + out + ", " + rows
                    + " rows is not a multiple of " + out.blockSize());
        }
        long outRowBytes = out.bytesFor(rows);
        MemorySegment dst = arena.allocate(Math.multiplyExact(outRowBytes, (long) cols), 64);
        float[] buf = new float[32 * cols];
        float[] col = new float[32];
        for (int r0 = 0; r0 < rows; r0 += 32) { // 32 input rows = one block of every output row
            int nr = Math.min(32, rows - r0);
            for (int j = 0; j < nr; j++) {
                getRow(w, r0 + j, buf, j * cols);
            }
            long at = out.bytesFor(r0);
            for (int c = 0; c < cols; c++) {
                for (int j = 0; j < nr; j++) {
                    col[j] = buf[j * cols + c];
                }
                Quant.quantize(out, col, 0, nr, dst, c * outRowBytes + at);
            }
        }
        return new Tensor(w.name() + ".T", out, new int[] {cols, rows}, dst);
    }

    // y[i] = fma(a, W[row, i], y[i]) for i in [c0, c1); c0 block-aligned for quantized types
    private static void axpy(Tensor w, int row, float a, float[] y, int c0, int c1) {
        MemorySegment s = w.data();
        long base = row * w.rowBytes();
        switch (w.dtype()) {
            case F32 -> F32Rows.axpy(s, base, a, y, 0, c0, c1);
            case F16 -> F16Rows.axpy(s, base, a, y, 0, c0, c1);
            case BF16 -> Bf16Rows.axpy(s, base, a, y, 0, c0, c1);
            case Q8_0 -> Q8_0Rows.axpy(s, base, a, y, 0, c0, c1);
            case Q4_0 -> Q4_0Rows.axpy(s, base, a, y, 0, c0, c1);
        }
    }

    // Σ a[i]·b[i] with one accumulator (matmul edge tiles: same order as tile4x4)
    private static float dot1(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector acc = FloatVector.zero(FS);
        int i = 0;
        for (int up = FS.loopBound(n); i < up; i += L) {
            acc = FloatVector.fromArray(FS, a, ao + i).fma(FloatVector.fromArray(FS, b, bo + i), acc);
        }
        float sum = hsum(acc);
        for (; i < n; i++) {
            sum = Math.fma(a[ao + i], b[bo + i], sum);
        }
        return sum;
    }

    // 4 weight rows (wt, dequantized) × 4 tokens (x from xo): y[yo + b·rows + i] = wt[i,:] · x[b,:]
    private static void tile4x4(float[] wt, float[] x, int xo, int n, float[] y, int yo, int rows) {
        FloatVector c00 = FloatVector.zero(FS), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        int i = 0;
        for (int up = FS.loopBound(n); i < up; i += L) {
            FloatVector w0 = FloatVector.fromArray(FS, wt, i);
            FloatVector w1 = FloatVector.fromArray(FS, wt, n + i);
            FloatVector w2 = FloatVector.fromArray(FS, wt, 2 * n + i);
            FloatVector w3 = FloatVector.fromArray(FS, wt, 3 * n + i);
            FloatVector x0 = FloatVector.fromArray(FS, x, xo + i);
            c00 = w0.fma(x0, c00);
            c10 = w1.fma(x0, c10);
            c20 = w2.fma(x0, c20);
            c30 = w3.fma(x0, c30);
            FloatVector x1 = FloatVector.fromArray(FS, x, xo + n + i);
            c01 = w0.fma(x1, c01);
            c11 = w1.fma(x1, c11);
            c21 = w2.fma(x1, c21);
            c31 = w3.fma(x1, c31);
            FloatVector x2 = FloatVector.fromArray(FS, x, xo + 2 * n + i);
            c02 = w0.fma(x2, c02);
            c12 = w1.fma(x2, c12);
            c22 = w2.fma(x2, c22);
            c32 = w3.fma(x2, c32);
            FloatVector x3 = FloatVector.fromArray(FS, x, xo + 3 * n + i);
            c03 = w0.fma(x3, c03);
            c13 = w1.fma(x3, c13);
            c23 = w2.fma(x3, c23);
            c33 = w3.fma(x3, c33);
        }
        y[yo + 0 * rows + 0] = finish(c00, wt, 0 * n, x, xo + 0 * n, i, n);
        y[yo + 1 * rows + 0] = finish(c01, wt, 0 * n, x, xo + 1 * n, i, n);
        y[yo + 2 * rows + 0] = finish(c02, wt, 0 * n, x, xo + 2 * n, i, n);
        y[yo + 3 * rows + 0] = finish(c03, wt, 0 * n, x, xo + 3 * n, i, n);
        y[yo + 0 * rows + 1] = finish(c10, wt, 1 * n, x, xo + 0 * n, i, n);
        y[yo + 1 * rows + 1] = finish(c11, wt, 1 * n, x, xo + 1 * n, i, n);
        y[yo + 2 * rows + 1] = finish(c12, wt, 1 * n, x, xo + 2 * n, i, n);
        y[yo + 3 * rows + 1] = finish(c13, wt, 1 * n, x, xo + 3 * n, i, n);
        y[yo + 0 * rows + 2] = finish(c20, wt, 2 * n, x, xo + 0 * n, i, n);
        y[yo + 1 * rows + 2] = finish(c21, wt, 2 * n, x, xo + 1 * n, i, n);
        y[yo + 2 * rows + 2] = finish(c22, wt, 2 * n, x, xo + 2 * n, i, n);
        y[yo + 3 * rows + 2] = finish(c23, wt, 2 * n, x, xo + 3 * n, i, n);
        y[yo + 0 * rows + 3] = finish(c30, wt, 3 * n, x, xo + 0 * n, i, n);
        y[yo + 1 * rows + 3] = finish(c31, wt, 3 * n, x, xo + 1 * n, i, n);
        y[yo + 2 * rows + 3] = finish(c32, wt, 3 * n, x, xo + 2 * n, i, n);
        y[yo + 3 * rows + 3] = finish(c33, wt, 3 * n, x, xo + 3 * n, i, n);
    }

    // reduce one accumulator and add the scalar tail [i, n) of wt·x
    private static float finish(FloatVector c, float[] wt, int wo, float[] x, int xo, int i, int n) {
        float sum = hsum(c);
        for (int k = i; k < n; k++) {
            sum = Math.fma(wt[wo + k], x[xo + k], sum);
        }
        return sum;
    }

    private static void checkRows(Tensor w, int[] rows, int count) {
        if (count < 0 || count > rows.length) {
            throw new IllegalArgumentException(w.describe() + ": count " + count + " outside rows[" + rows.length + "]");
        }
        int n = w.rows();
        for (int k = 0; k < count; k++) {
            if (rows[k] < 0 || rows[k] >= n) {
                throw new IndexOutOfBoundsException(w.describe() + ": rows[" + k + "] = " + rows[k]);
            }
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
