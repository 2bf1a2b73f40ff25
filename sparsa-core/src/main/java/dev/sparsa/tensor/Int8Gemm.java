package dev.sparsa.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import static dev.sparsa.tensor.Simd.BS;
import static dev.sparsa.tensor.Simd.FS;
import static dev.sparsa.tensor.Simd.IS;
import static dev.sparsa.tensor.Simd.L;
import static dev.sparsa.tensor.Simd.LE;

/**
 * ONNX dynamic int8 arithmetic, as ONNX Runtime computes it on the CPU: {@code DynamicQuantizeLinear} of an
 * activation tensor to uint8 ({@link #range}, {@link #quantize}) and {@code MatMulInteger} of those codes with an
 * {@link Int8Matrix}, rescaled to float ({@link #matmul}). The integer products are summed exactly: in float FMA
 * lanes (or for a batch by the float {@link Gemm}) over blocks short enough that every partial sum is a float-exact
 * integer, the blocks' sums added in int32,
 * so the result depends only on the codes (not on lane order, blocking, path or thread count); {@link ScalarInt8Gemm}
 * is its plain-loop twin.
 */
public final class Int8Gemm {
    private Int8Gemm() {
    }

    /** A DynamicQuantizeLinear range: code = saturate(round(x / scale) + zeroPoint) in [0, 255]. */
    public record Range(float scale, int zeroPoint) {
    }

    /**
     * The scale and zero point DynamicQuantizeLinear (ONNX opset 11) gives x[off, off+n): the range [min, max] of
     * the values widened to include 0, scale = (max − min) / 255 (1 when max = min), zero point =
     * round_half_even(clamp(0 − min / scale, 0, 255)), every step in float as ONNX Runtime does
     * ({@code GetQuantizationParameter}).
     */
    public static Range range(float[] x, int off, int n) {
        float min = 0f;
        float max = 0f;
        for (int i = off; i < off + n; i++) {
            min = Math.min(min, x[i]);
            max = Math.max(max, x[i]);
        }
        float scale = max == min ? 1f : (max - min) / 255f;
        float zp = 0f - min / scale;
        return new Range(scale, (int) Math.rint(Math.max(0f, Math.min(255f, zp))));
    }

    /**
     * The centred codes of x[off, off+n) under {@code r}: {@code a[i] = q[i] − zeroPoint} with q[i] =
     * round_half_even(clamp(x[i] / scale, −zp, 255 − zp)) + zp (ONNX Runtime's MlasQuantizeLinear: a division, then
     * the clamp, then round to nearest even), so a[i] ∈ [−255, 255] and x[i] ≈ a[i] · scale.
     */
    public static void quantize(float[] x, int off, int n, Range r, int[] a) {
        float lo = -r.zeroPoint();
        float hi = 255 - r.zeroPoint();
        for (int i = off; i < off + n; i++) {
            float v = x[i] / r.scale();
            v = Math.min(Math.max(v, lo), hi);
            a[i] = (int) Math.rint(v); // NaN → 0, the zero point's code
        }
    }

    /**
     * MatMulInteger rescaled, for each of n tokens t and each row r of W:
     * <pre>  y[t·rows + r] = float(Σ_c a[t·cols + c] · (q[r][c] − z[r])) · (sx[t] · s[r])</pre>
     * a holds the tokens' centred activation codes ({@link #quantize}), sx[t] each token's activation scale. The sum
     * is exact int32; the product of the two scales is rounded first, then the product with the sum, as the
     * quantizer's graph ({@code Mul(scale_x, scale_w)}, {@code Cast}, {@code Mul}) computes it.
     *
     * <p>From {@link Gemm#MATMUL_MIN_BATCH} tokens the integer sums are done by the float {@link Gemm} engine on
     * the codes widened to floats ({@link #exactSums}), exact by the bound of {@link #EXACT_K}; below it, by float
     * FMA tiles of 4 rows × 4 tokens on the widened codes, summed to int every {@link #EXACT_K} columns (the same
     * bound), split over rows. Both give the bits of {@link ScalarInt8Gemm}.
     */
    public static void matmul(Int8Matrix w, int[] a, float[] sx, int n, float[] y, Parallel par) {
        matmul(null, w, a, sx, n, y, par);
    }

    /**
     * {@link #matmul(Int8Matrix, int[], float[], int, float[], Parallel)} with the caller's {@link Gemm} engine (its
     * packing buffers are reused from call to call); null makes a fresh one when it is needed.
     */
    public static void matmul(Gemm gemm, Int8Matrix w, int[] a, float[] sx, int n, float[] y, Parallel par) {
        int rows = w.rows();
        int cols = w.cols();
        check(w, a, sx, n, y);
        int[] aSum = w.hasZeroPoints() ? rowSums(a, n, cols) : null;
        if (n >= Gemm.MATMUL_MIN_BATCH) {
            int[] s = exactSums(gemm != null ? gemm : new Gemm(), w, a, n, y, par);
            rescale(w, s, aSum, sx, n, y, par);
            return;
        }
        float[] af = widened(a, n * cols, par);
        int tiles = (rows + 3) / 4;
        par.forRange(tiles, 4, (from, to) -> {
            float[] wt = new float[4 * cols];
            int[] acc = new int[16];
            for (int b0 = 0; b0 < n; b0 += 32) {
                int b1 = Math.min(n, b0 + 32);
                for (int t = from; t < to; t++) {
                    int r0 = 4 * t;
                    int nr = Math.min(4, rows - r0);
                    for (int i = 0; i < nr; i++) { // the 4 rows' codes widened once per 32 tokens
                        widen(w.data(), (long) (r0 + i) * cols, cols, wt, i * cols);
                    }
                    for (int b = b0; b < b1; b += 4) {
                        int nb = Math.min(4, b1 - b);
                        if (nr == 4 && nb == 4) {
                            tile4x4(wt, af, b * cols, cols, acc);
                        } else {
                            for (int bb = 0; bb < nb; bb++) {
                                for (int i = 0; i < nr; i++) {
                                    acc[bb * 4 + i] = dot1(wt, i * cols, af, (b + bb) * cols, cols);
                                }
                            }
                        }
                        for (int bb = 0; bb < nb; bb++) {
                            int tok = b + bb;
                            for (int i = 0; i < nr; i++) {
                                int r = r0 + i;
                                int v = acc[bb * 4 + i] - (aSum == null ? 0 : w.zero()[r] * aSum[tok]);
                                y[tok * rows + r] = (float) v * (sx[tok] * w.scale()[r]);
                            }
                        }
                    }
                }
            }
        });
    }

    /**
     * Most columns per float pass of {@link #exactSums}: |q| ≤ 128 and |a| ≤ 255, so every partial sum of at most
     * 512 products is an integer of magnitude ≤ 512·128·255 = 16 711 680 &lt; 2²⁴, which a float holds exactly; each
     * fused multiply-add of the Gemm's chain then has an exact result, and the pass's sum is the exact integer.
     */
    static final int EXACT_K = 512;

    /**
     * Σ_c a[t·cols + c] · q[r][c] (raw codes, without the zero points) for every token t and row r, exact: the codes
     * widened to floats (exact) and multiplied by the float Gemm (each C[t, r] one chain of fused multiply-adds) in
     * passes of at most {@link #EXACT_K} columns, the passes' integer results summed in int32. With one pass the
     * sums are left in y as floats (exact integers) and null is returned; otherwise an int[n·rows] of them.
     */
    static int[] exactSums(Gemm gemm, Int8Matrix w, int[] a, int n, float[] y, Parallel par) {
        int rows = w.rows();
        int cols = w.cols();
        float[] af = widened(a, n * cols, par);
        float[] wf = new float[rows * cols];
        par.forRange(rows, 16, (from, to) -> {
            for (int r = from; r < to; r++) {
                widen(w.data(), (long) r * cols, cols, wf, r * cols);
            }
        });
        int[] s = cols > EXACT_K ? new int[n * rows] : null;
        for (int c0 = 0; c0 < cols; c0 += EXACT_K) {
            int kc = Math.min(EXACT_K, cols - c0);
            // Y[n, rows] = A[n, c0 .. c0+kc) · W[rows, c0 .. c0+kc)^T, every value an exact integer
            gemm.multiply(n, rows, kc, Gemm.Mat.of(af, c0, cols), new Gemm.Mat(wf, c0, cols, true),
                    Gemm.Mat.of(y, 0, rows), false, par);
            if (s != null) {
                par.forRange(n, 8, (from, to) -> {
                    for (int i = from * rows; i < to * rows; i++) {
                        s[i] += (int) y[i];
                    }
                });
            }
        }
        return s;
    }

    // y[t·rows + r] = float(sum − z[r]·aSum[t]) · (sx[t] · s[r]), sum = s[i] or the exact integer y[i] holds
    private static void rescale(Int8Matrix w, int[] s, int[] aSum, float[] sx, int n, float[] y, Parallel par) {
        int rows = w.rows();
        float[] ws = w.scale();
        int[] z = w.zero();
        par.forRange(n, 8, (from, to) -> {
            for (int t = from; t < to; t++) {
                int o = t * rows;
                int za = aSum == null ? 0 : aSum[t];
                int r = 0;
                for (; r < rows; r++) {
                    int v = (s == null ? (int) y[o + r] : s[o + r]) - z[r] * za;
                    y[o + r] = (float) v * (sx[t] * ws[r]);
                }
            }
        });
    }

    // acc[bb·4 + i] = Σ_c wt[i·cols + c] · a[x0 + bb·cols + c] for 4 rows i and 4 tokens bb: float FMAs on the
    // integer codes, in blocks of EXACT_K columns so that every partial sum (in any lane order) is an integer below
    // 2^24 and so exact; each block's 16 sums then go to int
    private static void tile4x4(float[] wt, float[] a, int x0, int cols, int[] acc) {
        java.util.Arrays.fill(acc, 0);
        int cv = cols - cols % L;
        for (int c0 = 0; c0 < cv; c0 += EXACT_K) {
            int c1 = Math.min(cv, c0 + EXACT_K);
            FloatVector s00 = FloatVector.zero(FS), s01 = s00, s02 = s00, s03 = s00;
            FloatVector s10 = s00, s11 = s00, s12 = s00, s13 = s00;
            FloatVector s20 = s00, s21 = s00, s22 = s00, s23 = s00;
            FloatVector s30 = s00, s31 = s00, s32 = s00, s33 = s00;
            for (int c = c0; c < c1; c += L) {
                FloatVector w0 = FloatVector.fromArray(FS, wt, c);
                FloatVector w1 = FloatVector.fromArray(FS, wt, cols + c);
                FloatVector w2 = FloatVector.fromArray(FS, wt, 2 * cols + c);
                FloatVector w3 = FloatVector.fromArray(FS, wt, 3 * cols + c);
                FloatVector x = FloatVector.fromArray(FS, a, x0 + c);
                s00 = w0.fma(x, s00);
                s01 = w1.fma(x, s01);
                s02 = w2.fma(x, s02);
                s03 = w3.fma(x, s03);
                x = FloatVector.fromArray(FS, a, x0 + cols + c);
                s10 = w0.fma(x, s10);
                s11 = w1.fma(x, s11);
                s12 = w2.fma(x, s12);
                s13 = w3.fma(x, s13);
                x = FloatVector.fromArray(FS, a, x0 + 2 * cols + c);
                s20 = w0.fma(x, s20);
                s21 = w1.fma(x, s21);
                s22 = w2.fma(x, s22);
                s23 = w3.fma(x, s23);
                x = FloatVector.fromArray(FS, a, x0 + 3 * cols + c);
                s30 = w0.fma(x, s30);
                s31 = w1.fma(x, s31);
                s32 = w2.fma(x, s32);
                s33 = w3.fma(x, s33);
            }
            // exact: integers below 2^24, in any order (no array of vectors: it would box them)
            acc[0] += isum(s00);
            acc[1] += isum(s01);
            acc[2] += isum(s02);
            acc[3] += isum(s03);
            acc[4] += isum(s10);
            acc[5] += isum(s11);
            acc[6] += isum(s12);
            acc[7] += isum(s13);
            acc[8] += isum(s20);
            acc[9] += isum(s21);
            acc[10] += isum(s22);
            acc[11] += isum(s23);
            acc[12] += isum(s30);
            acc[13] += isum(s31);
            acc[14] += isum(s32);
            acc[15] += isum(s33);
        }
        for (int k = 0; k < 16; k++) {
            int bb = k / 4;
            int i = k % 4;
            int sum = 0;
            for (int cc = cv; cc < cols; cc++) {
                sum += (int) wt[i * cols + cc] * (int) a[x0 + bb * cols + cc];
            }
            acc[k] += sum;
        }
    }

    private static int isum(FloatVector v) {
        return (int) v.reduceLanes(VectorOperators.ADD);
    }

    private static int dot1(float[] wt, int wo, float[] a, int xo, int cols) {
        int cv = cols - cols % L;
        int sum = 0;
        for (int c0 = 0; c0 < cv; c0 += EXACT_K) {
            int c1 = Math.min(cv, c0 + EXACT_K);
            FloatVector s = FloatVector.zero(FS);
            for (int c = c0; c < c1; c += L) {
                s = FloatVector.fromArray(FS, wt, wo + c).fma(FloatVector.fromArray(FS, a, xo + c), s);
            }
            sum += (int) s.reduceLanes(VectorOperators.ADD);
        }
        for (int c = cv; c < cols; c++) {
            sum += (int) wt[wo + c] * (int) a[xo + c];
        }
        return sum;
    }

    // n ints → floats (exact: |a| ≤ 255)
    private static float[] widened(int[] a, int n, Parallel par) {
        float[] af = new float[n];
        par.forRange(n, 4096, (from, to) -> {
            int i = from;
            for (; i + L <= to; i += L) {
                ((FloatVector) IntVector.fromArray(IS, a, i).convert(VectorOperators.I2F, 0)).intoArray(af, i);
            }
            for (; i < to; i++) {
                af[i] = a[i];
            }
        });
        return af;
    }

    // n int8 codes at q[off ..] → floats at out[o ..] (exact)
    private static void widen(MemorySegment q, long off, int n, float[] out, int o) {
        int i = 0;
        for (; i + L <= n; i += L) {
            ((FloatVector) ByteVector.fromMemorySegment(BS, q, off + i, LE).convertShape(VectorOperators.B2F, FS, 0))
                    .intoArray(out, o + i);
        }
        for (; i < n; i++) {
            out[o + i] = q.get(ValueLayout.JAVA_BYTE, off + i);
        }
    }

    static int[] rowSums(int[] a, int n, int cols) {
        int[] s = new int[n];
        for (int t = 0; t < n; t++) {
            int sum = 0;
            for (int c = 0; c < cols; c++) {
                sum += a[t * cols + c];
            }
            s[t] = sum;
        }
        return s;
    }

    static void check(Int8Matrix w, int[] a, float[] sx, int n, float[] y) {
        if (n < 0 || (long) n * w.cols() > a.length || n > sx.length || (long) n * w.rows() > y.length) {
            throw new IllegalArgumentException(w + ": " + n + " tokens need " + (long) n * w.cols() + " codes, "
                    + n + " scales and " + (long) n * w.rows() + " outputs, got " + a.length + ", " + sx.length
                    + " and " + y.length);
        }
    }
}
