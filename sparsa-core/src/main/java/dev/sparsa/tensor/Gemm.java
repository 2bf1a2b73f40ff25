package dev.sparsa.tensor;

import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
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
 * <p><b>Algorithm</b> (Goto/BLIS). B is packed into panels of {@link #NR} = 2 vectors of columns, k-blocked by
 * {@link #KC}, in column super-blocks of at most {@link #CAP} floats (a weight row is dequantized once per
 * super-block; rows of W^T or of a transposed float B go through 16×16 in-register transposes). Each task packs its
 * rows of A into slivers of {@code MR} rows (12 with 512-bit vectors, 6 with 256-bit; 12×16 in-register transposes
 * when A is not transposed) and loops k blocks, then panels (a KC×NR panel, 32 KiB, stays in L1), then slivers. The
 * micro-kernel keeps an MR×NR tile of C in 2·MR vector registers and does 2·MR FMAs per broadcast element of A and
 * pair of B vectors (24 + 2 + 1 of AVX-512's 32 registers). Tasks (row blocks of at most {@link #MAX_SLIVERS}
 * slivers, {@link #MAX_SLIVERS_T} for a transposed A, × column blocks; about 4 per thread) run through
 * {@link Parallel#forRange}. Packing buffers are pooled in the instance and reused across calls (at most CAP floats
 * of packed B, one MC×KC block of A per running task). An instance is thread-safe; C must not overlap A or B.
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
    /**
     * Most slivers per task for a transposed A (384 rows): its packing reads MC-float pieces of the storage's rows,
     * and a long k (the weight gradient's T) re-streams B per task; both favour taller tasks.
     */
    static final int MAX_SLIVERS_T = 32;
    /** Most floats of packed B held at once (4 MiB); a wider B is done in column super-blocks. */
    static final int CAP = 1 << 20;

    /**
     * Batch from which {@link Kernels#matmul} ({@code Y = X·W^T}) is done here: measured on the dev box (1 thread,
     * W [4096, 4096] F32/BF16/Q8_0 and [768, 256] F32/Q8_0, a fresh engine per call) this is at or above the tiled
     * path from 32 tokens and clearly above from 48 (packing W costs about as much as 16-32 tokens of FMAs).
     */
    static final int MATMUL_MIN_BATCH = 48;

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

    // two-source permutes of round i of a 16×16 transpose: interleave chunks of 2^i lanes from the low (LO) or
    // high (HI) halves of two vectors; only used with 16-lane vectors
    private static final FloatVector[] LO = new FloatVector[4];
    private static final FloatVector[] HI = new FloatVector[4];
    private static final VectorMask<Float> M12 = VectorMask.fromLong(FS, 0xfff);

    static {
        if (L == 16) {
            for (int i = 0; i < 4; i++) {
                float[] lo = new float[16];
                float[] hi = new float[16];
                int c = 1 << i;
                for (int l = 0; l < 16; l++) {
                    lo[l] = (l / c & 1) * 16 + l / (2 * c) * c + l % c;
                    hi[l] = lo[l] + 8;
                }
                LO[i] = FloatVector.fromArray(FS, lo, 0);
                HI[i] = FloatVector.fromArray(FS, hi, 0);
            }
        }
    }

    private final int mr;
    /** 12-row kernel on 16-lane vectors: packing uses the vector transposes; otherwise element by element. */
    private final boolean wide;
    private final ConcurrentLinkedQueue<float[]> aBuffers = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<float[]> bBuffers = new ConcurrentLinkedQueue<>();
    /** Per-task work arrays, reused across calls (a task that throws just leaves its arrays to the GC). */
    private final ConcurrentLinkedQueue<float[]> rowBuffers = new ConcurrentLinkedQueue<>();  // dequantized rows
    private final ConcurrentLinkedQueue<float[]> smallBuffers = new ConcurrentLinkedQueue<>(); // scratch, edge tiles

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
        this.wide = mr == 12 && L == 16;
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
                    Arrays.fill(c.data, c.off + i * c.ld, c.off + i * c.ld + n, 0f);
                }
            }
            return;
        }
        // column super-blocks of whole panels, at most CAP packed floats of B each, as even as possible
        int width = roundUp(ceilDiv(n, ceilDiv(n, Math.max(NR, CAP / k / NR * NR))), NR);
        float[] bp = take(bBuffers, Math.multiplyExact(k, width));
        try {
            for (int j0 = 0; j0 < n; j0 += width) {
                int nsb = Math.min(width, n - j0);
                packB(b, k, j0, nsb, bp, par);
                compute(m, j0, nsb, k, a, bp, c, accumulate, par);
            }
        } finally {
            bBuffers.offer(bp);
        }
    }

    // B[0..k, j0..j0+nsb) packed: k block [pc, pc+kcb) at pc·npad, its panel q at + q·kcb·NR, element (p, jj) at
    // + (p−pc)·NR + jj; columns past the super-block are zero
    private void packB(Operand b, int k, int j0, int nsb, float[] bp, Parallel par) {
        int panels = ceilDiv(nsb, NR);
        int npad = panels * NR;
        Tensor w = b instanceof Weight wt ? wt.w() : null;
        Mat m = b instanceof Mat mt ? mt : null;
        boolean rowsOfB = m != null ? !m.trans() : !((Weight) b).trans();
        if (rowsOfB) {
            // row p of B is contiguous (a row of the float matrix, or row p of W): cut it into the panels
            // a weight row: only the super-block's columns are dequantized (from the block holding j0), not the row
            int bs = w != null ? w.dtype().blockSize() : 1;
            int from0 = j0 / bs * bs;
            int to0 = w != null ? Math.min(w.cols(), ceilDiv(j0 + nsb, bs) * bs) : 0;
            par.forRange(k, 16, (from, to) -> {
                float[] tmp = w != null ? take(rowBuffers, to0 - from0) : null;
                for (int p = from; p < to; p++) {
                    float[] src = tmp;
                    int so = j0 - from0;
                    if (m != null) {
                        src = m.data();
                        so = m.off() + p * m.ld() + j0;
                    } else {
                        Kernels.getRowRange(w, p, from0, to0 - from0, tmp, 0);
                    }
                    int pc = p / KC * KC;
                    int step = Math.min(KC, k - pc) * NR;
                    int dst = pc * npad + (p - pc) * NR;
                    for (int q = 0; q < panels; q++, dst += step) {
                        int len = Math.min(NR, nsb - q * NR);
                        if (len == NR) {
                            FloatVector.fromArray(FS, src, so + q * NR).intoArray(bp, dst);
                            FloatVector.fromArray(FS, src, so + q * NR + L).intoArray(bp, dst + L);
                        } else {
                            System.arraycopy(src, so + q * NR, bp, dst, len);
                            Arrays.fill(bp, dst + len, dst + NR, 0f);
                        }
                    }
                }
                give(rowBuffers, tmp);
            });
            return;
        }
        // column j of B is contiguous (a row of the stored float matrix, or row j of W): transposed into the panel,
        // 16 columns at a time (wide) or one by one
        int group = wide ? 16 : 1;
        par.forRange(panels, 1, (from, to) -> {
            float[] tmp = w != null ? take(rowBuffers, group * k) : null;
            float[] scratch = take(smallBuffers, smallSize());
            for (int q = from; q < to; q++) {
                for (int g = 0; g < NR; g += group) {
                    int j = j0 + q * NR + g; // first column of the group
                    int cols = Math.clamp(j0 + nsb - j, 0, group);
                    float[] x = tmp;
                    int s = 0;
                    int ld = k;
                    if (m != null) {
                        x = m.data();
                        s = m.off() + j * m.ld();
                        ld = m.ld();
                    } else {
                        for (int r = 0; r < cols; r++) {
                            Kernels.getRow(w, j + r, tmp, r * k);
                        }
                    }
                    for (int pc = 0; pc < k; pc += KC) {
                        int kcb = Math.min(KC, k - pc);
                        int dst = pc * npad + q * kcb * NR + g;
                        int kk = 0;
                        if (cols == 16) {
                            for (; kk + 16 <= kcb; kk += 16) {
                                transpose16(x, s + pc + kk, ld, bp, dst + kk * NR, scratch);
                            }
                        }
                        for (int r = 0; r < group; r++) {
                            for (int p = kk; p < kcb; p++) {
                                bp[dst + p * NR + r] = r < cols ? x[s + r * ld + pc + p] : 0f;
                            }
                        }
                    }
                }
            }
            give(rowBuffers, tmp);
            give(smallBuffers, scratch);
        });
    }

    // C[0..m, j0..j0+nsb) from packed B, A packed per task: tasks are row blocks of slivers × column blocks of panels
    private void compute(int m, int j0, int nsb, int k, Mat a, float[] bp, Mat c, boolean accumulate, Parallel par) {
        int slivers = ceilDiv(m, mr);
        int panels = ceilDiv(nsb, NR);
        int npad = panels * NR;
        // enough tasks for dynamic balance (4 per thread), whole row blocks of at most maxSlivers slivers first
        int want = par.threads() == 1 ? 1 : 4 * par.threads();
        int maxSlivers = a.trans() ? MAX_SLIVERS_T : MAX_SLIVERS;
        int perM = ceilDiv(slivers, Math.max(ceilDiv(slivers, maxSlivers), Math.min(slivers, want)));
        int mBlocks = ceilDiv(slivers, perM);
        int perN = ceilDiv(panels, Math.min(panels, ceilDiv(want, mBlocks)));
        int nBlocks = ceilDiv(panels, perN);
        int kc0 = Math.min(KC, k);
        par.forRange(mBlocks * nBlocks, 1, (from, to) -> {
            float[] ap = take(aBuffers, perM * mr * kc0 + L); // + L: transpose12's spill past the last sliver
            float[] tile = take(smallBuffers, smallSize());
            float[] scratch = take(smallBuffers, smallSize());
            try {
                for (int t = from; t < to; t++) {
                    int s0 = t / nBlocks * perM;
                    int s1 = Math.min(slivers, s0 + perM);
                    int q0 = t % nBlocks * perN;
                    int q1 = Math.min(panels, q0 + perN);
                    for (int pc = 0; pc < k; pc += KC) {
                        int kcb = Math.min(KC, k - pc);
                        packA(a, s0 * mr, m, s1 - s0, pc, kcb, ap, scratch);
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
                give(smallBuffers, tile);
                give(smallBuffers, scratch);
            }
        });
    }

    // `count` slivers of op(A) from row `row` (rows at or past `end` are zero) × k [pc, pc+kcb) packed: sliver s at
    // s·kcb·mr, element (ii, p) at + (p−pc)·mr + ii
    private void packA(Mat a, int row, int end, int count, int pc, int kcb, float[] ap, float[] scratch) {
        float[] x = a.data();
        int ld = a.ld();
        if (a.trans()) {
            // A = S^T: column p of A is row p of S, contiguous along i; row p of S feeds every sliver in turn
            for (int kk = 0; kk < kcb; kk++) {
                int src = a.off() + (pc + kk) * ld;
                for (int s = 0; s < count; s++) {
                    int i0 = row + s * mr;
                    int rows = Math.min(mr, end - i0);
                    int dst = s * kcb * mr + kk * mr;
                    if (wide && rows == mr) {
                        FloatVector.fromArray(FS, x, src + i0, M12).intoArray(ap, dst, M12);
                    } else {
                        System.arraycopy(x, src + i0, ap, dst, rows);
                        Arrays.fill(ap, dst + rows, dst + mr, 0f);
                    }
                }
            }
            return;
        }
        // row i of A is contiguous along k: transposed into the sliver, 12 rows × 16 k at a time (wide)
        for (int s = 0; s < count; s++) {
            int i0 = row + s * mr;
            int rows = Math.min(mr, end - i0);
            int dst = s * kcb * mr;
            int src = a.off() + i0 * ld + pc;
            int kk = 0;
            if (wide && rows == mr) {
                for (; kk + 16 <= kcb; kk += 16) {
                    transpose12(x, src + kk, ld, ap, dst + kk * mr, scratch);
                }
            }
            for (int ii = 0; ii < mr; ii++) {
                for (int p = kk; p < kcb; p++) {
                    ap[dst + p * mr + ii] = ii < rows ? x[src + ii * ld + p] : 0f;
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

    // ---------------------------------------------------------------- transposes for packing (512-bit vectors)

    // ap[d + kk·12 + r] = x[s + r·ld + kk] for r < 12, kk < 16: a 16×16 transpose as four rounds of two-source
    // permutes (round i interleaves chunks of 2^i lanes of two vectors; lanes of rows 12..15 are never formed).
    // Each output is stored whole, in ascending kk: its 4 junk lanes land on the next output's slot (overwritten
    // next) or, for kk = 15, on the 4 floats after this block (written later by the packer, or slack). Two methods
    // through tmp (256 floats): as one method it is too large for C1's register allocator, and a method whose
    // tier-3 compile fails never reaches C2, i.e. runs without the Vector API intrinsics, 30x slower
    private static void transpose12(float[] x, int s, int ld, float[] ap, int d, float[] tmp) {
        transpose12a(x, s, ld, tmp);
        transpose12b(tmp, ap, d);
    }

    // rounds 1 and 2 of transpose12: rows → tmp
    private static void transpose12a(float[] x, int s, int ld, float[] tmp) {
        FloatVector v0 = FloatVector.fromArray(FS, x, s);
        FloatVector v1 = FloatVector.fromArray(FS, x, s + 1 * ld);
        FloatVector v2 = FloatVector.fromArray(FS, x, s + 2 * ld);
        FloatVector v3 = FloatVector.fromArray(FS, x, s + 3 * ld);
        FloatVector v4 = FloatVector.fromArray(FS, x, s + 4 * ld);
        FloatVector v5 = FloatVector.fromArray(FS, x, s + 5 * ld);
        FloatVector v6 = FloatVector.fromArray(FS, x, s + 6 * ld);
        FloatVector v7 = FloatVector.fromArray(FS, x, s + 7 * ld);
        FloatVector v8 = FloatVector.fromArray(FS, x, s + 8 * ld);
        FloatVector v9 = FloatVector.fromArray(FS, x, s + 9 * ld);
        FloatVector v10 = FloatVector.fromArray(FS, x, s + 10 * ld);
        FloatVector v11 = FloatVector.fromArray(FS, x, s + 11 * ld);
        FloatVector t0 = LO[0].selectFrom(v0, v1);
        FloatVector t1 = HI[0].selectFrom(v0, v1);
        FloatVector t2 = LO[0].selectFrom(v2, v3);
        FloatVector t3 = HI[0].selectFrom(v2, v3);
        FloatVector t4 = LO[0].selectFrom(v4, v5);
        FloatVector t5 = HI[0].selectFrom(v4, v5);
        FloatVector t6 = LO[0].selectFrom(v6, v7);
        FloatVector t7 = HI[0].selectFrom(v6, v7);
        FloatVector t8 = LO[0].selectFrom(v8, v9);
        FloatVector t9 = HI[0].selectFrom(v8, v9);
        FloatVector t10 = LO[0].selectFrom(v10, v11);
        FloatVector t11 = HI[0].selectFrom(v10, v11);
        FloatVector t12 = LO[1].selectFrom(t0, t2);
        FloatVector t13 = HI[1].selectFrom(t0, t2);
        FloatVector t14 = LO[1].selectFrom(t4, t6);
        FloatVector t15 = HI[1].selectFrom(t4, t6);
        FloatVector t16 = LO[1].selectFrom(t8, t10);
        FloatVector t17 = HI[1].selectFrom(t8, t10);
        FloatVector t18 = LO[1].selectFrom(t1, t3);
        FloatVector t19 = HI[1].selectFrom(t1, t3);
        FloatVector t20 = LO[1].selectFrom(t5, t7);
        FloatVector t21 = HI[1].selectFrom(t5, t7);
        FloatVector t22 = LO[1].selectFrom(t9, t11);
        FloatVector t23 = HI[1].selectFrom(t9, t11);
        t12.intoArray(tmp, 0);
        t13.intoArray(tmp, 16);
        t14.intoArray(tmp, 32);
        t15.intoArray(tmp, 48);
        t16.intoArray(tmp, 64);
        t17.intoArray(tmp, 80);
        t18.intoArray(tmp, 96);
        t19.intoArray(tmp, 112);
        t20.intoArray(tmp, 128);
        t21.intoArray(tmp, 144);
        t22.intoArray(tmp, 160);
        t23.intoArray(tmp, 176);
    }

    // rounds 3 and 4 of transpose12: tmp → ap
    private static void transpose12b(float[] tmp, float[] ap, int d) {
        FloatVector t12 = FloatVector.fromArray(FS, tmp, 0);
        FloatVector t13 = FloatVector.fromArray(FS, tmp, 16);
        FloatVector t14 = FloatVector.fromArray(FS, tmp, 32);
        FloatVector t15 = FloatVector.fromArray(FS, tmp, 48);
        FloatVector t16 = FloatVector.fromArray(FS, tmp, 64);
        FloatVector t17 = FloatVector.fromArray(FS, tmp, 80);
        FloatVector t18 = FloatVector.fromArray(FS, tmp, 96);
        FloatVector t19 = FloatVector.fromArray(FS, tmp, 112);
        FloatVector t20 = FloatVector.fromArray(FS, tmp, 128);
        FloatVector t21 = FloatVector.fromArray(FS, tmp, 144);
        FloatVector t22 = FloatVector.fromArray(FS, tmp, 160);
        FloatVector t23 = FloatVector.fromArray(FS, tmp, 176);
        FloatVector t24 = LO[2].selectFrom(t12, t14);
        FloatVector t25 = HI[2].selectFrom(t12, t14);
        FloatVector t26 = LO[2].selectFrom(t16, t16);
        FloatVector t27 = HI[2].selectFrom(t16, t16);
        FloatVector t28 = LO[2].selectFrom(t13, t15);
        FloatVector t29 = HI[2].selectFrom(t13, t15);
        FloatVector t30 = LO[2].selectFrom(t17, t17);
        FloatVector t31 = HI[2].selectFrom(t17, t17);
        FloatVector t32 = LO[2].selectFrom(t18, t20);
        FloatVector t33 = HI[2].selectFrom(t18, t20);
        FloatVector t34 = LO[2].selectFrom(t22, t22);
        FloatVector t35 = HI[2].selectFrom(t22, t22);
        FloatVector t36 = LO[2].selectFrom(t19, t21);
        FloatVector t37 = HI[2].selectFrom(t19, t21);
        FloatVector t38 = LO[2].selectFrom(t23, t23);
        FloatVector t39 = HI[2].selectFrom(t23, t23);
        FloatVector t40 = LO[3].selectFrom(t24, t26);
        FloatVector t41 = HI[3].selectFrom(t24, t26);
        FloatVector t42 = LO[3].selectFrom(t25, t27);
        FloatVector t43 = HI[3].selectFrom(t25, t27);
        FloatVector t44 = LO[3].selectFrom(t28, t30);
        FloatVector t45 = HI[3].selectFrom(t28, t30);
        FloatVector t46 = LO[3].selectFrom(t29, t31);
        FloatVector t47 = HI[3].selectFrom(t29, t31);
        FloatVector t48 = LO[3].selectFrom(t32, t34);
        FloatVector t49 = HI[3].selectFrom(t32, t34);
        FloatVector t50 = LO[3].selectFrom(t33, t35);
        FloatVector t51 = HI[3].selectFrom(t33, t35);
        FloatVector t52 = LO[3].selectFrom(t36, t38);
        FloatVector t53 = HI[3].selectFrom(t36, t38);
        FloatVector t54 = LO[3].selectFrom(t37, t39);
        FloatVector t55 = HI[3].selectFrom(t37, t39);
        t40.intoArray(ap, d);
        t41.intoArray(ap, d + 12);
        t42.intoArray(ap, d + 24);
        t43.intoArray(ap, d + 36);
        t44.intoArray(ap, d + 48);
        t45.intoArray(ap, d + 60);
        t46.intoArray(ap, d + 72);
        t47.intoArray(ap, d + 84);
        t48.intoArray(ap, d + 96);
        t49.intoArray(ap, d + 108);
        t50.intoArray(ap, d + 120);
        t51.intoArray(ap, d + 132);
        t52.intoArray(ap, d + 144);
        t53.intoArray(ap, d + 156);
        t54.intoArray(ap, d + 168);
        t55.intoArray(ap, d + 180);
    }

    // bp[d + kk·NR + r] = x[s + r·ld + kk] for r, kk < 16: the same transpose, 16 rows
    private static void transpose16(float[] x, int s, int ld, float[] bp, int d, float[] tmp) {
        transpose16a(x, s, ld, tmp);
        transpose16b(tmp, bp, d);
    }

    // rounds 1 and 2 of transpose16: rows → tmp
    private static void transpose16a(float[] x, int s, int ld, float[] tmp) {
        FloatVector v0 = FloatVector.fromArray(FS, x, s);
        FloatVector v1 = FloatVector.fromArray(FS, x, s + 1 * ld);
        FloatVector v2 = FloatVector.fromArray(FS, x, s + 2 * ld);
        FloatVector v3 = FloatVector.fromArray(FS, x, s + 3 * ld);
        FloatVector v4 = FloatVector.fromArray(FS, x, s + 4 * ld);
        FloatVector v5 = FloatVector.fromArray(FS, x, s + 5 * ld);
        FloatVector v6 = FloatVector.fromArray(FS, x, s + 6 * ld);
        FloatVector v7 = FloatVector.fromArray(FS, x, s + 7 * ld);
        FloatVector v8 = FloatVector.fromArray(FS, x, s + 8 * ld);
        FloatVector v9 = FloatVector.fromArray(FS, x, s + 9 * ld);
        FloatVector v10 = FloatVector.fromArray(FS, x, s + 10 * ld);
        FloatVector v11 = FloatVector.fromArray(FS, x, s + 11 * ld);
        FloatVector v12 = FloatVector.fromArray(FS, x, s + 12 * ld);
        FloatVector v13 = FloatVector.fromArray(FS, x, s + 13 * ld);
        FloatVector v14 = FloatVector.fromArray(FS, x, s + 14 * ld);
        FloatVector v15 = FloatVector.fromArray(FS, x, s + 15 * ld);
        FloatVector t0 = LO[0].selectFrom(v0, v1);
        FloatVector t1 = HI[0].selectFrom(v0, v1);
        FloatVector t2 = LO[0].selectFrom(v2, v3);
        FloatVector t3 = HI[0].selectFrom(v2, v3);
        FloatVector t4 = LO[0].selectFrom(v4, v5);
        FloatVector t5 = HI[0].selectFrom(v4, v5);
        FloatVector t6 = LO[0].selectFrom(v6, v7);
        FloatVector t7 = HI[0].selectFrom(v6, v7);
        FloatVector t8 = LO[0].selectFrom(v8, v9);
        FloatVector t9 = HI[0].selectFrom(v8, v9);
        FloatVector t10 = LO[0].selectFrom(v10, v11);
        FloatVector t11 = HI[0].selectFrom(v10, v11);
        FloatVector t12 = LO[0].selectFrom(v12, v13);
        FloatVector t13 = HI[0].selectFrom(v12, v13);
        FloatVector t14 = LO[0].selectFrom(v14, v15);
        FloatVector t15 = HI[0].selectFrom(v14, v15);
        FloatVector t16 = LO[1].selectFrom(t0, t2);
        FloatVector t17 = HI[1].selectFrom(t0, t2);
        FloatVector t18 = LO[1].selectFrom(t4, t6);
        FloatVector t19 = HI[1].selectFrom(t4, t6);
        FloatVector t20 = LO[1].selectFrom(t8, t10);
        FloatVector t21 = HI[1].selectFrom(t8, t10);
        FloatVector t22 = LO[1].selectFrom(t12, t14);
        FloatVector t23 = HI[1].selectFrom(t12, t14);
        FloatVector t24 = LO[1].selectFrom(t1, t3);
        FloatVector t25 = HI[1].selectFrom(t1, t3);
        FloatVector t26 = LO[1].selectFrom(t5, t7);
        FloatVector t27 = HI[1].selectFrom(t5, t7);
        FloatVector t28 = LO[1].selectFrom(t9, t11);
        FloatVector t29 = HI[1].selectFrom(t9, t11);
        FloatVector t30 = LO[1].selectFrom(t13, t15);
        FloatVector t31 = HI[1].selectFrom(t13, t15);
        t16.intoArray(tmp, 0);
        t17.intoArray(tmp, 16);
        t18.intoArray(tmp, 32);
        t19.intoArray(tmp, 48);
        t20.intoArray(tmp, 64);
        t21.intoArray(tmp, 80);
        t22.intoArray(tmp, 96);
        t23.intoArray(tmp, 112);
        t24.intoArray(tmp, 128);
        t25.intoArray(tmp, 144);
        t26.intoArray(tmp, 160);
        t27.intoArray(tmp, 176);
        t28.intoArray(tmp, 192);
        t29.intoArray(tmp, 208);
        t30.intoArray(tmp, 224);
        t31.intoArray(tmp, 240);
    }

    // rounds 3 and 4 of transpose16: tmp → bp
    private static void transpose16b(float[] tmp, float[] bp, int d) {
        FloatVector t16 = FloatVector.fromArray(FS, tmp, 0);
        FloatVector t17 = FloatVector.fromArray(FS, tmp, 16);
        FloatVector t18 = FloatVector.fromArray(FS, tmp, 32);
        FloatVector t19 = FloatVector.fromArray(FS, tmp, 48);
        FloatVector t20 = FloatVector.fromArray(FS, tmp, 64);
        FloatVector t21 = FloatVector.fromArray(FS, tmp, 80);
        FloatVector t22 = FloatVector.fromArray(FS, tmp, 96);
        FloatVector t23 = FloatVector.fromArray(FS, tmp, 112);
        FloatVector t24 = FloatVector.fromArray(FS, tmp, 128);
        FloatVector t25 = FloatVector.fromArray(FS, tmp, 144);
        FloatVector t26 = FloatVector.fromArray(FS, tmp, 160);
        FloatVector t27 = FloatVector.fromArray(FS, tmp, 176);
        FloatVector t28 = FloatVector.fromArray(FS, tmp, 192);
        FloatVector t29 = FloatVector.fromArray(FS, tmp, 208);
        FloatVector t30 = FloatVector.fromArray(FS, tmp, 224);
        FloatVector t31 = FloatVector.fromArray(FS, tmp, 240);
        FloatVector t32 = LO[2].selectFrom(t16, t18);
        FloatVector t33 = HI[2].selectFrom(t16, t18);
        FloatVector t34 = LO[2].selectFrom(t20, t22);
        FloatVector t35 = HI[2].selectFrom(t20, t22);
        FloatVector t36 = LO[2].selectFrom(t17, t19);
        FloatVector t37 = HI[2].selectFrom(t17, t19);
        FloatVector t38 = LO[2].selectFrom(t21, t23);
        FloatVector t39 = HI[2].selectFrom(t21, t23);
        FloatVector t40 = LO[2].selectFrom(t24, t26);
        FloatVector t41 = HI[2].selectFrom(t24, t26);
        FloatVector t42 = LO[2].selectFrom(t28, t30);
        FloatVector t43 = HI[2].selectFrom(t28, t30);
        FloatVector t44 = LO[2].selectFrom(t25, t27);
        FloatVector t45 = HI[2].selectFrom(t25, t27);
        FloatVector t46 = LO[2].selectFrom(t29, t31);
        FloatVector t47 = HI[2].selectFrom(t29, t31);
        FloatVector t48 = LO[3].selectFrom(t32, t34);
        FloatVector t49 = HI[3].selectFrom(t32, t34);
        FloatVector t50 = LO[3].selectFrom(t33, t35);
        FloatVector t51 = HI[3].selectFrom(t33, t35);
        FloatVector t52 = LO[3].selectFrom(t36, t38);
        FloatVector t53 = HI[3].selectFrom(t36, t38);
        FloatVector t54 = LO[3].selectFrom(t37, t39);
        FloatVector t55 = HI[3].selectFrom(t37, t39);
        FloatVector t56 = LO[3].selectFrom(t40, t42);
        FloatVector t57 = HI[3].selectFrom(t40, t42);
        FloatVector t58 = LO[3].selectFrom(t41, t43);
        FloatVector t59 = HI[3].selectFrom(t41, t43);
        FloatVector t60 = LO[3].selectFrom(t44, t46);
        FloatVector t61 = HI[3].selectFrom(t44, t46);
        FloatVector t62 = LO[3].selectFrom(t45, t47);
        FloatVector t63 = HI[3].selectFrom(t45, t47);
        t48.intoArray(bp, d);
        t49.intoArray(bp, d + NR);
        t50.intoArray(bp, d + 2 * NR);
        t51.intoArray(bp, d + 3 * NR);
        t52.intoArray(bp, d + 4 * NR);
        t53.intoArray(bp, d + 5 * NR);
        t54.intoArray(bp, d + 6 * NR);
        t55.intoArray(bp, d + 7 * NR);
        t56.intoArray(bp, d + 8 * NR);
        t57.intoArray(bp, d + 9 * NR);
        t58.intoArray(bp, d + 10 * NR);
        t59.intoArray(bp, d + 11 * NR);
        t60.intoArray(bp, d + 12 * NR);
        t61.intoArray(bp, d + 13 * NR);
        t62.intoArray(bp, d + 14 * NR);
        t63.intoArray(bp, d + 15 * NR);
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

    /** One size for every small work array (transpose scratch, edge tile), so the pool never drops a short one. */
    private int smallSize() {
        return Math.max(mr * NR, 16 * 16);
    }

    private static void give(ConcurrentLinkedQueue<float[]> pool, float[] buf) {
        if (buf != null) {
            pool.offer(buf);
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
