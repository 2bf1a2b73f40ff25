package dev.sparsa.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The kernels every model, profiler and trainer is built from. Weight-side kernels take a {@link Tensor} of any
 * {@link DType}; activations are {@code float[]}. Row-parallel kernels split over output rows only (column-split
 * {@link #axpyRows} over output columns only), so results do not depend on the thread count.
 *
 * <p>Vector API implementations (one float species {@code FS}, chosen once); each is tested
 * against {@link ScalarKernels}. Results equal the scalar reference within float rounding (summation order
 * differs), except {@link #getRow}, {@link #axpyRow} and {@link #axpyRows}, which are bit-identical to it.
 * {@link #matmul} and {@link #matvec} agree within rounding, not bitwise.
 */
public final class Kernels {
    private Kernels() {
    }

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /**
     * The float species, chosen once: the CPU's preferred one when it holds 8 or 16 floats (AVX2, AVX-512);
     * 256-bit otherwise (on 128-bit NEON/SSE the Vector API then emulates it: correct, not fast), capped at 512.
     */
    static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED.length() < 8 ? FloatVector.SPECIES_256
            : FloatVector.SPECIES_PREFERRED.length() > 16 ? FloatVector.SPECIES_512 : FloatVector.SPECIES_PREFERRED;
    static final int L = FS.length();
    private static final VectorSpecies<Integer> IS = VectorSpecies.of(int.class, FS.vectorShape());
    private static final VectorSpecies<Short> SS = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));
    private static final FloatVector ONE = FloatVector.broadcast(FS, 1f);
    private static final VectorSpecies<Byte> BS = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));

    // ---------------------------------------------------------------- weight-side kernels

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
                    y[r] = dotF32(s, r * rb, x, 0, n);
                }
            }
            case F16 -> {
                for (int r = from; r < to; r++) {
                    y[r] = dotF16(s, r * rb, x, 0, n);
                }
            }
            case BF16 -> {
                for (int r = from; r < to; r++) {
                    y[r] = dotBF16(s, r * rb, x, 0, n);
                }
            }
            case Q8_0 -> {
                for (int r = from; r < to; r++) {
                    y[r] = dotQ8_0(s, r * rb, x, 0, n);
                }
            }
            case Q4_0 -> {
                for (int r = from; r < to; r++) {
                    y[r] = dotQ4_0(s, r * rb, x, 0, n);
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
                    y[rows[k]] = dotF32(s, rows[k] * rb, x, 0, n);
                }
            }
            case F16 -> {
                for (int k = from; k < to; k++) {
                    y[rows[k]] = dotF16(s, rows[k] * rb, x, 0, n);
                }
            }
            case BF16 -> {
                for (int k = from; k < to; k++) {
                    y[rows[k]] = dotBF16(s, rows[k] * rb, x, 0, n);
                }
            }
            case Q8_0 -> {
                for (int k = from; k < to; k++) {
                    y[rows[k]] = dotQ8_0(s, rows[k] * rb, x, 0, n);
                }
            }
            case Q4_0 -> {
                for (int k = from; k < to; k++) {
                    y[rows[k]] = dotQ4_0(s, rows[k] * rb, x, 0, n);
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
                    axpy4Q8_0(s, rows[k] * rb, rows[k + 1] * rb, rows[k + 2] * rb, rows[k + 3] * rb,
                            coef[k], coef[k + 1], coef[k + 2], coef[k + 3], y, c0, c1);
                }
            }
            for (; k < count; k++) {
                axpy(w, rows[k], coef[k], y, c0, c1);
            }
        });
    }

    /**
     * Batched matvec: {@code y[b·rows + r] = W[r,:] · x[b·cols ..]} for b in [0, batch); x is batch × cols and y is
     * batch × rows, both row-major. From {@link Gemm#MATMUL_MIN_BATCH} tokens on this is {@link Gemm} ({@code Y =
     * X·W^T}, packed, cache-blocked); below, tiled: 4 weight rows are dequantized once per chunk of 32 tokens and
     * multiplied with 4 tokens at a time (16 accumulators), so each weight byte is read once per 32 tokens.
     */
    public static void matmul(Tensor w, float[] x, int batch, float[] y, Parallel par) {
        checkVec(w, x, y, batch);
        int rows = w.rows();
        int cols = w.cols();
        if (batch >= Gemm.MATMUL_MIN_BATCH) {
            new Gemm().multiply(batch, rows, cols, Gemm.Mat.of(x, 0, cols), Gemm.Weight.of(w).t(),
                    Gemm.Mat.of(y, 0, rows), false, par);
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
            case F32 -> dotF32(s, base, x, xOff, n);
            case F16 -> dotF16(s, base, x, xOff, n);
            case BF16 -> dotBF16(s, base, x, xOff, n);
            case Q8_0 -> dotQ8_0(s, base, x, xOff, n);
            case Q4_0 -> dotQ4_0(s, base, x, xOff, n);
        };
    }

    /** Dequantizes row {@code row} of W into {@code dst[dstOff .. dstOff+cols)} (embedding lookup). */
    public static void getRow(Tensor w, int row, float[] dst, int dstOff) {
        int n = w.cols();
        if (dst.length < (long) dstOff + n || dstOff < 0) {
            throw new IndexOutOfBoundsException(w.describe() + ": row needs dst[" + dstOff + ".." + (dstOff + n) + ")");
        }
        MemorySegment s = w.data();
        long base = row * w.rowBytes();
        switch (w.dtype()) {
            case F32 -> MemorySegment.copy(s, F32, base, dst, dstOff, n);
            case F16 -> {
                int i = 0;
                for (int up = SS.loopBound(n); i < up; i += L) {
                    f16(ShortVector.fromMemorySegment(SS, s, base + 2L * i, LE)).intoArray(dst, dstOff + i);
                }
                for (; i < n; i++) {
                    dst[dstOff + i] = Float.float16ToFloat(s.get(I16, base + 2L * i));
                }
            }
            case BF16 -> {
                int i = 0;
                for (int up = SS.loopBound(n); i < up; i += L) {
                    bf16(ShortVector.fromMemorySegment(SS, s, base + 2L * i, LE)).intoArray(dst, dstOff + i);
                }
                for (; i < n; i++) {
                    dst[dstOff + i] = Half.bf16ToFloat(s.get(I16, base + 2L * i));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    long blk = base + 34L * b;
                    float d = Float.float16ToFloat(s.get(I16, blk));
                    for (int j = 0; j < 32; j += L) {
                        q8(s, blk + 2 + j).mul(d).intoArray(dst, dstOff + 32 * b + j);
                    }
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    long blk = base + 18L * b;
                    float d = Float.float16ToFloat(s.get(I16, blk));
                    for (int j = 0; j < 16; j += L) {
                        ByteVector q = ByteVector.fromMemorySegment(BS, s, blk + 2 + j, LE);
                        lo4(q).mul(d).intoArray(dst, dstOff + 32 * b + j);
                        hi4(q).mul(d).intoArray(dst, dstOff + 32 * b + j + 16);
                    }
                }
            }
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

    // ---------------------------------------------------------------- per-dtype loops

    // Σ w[i]·x[i], w f32
    static float dotF32(MemorySegment s, long base, float[] x, int xo, int n) {
        FloatVector a0 = FloatVector.zero(FS), a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (int up = n - 4 * L + 1; i < up; i += 4 * L) {
            a0 = FloatVector.fromMemorySegment(FS, s, base + 4L * i, LE).fma(FloatVector.fromArray(FS, x, xo + i), a0);
            a1 = FloatVector.fromMemorySegment(FS, s, base + 4L * (i + L), LE).fma(FloatVector.fromArray(FS, x, xo + i + L), a1);
            a2 = FloatVector.fromMemorySegment(FS, s, base + 4L * (i + 2 * L), LE).fma(FloatVector.fromArray(FS, x, xo + i + 2 * L), a2);
            a3 = FloatVector.fromMemorySegment(FS, s, base + 4L * (i + 3 * L), LE).fma(FloatVector.fromArray(FS, x, xo + i + 3 * L), a3);
        }
        for (int up = FS.loopBound(n); i < up; i += L) {
            a0 = FloatVector.fromMemorySegment(FS, s, base + 4L * i, LE).fma(FloatVector.fromArray(FS, x, xo + i), a0);
        }
        float sum = hsum(a0.add(a1).add(a2.add(a3)));
        for (; i < n; i++) {
            sum = Math.fma(s.get(F32, base + 4L * i), x[xo + i], sum);
        }
        return sum;
    }

    // Σ f16→f32(w[i])·x[i]
    static float dotF16(MemorySegment s, long base, float[] x, int xo, int n) {
        FloatVector a0 = FloatVector.zero(FS), a1 = a0;
        int i = 0;
        for (int up = n - 2 * L + 1; i < up; i += 2 * L) {
            a0 = f16(ShortVector.fromMemorySegment(SS, s, base + 2L * i, LE)).fma(FloatVector.fromArray(FS, x, xo + i), a0);
            a1 = f16(ShortVector.fromMemorySegment(SS, s, base + 2L * (i + L), LE)).fma(FloatVector.fromArray(FS, x, xo + i + L), a1);
        }
        for (int up = SS.loopBound(n); i < up; i += L) {
            a0 = f16(ShortVector.fromMemorySegment(SS, s, base + 2L * i, LE)).fma(FloatVector.fromArray(FS, x, xo + i), a0);
        }
        float sum = hsum(a0.add(a1));
        for (; i < n; i++) {
            sum = Math.fma(Float.float16ToFloat(s.get(I16, base + 2L * i)), x[xo + i], sum);
        }
        return sum;
    }

    // Σ bf16→f32(w[i])·x[i]
    static float dotBF16(MemorySegment s, long base, float[] x, int xo, int n) {
        FloatVector a0 = FloatVector.zero(FS), a1 = a0;
        int i = 0;
        for (int up = n - 2 * L + 1; i < up; i += 2 * L) {
            a0 = bf16(ShortVector.fromMemorySegment(SS, s, base + 2L * i, LE)).fma(FloatVector.fromArray(FS, x, xo + i), a0);
            a1 = bf16(ShortVector.fromMemorySegment(SS, s, base + 2L * (i + L), LE)).fma(FloatVector.fromArray(FS, x, xo + i + L), a1);
        }
        for (int up = SS.loopBound(n); i < up; i += L) {
            a0 = bf16(ShortVector.fromMemorySegment(SS, s, base + 2L * i, LE)).fma(FloatVector.fromArray(FS, x, xo + i), a0);
        }
        float sum = hsum(a0.add(a1));
        for (; i < n; i++) {
            sum = Math.fma(Half.bf16ToFloat(s.get(I16, base + 2L * i)), x[xo + i], sum);
        }
        return sum;
    }

    // Σ_blocks d · Σ_j q[j]·x[j]   (block = fp16 d + 32 int8 q)
    static float dotQ8_0(MemorySegment s, long base, float[] x, int xo, int n) {
        FloatVector acc = FloatVector.zero(FS);
        for (int b = 0; b < n / 32; b++) {
            long blk = base + 34L * b;
            int xb = xo + 32 * b;
            FloatVector blockSum = q8(s, blk + 2).mul(FloatVector.fromArray(FS, x, xb));
            for (int j = L; j < 32; j += L) {
                blockSum = q8(s, blk + 2 + j).fma(FloatVector.fromArray(FS, x, xb + j), blockSum);
            }
            acc = blockSum.fma(scale(s, blk), acc);
        }
        return hsum(acc);
    }

    // Σ_blocks d · Σ_j (nibble[j]−8)·x[j]   (block = fp16 d + 16 bytes: low nibbles = j, high nibbles = j+16)
    static float dotQ4_0(MemorySegment s, long base, float[] x, int xo, int n) {
        FloatVector acc = FloatVector.zero(FS);
        for (int b = 0; b < n / 32; b++) {
            long blk = base + 18L * b;
            acc = blockQ4_0(s, blk, x, xo + 32 * b).fma(scale(s, blk), acc);
        }
        return hsum(acc);
    }

    // Σ_j (nibble[j]−8)·x[j] over one Q4_0 block, per lane (nibbles unpacked in int lanes: x86 has no byte shift)
    private static FloatVector blockQ4_0(MemorySegment s, long blk, float[] x, int xb) {
        FloatVector sum = FloatVector.zero(FS);
        for (int j = 0; j < 16; j += L) {
            IntVector q = (IntVector) ByteVector.fromMemorySegment(BS, s, blk + 2 + j, LE)
                    .convertShape(VectorOperators.B2I, IS, 0);
            FloatVector lo = (FloatVector) q.and(0x0f).sub(8).convert(VectorOperators.I2F, 0);
            FloatVector hi = (FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(0x0f).sub(8)
                    .convert(VectorOperators.I2F, 0);
            sum = lo.fma(FloatVector.fromArray(FS, x, xb + j), sum);
            sum = hi.fma(FloatVector.fromArray(FS, x, xb + j + 16), sum);
        }
        return sum;
    }

    // a block's fp16 scale, broadcast
    private static FloatVector scale(MemorySegment s, long blk) {
        return FloatVector.broadcast(FS, Float.float16ToFloat(s.get(I16, blk)));
    }

    // y[i] = fma(a, W[row, i], y[i]) for i in [c0, c1); c0 block-aligned for quantized types
    private static void axpy(Tensor w, int row, float a, float[] y, int c0, int c1) {
        MemorySegment s = w.data();
        long base = row * w.rowBytes();
        switch (w.dtype()) {
            case F32 -> axpyF32(s, base, a, y, c0, c1);
            case F16 -> axpyF16(s, base, a, y, c0, c1);
            case BF16 -> axpyBF16(s, base, a, y, c0, c1);
            case Q8_0 -> axpyQ8_0(s, base, a, y, c0, c1);
            case Q4_0 -> axpyQ4_0(s, base, a, y, c0, c1);
        }
    }

    // y[i] += a·w[i], w f32
    private static void axpyF32(MemorySegment s, long base, float a, float[] y, int c0, int c1) {
        FloatVector av = FloatVector.broadcast(FS, a);
        int i = c0;
        for (int up = c0 + FS.loopBound(c1 - c0); i < up; i += L) {
            FloatVector.fromMemorySegment(FS, s, base + 4L * i, LE).fma(av, FloatVector.fromArray(FS, y, i)).intoArray(y, i);
        }
        for (; i < c1; i++) {
            y[i] = Math.fma(a, s.get(F32, base + 4L * i), y[i]);
        }
    }

    // y[i] += a·f16→f32(w[i])
    private static void axpyF16(MemorySegment s, long base, float a, float[] y, int c0, int c1) {
        FloatVector av = FloatVector.broadcast(FS, a);
        int i = c0;
        for (int up = c0 + FS.loopBound(c1 - c0); i < up; i += L) {
            f16(ShortVector.fromMemorySegment(SS, s, base + 2L * i, LE)).fma(av, FloatVector.fromArray(FS, y, i)).intoArray(y, i);
        }
        for (; i < c1; i++) {
            y[i] = Math.fma(a, Float.float16ToFloat(s.get(I16, base + 2L * i)), y[i]);
        }
    }

    // y[i] += a·bf16→f32(w[i])
    private static void axpyBF16(MemorySegment s, long base, float a, float[] y, int c0, int c1) {
        FloatVector av = FloatVector.broadcast(FS, a);
        int i = c0;
        for (int up = c0 + FS.loopBound(c1 - c0); i < up; i += L) {
            bf16(ShortVector.fromMemorySegment(SS, s, base + 2L * i, LE)).fma(av, FloatVector.fromArray(FS, y, i)).intoArray(y, i);
        }
        for (; i < c1; i++) {
            y[i] = Math.fma(a, Half.bf16ToFloat(s.get(I16, base + 2L * i)), y[i]);
        }
    }

    // y[i] += a0·w0[i], then += a1·w1[i], += a2·w2[i], += a3·w3[i] (four Q8_0 rows, y kept in a register between
    // the four FMAs): the same FMAs in the same order as four axpyQ8_0 calls, so bit-identical, with a quarter of
    // the loads and stores of y
    private static void axpy4Q8_0(MemorySegment s, long r0, long r1, long r2, long r3,
                                  float a0, float a1, float a2, float a3, float[] y, int c0, int c1) {
        FloatVector v0 = FloatVector.broadcast(FS, a0);
        FloatVector v1 = FloatVector.broadcast(FS, a1);
        FloatVector v2 = FloatVector.broadcast(FS, a2);
        FloatVector v3 = FloatVector.broadcast(FS, a3);
        for (int b = c0 / 32; b < c1 / 32; b++) {
            long o0 = r0 + 34L * b;
            long o1 = r1 + 34L * b;
            long o2 = r2 + 34L * b;
            long o3 = r3 + 34L * b;
            float d0 = Float.float16ToFloat(s.get(I16, o0));
            float d1 = Float.float16ToFloat(s.get(I16, o1));
            float d2 = Float.float16ToFloat(s.get(I16, o2));
            float d3 = Float.float16ToFloat(s.get(I16, o3));
            for (int j = 0; j < 32; j += L) {
                int o = 32 * b + j;
                FloatVector acc = FloatVector.fromArray(FS, y, o);
                acc = q8(s, o0 + 2 + j).mul(d0).fma(v0, acc);
                acc = q8(s, o1 + 2 + j).mul(d1).fma(v1, acc);
                acc = q8(s, o2 + 2 + j).mul(d2).fma(v2, acc);
                acc = q8(s, o3 + 2 + j).mul(d3).fma(v3, acc);
                acc.intoArray(y, o);
            }
        }
    }

    // y[i] += a·(d·q[i]) per Q8_0 block
    private static void axpyQ8_0(MemorySegment s, long base, float a, float[] y, int c0, int c1) {
        FloatVector av = FloatVector.broadcast(FS, a);
        for (int b = c0 / 32; b < c1 / 32; b++) {
            long blk = base + 34L * b;
            float d = Float.float16ToFloat(s.get(I16, blk));
            for (int j = 0; j < 32; j += L) {
                int o = 32 * b + j;
                q8(s, blk + 2 + j).mul(d).fma(av, FloatVector.fromArray(FS, y, o)).intoArray(y, o);
            }
        }
    }

    // y[i] += a·(d·(nibble[i]−8)) per Q4_0 block
    private static void axpyQ4_0(MemorySegment s, long base, float a, float[] y, int c0, int c1) {
        FloatVector av = FloatVector.broadcast(FS, a);
        for (int b = c0 / 32; b < c1 / 32; b++) {
            long blk = base + 18L * b;
            float d = Float.float16ToFloat(s.get(I16, blk));
            for (int j = 0; j < 16; j += L) {
                int o = 32 * b + j;
                ByteVector q = ByteVector.fromMemorySegment(BS, s, blk + 2 + j, LE);
                lo4(q).mul(d).fma(av, FloatVector.fromArray(FS, y, o)).intoArray(y, o);
                hi4(q).mul(d).fma(av, FloatVector.fromArray(FS, y, o + 16)).intoArray(y, o + 16);
            }
        }
    }

    // L int8 at off → L floats
    private static FloatVector q8(MemorySegment s, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(BS, s, off, LE).convertShape(VectorOperators.B2F, FS, 0);
    }

    // low nibbles − 8 → floats
    private static FloatVector lo4(ByteVector q) {
        IntVector i = (IntVector) q.convertShape(VectorOperators.B2I, IS, 0);
        return (FloatVector) i.and(0x0f).sub(8).convert(VectorOperators.I2F, 0);
    }

    // high nibbles − 8 → floats (in int lanes: x86 has no byte shift)
    private static FloatVector hi4(ByteVector q) {
        IntVector i = (IntVector) q.convertShape(VectorOperators.B2I, IS, 0);
        return (FloatVector) i.lanewise(VectorOperators.ASHR, 4).and(0x0f).sub(8).convert(VectorOperators.I2F, 0);
    }

    // bfloat16 bits → float: widen to int lanes, shift into the upper half
    private static FloatVector bf16(ShortVector h) {
        return ((IntVector) h.convertShape(VectorOperators.S2I, IS, 0)).lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    // binary16 bits → float, exact (subnormals, ±inf, NaN): move exponent+mantissa into place, rescale by 2^112
    private static FloatVector f16(ShortVector h16) {
        IntVector h = (IntVector) h16.convertShape(VectorOperators.S2I, IS, 0); // sign-extended
        IntVector em = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
        em = em.lanewise(VectorOperators.OR, 0x7f800000, h.and(0x7c00).eq(0x7c00)); // inf / NaN keep max exponent
        return em.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts().or(h.and(0x80000000)).reinterpretAsFloats();
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

    private static final VectorShuffle<Float> XOR8 = VectorShuffle.fromOp(FS, i -> (i ^ 8) & (L - 1));
    private static final VectorShuffle<Float> XOR4 = VectorShuffle.fromOp(FS, i -> i ^ 4);
    private static final VectorShuffle<Float> XOR2 = VectorShuffle.fromOp(FS, i -> i ^ 2);
    private static final VectorShuffle<Float> XOR1 = VectorShuffle.fromOp(FS, i -> i ^ 1);

    // Σ lanes as a fixed butterfly (reduceLanes(ADD) may reassociate, and differs between interpreter and JIT)
    static float hsum(FloatVector v) {
        if (L == 16) {
            v = v.add(v.rearrange(XOR8));
        }
        v = v.add(v.rearrange(XOR4));
        v = v.add(v.rearrange(XOR2));
        return v.add(v.rearrange(XOR1)).lane(0);
    }

    private static final FloatVector LOG2E = FloatVector.broadcast(FS, 1.44269504088896341f);
    private static final float ROUND = 12582912f; // 1.5·2^23: adding it rounds to an integer
    private static final FloatVector EXP_P1 = FloatVector.broadcast(FS, 1.3981999507E-3f);
    private static final FloatVector EXP_P2 = FloatVector.broadcast(FS, 8.3334519073E-3f);
    private static final FloatVector EXP_P3 = FloatVector.broadcast(FS, 4.1665795894E-2f);
    private static final FloatVector EXP_P4 = FloatVector.broadcast(FS, 1.6666665459E-1f);
    private static final FloatVector EXP_P5 = FloatVector.broadcast(FS, 5.0000001201E-1f);

    /**
     * e^x per lane (Cephes expf: x = n·ln2 + r, degree-6 polynomial in r, times 2^n; ≤ 2 ulp), x clamped to
     * [−87, 88]. Built from plain lanewise arithmetic so it gives the same bits in the interpreter and in JIT code
     * (VectorOperators.EXP does not).
     */
    static FloatVector exp(FloatVector x) {
        x = x.max(-87f).min(88f);
        FloatVector t = x.fma(LOG2E, FloatVector.broadcast(FS, ROUND));
        FloatVector n = t.sub(ROUND);
        IntVector pow2 = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND) - 127).lanewise(VectorOperators.LSHL, 23);
        FloatVector r = x.sub(n.mul(0.693359375f)).add(n.mul(2.12194440e-4f)); // ln2 in two parts
        FloatVector p = r.mul(1.9875691500E-4f).add(EXP_P1).fma(r, EXP_P2).fma(r, EXP_P3).fma(r, EXP_P4).fma(r, EXP_P5);
        return p.fma(r.mul(r), r).add(1f).mul(pow2.reinterpretAsFloats());
    }

    // ---------------------------------------------------------------- activation-side kernels

    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector a0 = FloatVector.zero(FS), a1 = a0;
        int i = 0;
        for (int up = n - 2 * L + 1; i < up; i += 2 * L) {
            a0 = FloatVector.fromArray(FS, a, aOff + i).fma(FloatVector.fromArray(FS, b, bOff + i), a0);
            a1 = FloatVector.fromArray(FS, a, aOff + i + L).fma(FloatVector.fromArray(FS, b, bOff + i + L), a1);
        }
        for (int up = FS.loopBound(n); i < up; i += L) {
            a0 = FloatVector.fromArray(FS, a, aOff + i).fma(FloatVector.fromArray(FS, b, bOff + i), a0);
        }
        float sum = hsum(a0.add(a1));
        for (; i < n; i++) {
            sum = Math.fma(a[aOff + i], b[bOff + i], sum);
        }
        return sum;
    }

    /** RMSNorm: {@code out = x / sqrt(mean(x²) + eps) ⊙ weight}. */
    public static void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        float ss = dot(x, xOff, x, xOff, n);
        float inv = (float) (1.0 / Math.sqrt((double) ss / n + eps));
        int i = 0;
        for (int up = FS.loopBound(n); i < up; i += L) {
            FloatVector.fromArray(FS, x, xOff + i).mul(inv).mul(FloatVector.fromArray(FS, weight, i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = x[xOff + i] * inv * weight[i];
        }
    }

    /** LayerNorm: {@code out = (x − mean) / sqrt(var + eps) ⊙ gamma + beta} (biased variance). */
    public static void layernorm(float[] out, int outOff, float[] x, int xOff, float[] gamma, float[] beta, int n,
                                 float eps) {
        float mean = sum(x, xOff, n) / n;
        FloatVector m = FloatVector.broadcast(FS, mean);
        FloatVector acc = FloatVector.zero(FS);
        int i = 0;
        for (int up = FS.loopBound(n); i < up; i += L) {
            FloatVector d = FloatVector.fromArray(FS, x, xOff + i).sub(m);
            acc = d.fma(d, acc);
        }
        float var = hsum(acc);
        for (; i < n; i++) {
            float d = x[xOff + i] - mean;
            var = Math.fma(d, d, var);
        }
        float inv = (float) (1.0 / Math.sqrt((double) var / n + eps));
        i = 0;
        for (int up = FS.loopBound(n); i < up; i += L) {
            FloatVector.fromArray(FS, x, xOff + i).sub(m).mul(inv).fma(FloatVector.fromArray(FS, gamma, i),
                    FloatVector.fromArray(FS, beta, i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = Math.fma((x[xOff + i] - mean) * inv, gamma[i], beta[i]);
        }
    }

    /** Σ x[off .. off+n). */
    public static float sum(float[] x, int off, int n) {
        FloatVector acc = FloatVector.zero(FS);
        int i = 0;
        for (int up = FS.loopBound(n); i < up; i += L) {
            acc = acc.add(FloatVector.fromArray(FS, x, off + i));
        }
        float s = hsum(acc);
        for (; i < n; i++) {
            s += x[off + i];
        }
        return s;
    }

    /** In-place softmax over {@code x[off .. off+n)}. */
    public static void softmax(float[] x, int off, int n) {
        FloatVector mv = FloatVector.broadcast(FS, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (int up = FS.loopBound(n); i < up; i += L) {
            mv = mv.max(FloatVector.fromArray(FS, x, off + i));
        }
        float max = mv.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        FloatVector acc = FloatVector.zero(FS);
        for (i = 0; i < n; i += L) { // masked last step: every element goes through the same vector exp
            VectorMask<Float> m = FS.indexInRange(i, n);
            FloatVector e = exp(FloatVector.fromArray(FS, x, off + i, m).sub(max));
            e.intoArray(x, off + i, m);
            acc = acc.add(e, m);
        }
        float inv = 1f / hsum(acc);
        for (i = 0; i < n; i += L) {
            VectorMask<Float> m = FS.indexInRange(i, n);
            FloatVector.fromArray(FS, x, off + i, m).mul(inv).intoArray(x, off + i, m);
        }
    }

    /**
     * RoPE, Hugging Face "rotate_half" layout: for i &lt; headDim/2 the pair is (x[i], x[i + headDim/2]) rotated by
     * {@code pos · invFreq[i]}. Applied to {@code heads} consecutive heads starting at {@code off}. Angles in double
     * (as the reference); bit-identical to {@link ScalarKernels#rope}.
     */
    public static void rope(float[] x, int off, int heads, int headDim, int pos, float[] invFreq) {
        int half = headDim / 2;
        float[] cs = new float[2 * half];
        for (int i = 0; i < half; i++) {
            double angle = pos * (double) invFreq[i];
            cs[i] = (float) Math.cos(angle);
            cs[half + i] = (float) Math.sin(angle);
        }
        for (int h = 0; h < heads; h++) {
            int b = off + h * headDim;
            int i = 0;
            for (int up = FS.loopBound(half); i < up; i += L) {
                FloatVector c = FloatVector.fromArray(FS, cs, i);
                FloatVector s = FloatVector.fromArray(FS, cs, half + i);
                FloatVector x0 = FloatVector.fromArray(FS, x, b + i);
                FloatVector x1 = FloatVector.fromArray(FS, x, b + i + half);
                x0.mul(c).sub(x1.mul(s)).intoArray(x, b + i);
                x0.mul(s).add(x1.mul(c)).intoArray(x, b + i + half);
            }
            for (; i < half; i++) {
                float x0 = x[b + i];
                float x1 = x[b + i + half];
                x[b + i] = x0 * cs[i] - x1 * cs[half + i];
                x[b + i + half] = x0 * cs[half + i] + x1 * cs[i];
            }
        }
    }

    /** In place: {@code x[i] = silu(x[i]) = x[i] / (1 + exp(−x[i]))} for i in [off, off+n). */
    public static void silu(float[] x, int off, int n) {
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = FS.indexInRange(i, n);
            FloatVector v = FloatVector.fromArray(FS, x, off + i, m);
            v.div(exp(v.neg()).add(1f)).intoArray(x, off + i, m);
        }
    }

    /** In place: {@code x[i] = gelu(x[i])} (erf form; float erf, |error| ≤ 1e-6·max(1, |x|)). */
    public static void gelu(float[] x, int off, int n) {
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = FS.indexInRange(i, n);
            FloatVector v = FloatVector.fromArray(FS, x, off + i, m);
            // 0.5·(1 + erf(z)), z = x/√2, via erfc(|z|) ≈ t·P(t)·exp(−z²), t = 1/(1 + p|z|) (A&S 7.1.26)
            FloatVector z = v.mul((float) (1 / Math.sqrt(2))).abs();
            FloatVector t = ONE.div(z.fma(0.3275911f, 1f));
            FloatVector poly = t.fma(1.061405429f, -1.453152027f).mul(t).add(1.421413741f).mul(t).add(-0.284496736f)
                    .mul(t).add(0.254829592f).mul(t);
            FloatVector half = poly.mul(exp(z.mul(z).neg())).mul(0.5f); // erfc(|z|)/2
            FloatVector cdf = half.neg().add(1f).blend(half, v.lt(0f));
            v.mul(cdf).intoArray(x, off + i, m);
        }
    }

    /** In place: {@code x[i] = geluTanh(x[i])}, computed as x·σ(2·√(2/π)·(x + 0.044715x³)) (= 0.5x(1 + tanh(..))). */
    public static void geluTanh(float[] x, int off, int n) {
        float c2 = (float) (2 * Math.sqrt(2.0 / Math.PI));
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = FS.indexInRange(i, n);
            FloatVector v = FloatVector.fromArray(FS, x, off + i, m);
            FloatVector inner = v.mul(v).mul(v).mul(0.044715f).add(v).mul(c2);
            v.div(exp(inner.neg()).add(1f)).intoArray(x, off + i, m);
        }
    }

    /** In place: {@code x[i] = max(0, x[i])}. */
    public static void relu(float[] x, int off, int n) {
        int i = 0;
        for (int up = FS.loopBound(n); i < up; i += L) {
            FloatVector v = FloatVector.fromArray(FS, x, off + i);
            FloatVector.zero(FS).blend(v, v.compare(VectorOperators.GT, 0f)).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] = relu(x[off + i]);
        }
    }

    /** SiLU / Swish: {@code x · σ(x)}. */
    public static float silu(float x) {
        return x / (1f + (float) Math.exp(-x));
    }

    /** GELU, exact erf form (BERT, {@code hidden_act = "gelu"}). */
    public static float gelu(float x) {
        return (float) (0.5 * x * (1.0 + Erf.erf(x / Math.sqrt(2.0))));
    }

    /** GELU, tanh approximation ({@code gelu_new}, {@code gelu_pytorch_tanh}). */
    public static float geluTanh(float x) {
        double c = Math.sqrt(2.0 / Math.PI);
        return (float) (0.5 * x * (1.0 + Math.tanh(c * (x + 0.044715 * x * x * x))));
    }

    public static float relu(float x) {
        return x > 0f ? x : 0f;
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
