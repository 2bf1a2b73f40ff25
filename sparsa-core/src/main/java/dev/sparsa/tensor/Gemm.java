package dev.sparsa.tensor;

import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Dense fp32 matrix multiply, BLIS style: {@code C[m×n] = (accumulate ? C : 0) + op(A)[m×k] · op(B)[k×n]}.
 * Every matrix is row-major with an offset and a leading dimension; {@code op} is the identity or the transpose,
 * chosen per operand ({@link Mat#t()}, {@link Weight#t()}). A is activations ({@code float[]}); B is either a
 * {@code float[]} ({@link Mat}) or a weight {@link Tensor} of any {@link DType} ({@link Weight}), dequantized
 * while it is packed. The three products of a linear layer {@code Y = X·W^T}, W = [out, in]:
 * <pre>
 *   gemm.multiply(T, out, in, Mat.of(x, 0, in),  Weight.of(w).t(), Mat.of(y, 0, out), false, par); // Y  = X·W^T
 *   gemm.multiply(T, in, out, Mat.of(dy, 0, out), Weight.of(w),    Mat.of(dx, 0, in), false, par); // dX = dY·W
 *   gemm.multiply(out, in, T, Mat.of(dy, 0, out).t(), Mat.of(x, 0, in), Mat.of(dw, 0, in), true, par); // dW += dY^T·X
 * </pre>
 *
 * <p><b>Values.</b> Each {@code C[i,j]} is one chain of fused multiply-adds in ascending p:
 * {@code c = accumulate ? C[i,j] : 0; for p in [0, k): c = fma(op(A)[i,p], op(B)[p,j], c)}, with B's values
 * dequantized exactly as {@link Kernels#getRow}. The k blocking only stores c in C and loads it back between
 * blocks, and threads split output tiles only, so the result is bit-identical to {@link ScalarGemm} for every
 * thread count, blocking and tier (interpreter or JIT).
 *
 * <p><b>Algorithm.</b> B is packed (in column super-blocks of at most {@link #B_CAP} floats) into panels of
 * {@link #NR} = 2 vectors of columns, k-blocked by {@link #KC}; A is packed per task into slivers of {@code MR}
 * rows (12 with 512-bit vectors, 6 with 256-bit); a register-blocked micro-kernel keeps the MR×NR tile of C in
 * 2·MR vector registers and does 2·MR FMAs per broadcast row of A and pair of B vectors. Tasks are (row block ×
 * column block) tiles of the super-block, run through {@link Parallel#forRange}. Packing buffers are pooled in
 * this instance and reused across calls (the packed-B buffer holds up to {@code k × min(n, B_CAP/k)} floats).
 * An instance is thread-safe; C must not overlap A or B.
 */
public final class Gemm {

    static final VectorSpecies<Float> FS = Simd.FS;
    static final int L = Simd.L;
    /** Columns of a micro-tile: two vectors. */
    static final int NR = 2 * L;
    /** Rows of a micro-tile by default: 24 accumulators + 2 B vectors + 1 broadcast fit AVX-512's 32 registers. */
    static final int MR = L >= 16 ? 12 : 6;
    /** k block: a KC×NR panel of B (32 KiB at NR = 32) stays in L1 while it meets every A sliver of a task. */
    static final int KC = 256;
    /** Most A slivers per task (MC = MAX_SLIVERS·MR rows: 96 × 256 floats = 96 KiB of L2 at MR = 12). */
    static final int MAX_SLIVERS = 8;
    /** Most floats of packed B held at once (4 MiB); wider B is done in column super-blocks. */
    static final int B_CAP = 1 << 20;

    /** An operand B: a float matrix or a weight tensor. */
    public sealed interface Operand permits Mat, Weight {
    }

    /**
     * A row-major float matrix view: element (r, c) of the stored matrix is {@code data[off + r·ld + c]}; with
     * {@code trans} the operand is its transpose (element (i, j) of op(M) is stored at (j, i)).
     */
    public record Mat(float[] data, int off, int ld, boolean trans) implements Operand {
        public Mat {
            Objects.requireNonNull(data, "data");
            if (off < 0 || ld < 0) {
                throw new IllegalArgumentException("matrix view: negative offset " + off + " or ld " + ld);
            }
        }

        /** The matrix stored row-major at {@code data[off ..]} with leading dimension {@code ld} (not transposed). */
        public static Mat of(float[] data, int off, int ld) {
            return new Mat(data, off, ld, false);
        }

        /** The transposed operand over the same storage. */
        public Mat t() {
            return new Mat(data, off, ld, !trans);
        }
    }

    /**
     * A weight tensor W = [rows, cols] (e.g. [out, in]) as operand B: {@code B = W} ([k = rows, n = cols]) or, with
     * {@code trans}, {@code B = W^T} ([k = cols, n = rows]). Any dtype; rows are dequantized once per call.
     */
    public record Weight(Tensor w, boolean trans) implements Operand {
        public Weight {
            Objects.requireNonNull(w, "w");
        }

        /** {@code B = W}. */
        public static Weight of(Tensor w) {
            return new Weight(w, false);
        }

        /** The transposed operand ({@code B = W^T} from {@code B = W}, and back). */
        public Weight t() {
            return new Weight(w, !trans);
        }
    }

    private final int mr;
    private final ConcurrentLinkedQueue<float[]> aBuffers = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<float[]> bBuffers = new ConcurrentLinkedQueue<>();

    /** A GEMM engine with the micro-kernel for this CPU's vector width. */
    public Gemm() {
        this(MR);
    }

    /** With an explicit micro-kernel height (12 or 6): tests run both kernels on any CPU. */
    Gemm(int mr) {
        if (mr != 12 && mr != 6) {
            throw new IllegalArgumentException("micro-kernel rows must be 12 or 6, got " + mr);
        }
        this.mr = mr;
    }

    /**
     * {@code C[m×n] = (accumulate ? C : 0) + op(A)[m×k] · op(B)[k×n]}; only the m×n region of C is written. C must
     * not be transposed. With k = 0 the product is zero (C is cleared unless accumulating).
     *
     * @throws IllegalArgumentException when a dimension is negative, a view does not fit its array, a leading
     *                                  dimension is shorter than its row, or a weight's shape is not [k, n] (B = W)
     *                                  or [n, k] (B = W^T)
     */
    public void multiply(int m, int n, int k, Mat a, Operand b, Mat c, boolean accumulate, Parallel par) {
        check(m, n, k, a, b, c);
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            if (!accumulate) {
                for (int i = 0; i < m; i++) {
                    java.util.Arrays.fill(c.data, c.off + i * c.ld, c.off + i * c.ld + n, 0f);
                }
            }
            return;
        }
        // column super-blocks: whole panels, at most B_CAP packed floats
        int width = Math.min(roundUp(n, NR), Math.max(NR, B_CAP / k / NR * NR));
        float[] bp = take(bBuffers, k * width);
        try {
            for (int j0 = 0; j0 < n; j0 += width) {
                int nsb = Math.min(width, n - j0);
                packB(b, k, j0, nsb, bp, par);
                compute(m, nsb, k, a, bp, c, j0, accumulate, par);
            }
        } finally {
            bBuffers.offer(bp);
        }
    }

    // B[0..k, j0..j0+nsb) packed: k block [pc, pc+kcb) at pc·npad, its panel q at + q·kcb·NR, element (p, jj) at
    // + (p−pc)·NR + jj; columns past the super-block are zero
    private static void packB(Operand b, int k, int j0, int nsb, float[] bp, Parallel par) {
        int panels = ceilDiv(nsb, NR);
        int npad = panels * NR;
        Tensor w = b instanceof Weight wt ? wt.w() : null;
        Mat m = b instanceof Mat mt ? mt : null;
        boolean rowsOfB = m != null ? !m.trans() : !((Weight) b).trans();
        if (rowsOfB) {
            // row p of B is contiguous (a row of the float matrix, or row p of W): cut it into the panels
            par.forRange(k, 16, (from, to) -> {
                float[] tmp = w != null ? new float[w.cols()] : null;
                for (int p = from; p < to; p++) {
                    float[] src = tmp;
                    int so = j0;
                    if (m != null) {
                        src = m.data();
                        so = m.off() + p * m.ld() + j0;
                    } else {
                        Kernels.getRow(w, p, tmp, 0);
                    }
                    int pc = p / KC * KC;
                    int step = Math.min(KC, k - pc) * NR;
                    int dst = pc * npad + (p - pc) * NR;
                    for (int q = 0; q < panels; q++, dst += step) {
                        int len = Math.min(NR, nsb - q * NR);
                        System.arraycopy(src, so + q * NR, bp, dst, len);
                        if (len < NR) {
                            java.util.Arrays.fill(bp, dst + len, dst + NR, 0f);
                        }
                    }
                }
            });
        } else {
            // column j of B is contiguous (a row of the stored float matrix, or row j of W): lane jj of its panel
            par.forRange(panels, 1, (from, to) -> {
                float[] tmp = w != null ? new float[w.cols()] : null;
                for (int q = from; q < to; q++) {
                    for (int jj = 0; jj < NR; jj++) {
                        int j = j0 + q * NR + jj;
                        boolean pad = j >= j0 + nsb;
                        float[] src = tmp;
                        int so = 0;
                        if (pad) {
                            src = null;
                        } else if (m != null) {
                            src = m.data();
                            so = m.off() + j * m.ld();
                        } else {
                            Kernels.getRow(w, j, tmp, 0);
                        }
                        for (int pc = 0; pc < k; pc += KC) {
                            int kcb = Math.min(KC, k - pc);
                            int dst = pc * npad + q * kcb * NR + jj;
                            if (src == null) {
                                for (int kk = 0; kk < kcb; kk++) {
                                    bp[dst + kk * NR] = 0f;
                                }
                            } else {
                                for (int kk = 0; kk < kcb; kk++) {
                                    bp[dst + kk * NR] = src[so + pc + kk];
                                }
                            }
                        }
                    }
                }
            });
        }
    }

    // C[·, j0..j0+nsb) from packed B: tasks = row blocks of slivers × column blocks of panels
    private void compute(int m, int nsb, int k, Mat a, float[] bp, Mat c, int j0, boolean accumulate,
                         Parallel par) {
        int slivers = ceilDiv(m, mr);
        int panels = ceilDiv(nsb, NR);
        int npad = panels * NR;
        // enough tasks for dynamic balance (4 per thread), whole row blocks of at most MAX_SLIVERS slivers first
        int want = par.threads() == 1 ? 1 : 4 * par.threads();
        int perM = ceilDiv(slivers, Math.max(ceilDiv(slivers, MAX_SLIVERS), Math.min(slivers, want)));
        int mBlocks = ceilDiv(slivers, perM);
        int perN = ceilDiv(panels, Math.min(panels, ceilDiv(want, mBlocks)));
        int nBlocks = ceilDiv(panels, perN);
        int kc0 = Math.min(KC, k);
        par.forRange(mBlocks * nBlocks, 1, (from, to) -> {
            float[] ap = take(aBuffers, perM * mr * kc0);
            float[] tile = new float[mr * NR];
            try {
                for (int t = from; t < to; t++) {
                    int s0 = t / nBlocks * perM;
                    int s1 = Math.min(slivers, s0 + perM);
                    int q0 = t % nBlocks * perN;
                    int q1 = Math.min(panels, q0 + perN);
                    for (int pc = 0; pc < k; pc += KC) {
                        int kcb = Math.min(KC, k - pc);
                        packA(a, m, s0, s1, pc, kcb, ap);
                        boolean load = accumulate || pc > 0;
                        for (int q = q0; q < q1; q++) {
                            int bo = pc * npad + q * kcb * NR;
                            int col = j0 + q * NR;
                            int cols = Math.min(NR, j0 + nsb - col);
                            for (int s = s0; s < s1; s++) {
                                int ao = (s - s0) * kcb * mr;
                                int row = s * mr;
                                int rows = Math.min(mr, m - row);
                                if (rows == mr && cols == NR) {
                                    kernel(ap, ao, bp, bo, kcb, c.data(), c.off() + row * c.ld() + col, c.ld(), load);
                                } else {
                                    edge(ap, ao, bp, bo, kcb, c, row, rows, col, cols, load, tile);
                                }
                            }
                        }
                    }
                }
            } finally {
                aBuffers.offer(ap);
            }
        });
    }

    // rows [s0·mr, s1·mr) × k [pc, pc+kcb) of op(A) packed: sliver s at (s−s0)·kcb·mr, element (ii, p) at
    // + (p−pc)·mr + ii; rows past m are zero
    private void packA(Mat a, int m, int s0, int s1, int pc, int kcb, float[] ap) {
        float[] x = a.data();
        int ld = a.ld();
        for (int s = s0; s < s1; s++) {
            int i0 = s * mr;
            int rows = Math.min(mr, m - i0);
            int dst = (s - s0) * kcb * mr;
            if (!a.trans()) {
                // row i of A is contiguous along k: transposed into the sliver
                for (int ii = 0; ii < rows; ii++) {
                    int src = a.off() + (i0 + ii) * ld + pc;
                    for (int kk = 0; kk < kcb; kk++) {
                        ap[dst + kk * mr + ii] = x[src + kk];
                    }
                }
            } else {
                // A = S^T: column p of A is row p of S, contiguous along i
                for (int kk = 0; kk < kcb; kk++) {
                    System.arraycopy(x, a.off() + (pc + kk) * ld + i0, ap, dst + kk * mr, rows);
                }
            }
            if (rows < mr) {
                for (int kk = 0; kk < kcb; kk++) {
                    java.util.Arrays.fill(ap, dst + kk * mr + rows, dst + (kk + 1) * mr, 0f);
                }
            }
        }
    }

    // a partial tile (rows < mr or cols < NR) through a full mr×NR tile buffer: the same FMA chain per element
    private void edge(float[] ap, int ao, float[] bp, int bo, int kcb, Mat c, int row, int rows, int col, int cols,
                      boolean load, float[] tile) {
        float[] cd = c.data();
        if (load) {
            for (int r = 0; r < rows; r++) {
                System.arraycopy(cd, c.off() + (row + r) * c.ld() + col, tile, r * NR, cols);
            }
        }
        kernel(ap, ao, bp, bo, kcb, tile, 0, NR, load);
        for (int r = 0; r < rows; r++) {
            System.arraycopy(tile, r * NR, cd, c.off() + (row + r) * c.ld() + col, cols);
        }
    }

    private void kernel(float[] ap, int ao, float[] bp, int bo, int kc, float[] c, int co, int ldc, boolean load) {
        if (mr == 12) {
            kernel12(ap, ao, bp, bo, kc, c, co, ldc, load);
        } else {
            kernel6(ap, ao, bp, bo, kc, c, co, ldc, load);
        }
    }

    // ---------------------------------------------------------------- micro-kernels

    // C[0..12, 0..NR) (+)= Ap·Bp over kc: 12×2 accumulators, two B vectors, one broadcast of A at a time
    private static void kernel12(float[] ap, int ao, float[] bp, int bo, int kc, float[] c, int co, int ldc,
                                 boolean load) {
        int r0 = co;
        int r1 = co + 1 * ldc;
        int r2 = co + 2 * ldc;
        int r3 = co + 3 * ldc;
        int r4 = co + 4 * ldc;
        int r5 = co + 5 * ldc;
        int r6 = co + 6 * ldc;
        int r7 = co + 7 * ldc;
        int r8 = co + 8 * ldc;
        int r9 = co + 9 * ldc;
        int r10 = co + 10 * ldc;
        int r11 = co + 11 * ldc;
        FloatVector c00 = load ? FloatVector.fromArray(FS, c, r0) : FloatVector.zero(FS);
        FloatVector c01 = load ? FloatVector.fromArray(FS, c, r0 + L) : FloatVector.zero(FS);
        FloatVector c10 = load ? FloatVector.fromArray(FS, c, r1) : FloatVector.zero(FS);
        FloatVector c11 = load ? FloatVector.fromArray(FS, c, r1 + L) : FloatVector.zero(FS);
        FloatVector c20 = load ? FloatVector.fromArray(FS, c, r2) : FloatVector.zero(FS);
        FloatVector c21 = load ? FloatVector.fromArray(FS, c, r2 + L) : FloatVector.zero(FS);
        FloatVector c30 = load ? FloatVector.fromArray(FS, c, r3) : FloatVector.zero(FS);
        FloatVector c31 = load ? FloatVector.fromArray(FS, c, r3 + L) : FloatVector.zero(FS);
        FloatVector c40 = load ? FloatVector.fromArray(FS, c, r4) : FloatVector.zero(FS);
        FloatVector c41 = load ? FloatVector.fromArray(FS, c, r4 + L) : FloatVector.zero(FS);
        FloatVector c50 = load ? FloatVector.fromArray(FS, c, r5) : FloatVector.zero(FS);
        FloatVector c51 = load ? FloatVector.fromArray(FS, c, r5 + L) : FloatVector.zero(FS);
        FloatVector c60 = load ? FloatVector.fromArray(FS, c, r6) : FloatVector.zero(FS);
        FloatVector c61 = load ? FloatVector.fromArray(FS, c, r6 + L) : FloatVector.zero(FS);
        FloatVector c70 = load ? FloatVector.fromArray(FS, c, r7) : FloatVector.zero(FS);
        FloatVector c71 = load ? FloatVector.fromArray(FS, c, r7 + L) : FloatVector.zero(FS);
        FloatVector c80 = load ? FloatVector.fromArray(FS, c, r8) : FloatVector.zero(FS);
        FloatVector c81 = load ? FloatVector.fromArray(FS, c, r8 + L) : FloatVector.zero(FS);
        FloatVector c90 = load ? FloatVector.fromArray(FS, c, r9) : FloatVector.zero(FS);
        FloatVector c91 = load ? FloatVector.fromArray(FS, c, r9 + L) : FloatVector.zero(FS);
        FloatVector c100 = load ? FloatVector.fromArray(FS, c, r10) : FloatVector.zero(FS);
        FloatVector c101 = load ? FloatVector.fromArray(FS, c, r10 + L) : FloatVector.zero(FS);
        FloatVector c110 = load ? FloatVector.fromArray(FS, c, r11) : FloatVector.zero(FS);
        FloatVector c111 = load ? FloatVector.fromArray(FS, c, r11 + L) : FloatVector.zero(FS);
        for (int p = 0; p < kc; p++) {
            int a = ao + p * 12;
            FloatVector b0 = FloatVector.fromArray(FS, bp, bo + p * NR);
            FloatVector b1 = FloatVector.fromArray(FS, bp, bo + p * NR + L);
            FloatVector a0 = FloatVector.broadcast(FS, ap[a]);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(FS, ap[a + 1]);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(FS, ap[a + 2]);
            c20 = a2.fma(b0, c20);
            c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(FS, ap[a + 3]);
            c30 = a3.fma(b0, c30);
            c31 = a3.fma(b1, c31);
            FloatVector a4 = FloatVector.broadcast(FS, ap[a + 4]);
            c40 = a4.fma(b0, c40);
            c41 = a4.fma(b1, c41);
            FloatVector a5 = FloatVector.broadcast(FS, ap[a + 5]);
            c50 = a5.fma(b0, c50);
            c51 = a5.fma(b1, c51);
            FloatVector a6 = FloatVector.broadcast(FS, ap[a + 6]);
            c60 = a6.fma(b0, c60);
            c61 = a6.fma(b1, c61);
            FloatVector a7 = FloatVector.broadcast(FS, ap[a + 7]);
            c70 = a7.fma(b0, c70);
            c71 = a7.fma(b1, c71);
            FloatVector a8 = FloatVector.broadcast(FS, ap[a + 8]);
            c80 = a8.fma(b0, c80);
            c81 = a8.fma(b1, c81);
            FloatVector a9 = FloatVector.broadcast(FS, ap[a + 9]);
            c90 = a9.fma(b0, c90);
            c91 = a9.fma(b1, c91);
            FloatVector a10 = FloatVector.broadcast(FS, ap[a + 10]);
            c100 = a10.fma(b0, c100);
            c101 = a10.fma(b1, c101);
            FloatVector a11 = FloatVector.broadcast(FS, ap[a + 11]);
            c110 = a11.fma(b0, c110);
            c111 = a11.fma(b1, c111);
        }
        c00.intoArray(c, r0);
        c01.intoArray(c, r0 + L);
        c10.intoArray(c, r1);
        c11.intoArray(c, r1 + L);
        c20.intoArray(c, r2);
        c21.intoArray(c, r2 + L);
        c30.intoArray(c, r3);
        c31.intoArray(c, r3 + L);
        c40.intoArray(c, r4);
        c41.intoArray(c, r4 + L);
        c50.intoArray(c, r5);
        c51.intoArray(c, r5 + L);
        c60.intoArray(c, r6);
        c61.intoArray(c, r6 + L);
        c70.intoArray(c, r7);
        c71.intoArray(c, r7 + L);
        c80.intoArray(c, r8);
        c81.intoArray(c, r8 + L);
        c90.intoArray(c, r9);
        c91.intoArray(c, r9 + L);
        c100.intoArray(c, r10);
        c101.intoArray(c, r10 + L);
        c110.intoArray(c, r11);
        c111.intoArray(c, r11 + L);
    }

    // C[0..6, 0..NR) (+)= Ap·Bp over kc: 6×2 accumulators, two B vectors, one broadcast of A at a time
    private static void kernel6(float[] ap, int ao, float[] bp, int bo, int kc, float[] c, int co, int ldc,
                                 boolean load) {
        int r0 = co;
        int r1 = co + 1 * ldc;
        int r2 = co + 2 * ldc;
        int r3 = co + 3 * ldc;
        int r4 = co + 4 * ldc;
        int r5 = co + 5 * ldc;
        FloatVector c00 = load ? FloatVector.fromArray(FS, c, r0) : FloatVector.zero(FS);
        FloatVector c01 = load ? FloatVector.fromArray(FS, c, r0 + L) : FloatVector.zero(FS);
        FloatVector c10 = load ? FloatVector.fromArray(FS, c, r1) : FloatVector.zero(FS);
        FloatVector c11 = load ? FloatVector.fromArray(FS, c, r1 + L) : FloatVector.zero(FS);
        FloatVector c20 = load ? FloatVector.fromArray(FS, c, r2) : FloatVector.zero(FS);
        FloatVector c21 = load ? FloatVector.fromArray(FS, c, r2 + L) : FloatVector.zero(FS);
        FloatVector c30 = load ? FloatVector.fromArray(FS, c, r3) : FloatVector.zero(FS);
        FloatVector c31 = load ? FloatVector.fromArray(FS, c, r3 + L) : FloatVector.zero(FS);
        FloatVector c40 = load ? FloatVector.fromArray(FS, c, r4) : FloatVector.zero(FS);
        FloatVector c41 = load ? FloatVector.fromArray(FS, c, r4 + L) : FloatVector.zero(FS);
        FloatVector c50 = load ? FloatVector.fromArray(FS, c, r5) : FloatVector.zero(FS);
        FloatVector c51 = load ? FloatVector.fromArray(FS, c, r5 + L) : FloatVector.zero(FS);
        for (int p = 0; p < kc; p++) {
            int a = ao + p * 6;
            FloatVector b0 = FloatVector.fromArray(FS, bp, bo + p * NR);
            FloatVector b1 = FloatVector.fromArray(FS, bp, bo + p * NR + L);
            FloatVector a0 = FloatVector.broadcast(FS, ap[a]);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(FS, ap[a + 1]);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(FS, ap[a + 2]);
            c20 = a2.fma(b0, c20);
            c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(FS, ap[a + 3]);
            c30 = a3.fma(b0, c30);
            c31 = a3.fma(b1, c31);
            FloatVector a4 = FloatVector.broadcast(FS, ap[a + 4]);
            c40 = a4.fma(b0, c40);
            c41 = a4.fma(b1, c41);
            FloatVector a5 = FloatVector.broadcast(FS, ap[a + 5]);
            c50 = a5.fma(b0, c50);
            c51 = a5.fma(b1, c51);
        }
        c00.intoArray(c, r0);
        c01.intoArray(c, r0 + L);
        c10.intoArray(c, r1);
        c11.intoArray(c, r1 + L);
        c20.intoArray(c, r2);
        c21.intoArray(c, r2 + L);
        c30.intoArray(c, r3);
        c31.intoArray(c, r3 + L);
        c40.intoArray(c, r4);
        c41.intoArray(c, r4 + L);
        c50.intoArray(c, r5);
        c51.intoArray(c, r5 + L);
    }

    /** Validates the dimensions and views of a multiply (shared with {@link ScalarGemm}). */
    static void check(int m, int n, int k, Mat a, Operand b, Mat c) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("gemm: negative dimension (m " + m + ", n " + n + ", k " + k + ")");
        }
        Objects.requireNonNull(b, "B");
        checkMat("A", a, m, k);
        if (b instanceof Mat bm) {
            checkMat("B", bm, k, n);
        } else {
            Weight w = (Weight) b;
            int rows = w.trans() ? n : k;
            int cols = w.trans() ? k : n;
            if (w.w().cols() != cols || w.w().numel() != (long) rows * cols) {
                throw new IllegalArgumentException("gemm: B = " + (w.trans() ? "W^T" : "W") + " needs W = [" + rows
                        + ", " + cols + "], got " + w.w().describe());
            }
        }
        if (c.trans()) {
            throw new IllegalArgumentException("gemm: C cannot be transposed");
        }
        checkMat("C", c, m, n);
    }

    // op(x) is rows × cols: the stored matrix is rows × cols, or cols × rows when transposed
    private static void checkMat(String name, Mat x, int rows, int cols) {
        Objects.requireNonNull(x, name);
        int sr = x.trans() ? cols : rows;
        int sc = x.trans() ? rows : cols;
        if (sr == 0 || sc == 0) {
            return;
        }
        if (sr > 1 && x.ld() < sc) {
            throw new IllegalArgumentException("gemm: " + name + " has leading dimension " + x.ld()
                    + ", shorter than its rows of " + sc);
        }
        long end = x.off() + (long) (sr - 1) * x.ld() + sc;
        if (end > x.data().length) {
            throw new IllegalArgumentException("gemm: " + name + " [" + sr + ", " + sc + "] at offset " + x.off()
                    + " with leading dimension " + x.ld() + " needs " + end + " floats, the array has "
                    + x.data().length);
        }
    }

    private static float[] take(ConcurrentLinkedQueue<float[]> pool, int size) {
        float[] buf = pool.poll();
        return buf != null && buf.length >= size ? buf : new float[size];
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static int roundUp(int a, int b) {
        return ceilDiv(a, b) * b;
    }
}
