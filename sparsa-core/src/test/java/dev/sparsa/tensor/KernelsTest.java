package dev.sparsa.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every weight-side kernel of {@link Kernels} against {@link ScalarKernels}, every dtype, odd sizes, 1 vs 2 (vs 3)
 * threads ({@link VectorOpsTest} has the activation-vector kernels).
 */
class KernelsTest {
    static final int[] FLOAT_COLS = {1, 7, 15, 16, 17, 31, 33, 64, 100, 257, 1029};
    static final int[] QUANT_COLS = {32, 64, 96, 288, 1024};
    static final int[] ROWS = {1, 5, 37, 131};

    static Parallel one;
    static Parallel two;
    static Parallel three;
    static Arena arena;

    @BeforeAll
    static void pools() {
        one = Parallel.serial();
        two = new Parallel(2);
        three = new Parallel(3);
        arena = Arena.ofShared();
    }

    @AfterAll
    static void close() {
        one.close();
        two.close();
        three.close();
        arena.close();
    }

    static float[] randoms(Random rnd, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextGaussian() * scale;
        }
        return a;
    }

    /** An off-heap tensor of {@code type} holding {@code values} quantized with {@link Quant}. */
    static Tensor tensor(DType type, float[] values, int rows, int cols) {
        MemorySegment seg = arena.allocate(type.bytesFor((long) rows * cols), 64);
        long rb = type.bytesFor(cols);
        for (int r = 0; r < rows; r++) {
            Quant.quantize(type, values, r * cols, cols, seg, r * rb);
        }
        return new Tensor("w", type, new int[] {rows, cols}, seg);
    }

    static int[] cols(DType t) {
        return t.quantized() ? QUANT_COLS : FLOAT_COLS;
    }

    /** |a − b| ≤ 2e-5 · Σ|w·x| + 1e-6: float rounding of a reordered sum, far below any indexing mistake. */
    static void assertClose(float got, float want, double absSum, String what) {
        double tol = 2e-5 * absSum + 1e-6;
        assertThat((double) Math.abs(got - want)).as(what + ": got " + got + " want " + want).isLessThanOrEqualTo(tol);
    }

    static double absDot(Tensor w, int row, float[] x, int xOff) {
        float[] wr = new float[w.cols()];
        ScalarKernels.getRow(w, row, wr, 0);
        double s = 0;
        for (int i = 0; i < wr.length; i++) {
            s += Math.abs((double) wr[i] * x[xOff + i]);
        }
        return s;
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void dotRowAndMatvecMatchScalar(DType type) {
        Random rnd = new Random(1 + type.ordinal());
        for (int cols : cols(type)) {
            for (int rows : ROWS) {
                Tensor w = tensor(type, randoms(rnd, rows * cols, 0.1f), rows, cols);
                float[] x = randoms(rnd, cols, 1f);
                float[] y1 = new float[rows];
                float[] y2 = new float[rows];
                float[] y3 = new float[rows];
                Kernels.matvec(w, x, y1, one);
                Kernels.matvec(w, x, y2, two);
                Kernels.matvec(w, x, y3, three);
                assertThat(y2).as("1 vs 2 threads").isEqualTo(y1);
                assertThat(y3).as("1 vs 3 threads").isEqualTo(y1);
                for (int r = 0; r < rows; r++) {
                    float want = ScalarKernels.dotRow(w, r, x, 0);
                    assertClose(y1[r], want, absDot(w, r, x, 0), type + " " + rows + "x" + cols + " row " + r);
                    assertThat(Kernels.dotRow(w, r, x, 0)).isEqualTo(y1[r]);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void dotRowWithOffset(DType type) {
        Random rnd = new Random(7);
        int cols = type.quantized() ? 96 : 37;
        Tensor w = tensor(type, randoms(rnd, 3 * cols, 1f), 3, cols);
        float[] x = randoms(rnd, cols + 13, 1f);
        for (int r = 0; r < 3; r++) {
            assertClose(Kernels.dotRow(w, r, x, 13), ScalarKernels.dotRow(w, r, x, 13), absDot(w, r, x, 13), "offset");
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void matmulMatchesScalarForAllBatchShapes(DType type) {
        Random rnd = new Random(11 + type.ordinal());
        int[] batches = {1, 2, 3, 4, 5, 8, 9, 33, 37, 70};
        for (int cols : type.quantized() ? new int[] {32, 96} : new int[] {1, 17, 40}) {
            for (int rows : new int[] {1, 6, 9}) {
                Tensor w = tensor(type, randoms(rnd, rows * cols, 0.2f), rows, cols);
                for (int batch : batches) {
                    float[] x = randoms(rnd, batch * cols, 1f);
                    float[] y1 = new float[batch * rows];
                    float[] y2 = new float[batch * rows];
                    Kernels.matmul(w, x, batch, y1, one);
                    Kernels.matmul(w, x, batch, y2, two);
                    assertThat(y2).as("threads").isEqualTo(y1);
                    float[] want = new float[batch * rows];
                    ScalarKernels.matmul(w, x, batch, want, one);
                    for (int b = 0; b < batch; b++) {
                        for (int r = 0; r < rows; r++) {
                            assertClose(y1[b * rows + r], want[b * rows + r], absDot(w, r, x, b * cols),
                                    type + " batch " + batch + " " + rows + "x" + cols + " b" + b + " r" + r);
                        }
                    }
                }
            }
        }
    }

    @Test
    void matmulLargeTileMatchesMatvec() {
        Random rnd = new Random(5);
        int rows = 67;
        int cols = 300;
        int batch = 41;
        Tensor w = tensor(DType.BF16, randoms(rnd, rows * cols, 0.1f), rows, cols);
        float[] x = randoms(rnd, batch * cols, 1f);
        float[] y = new float[batch * rows];
        Kernels.matmul(w, x, batch, y, two);
        float[] yv = new float[rows];
        for (int b = 0; b < batch; b++) {
            Kernels.matvec(w, Arrays.copyOfRange(x, b * cols, (b + 1) * cols), yv, one);
            for (int r = 0; r < rows; r++) {
                assertClose(y[b * rows + r], yv[r], absDot(w, r, x, b * cols), "b" + b + " r" + r);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void getRowIsBitExact(DType type) {
        Random rnd = new Random(3);
        for (int cols : cols(type)) {
            Tensor w = tensor(type, randoms(rnd, 4 * cols, 3f), 4, cols);
            for (int r = 0; r < 4; r++) {
                float[] got = new float[cols + 5];
                float[] want = new float[cols + 5];
                Kernels.getRow(w, r, got, 5);
                ScalarKernels.getRow(w, r, want, 5);
                assertThat(got).isEqualTo(want);
            }
            assertThat(Kernels.toFloats(w)).isEqualTo(ScalarKernels.toFloats(w));
        }
    }

    @Test
    void f16SpecialValuesDecodeExactly() {
        // every one of the 65536 half-precision bit patterns, through the vector path and the tail
        int n = 65536 + 3;
        MemorySegment seg = arena.allocate(2L * n, 64);
        for (int i = 0; i < n; i++) {
            seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i, (short) i);
        }
        Tensor w = new Tensor("h", DType.F16, new int[] {n}, seg);
        float[] got = new float[n];
        Kernels.getRow(w, 0, got, 0);
        for (int i = 0; i < n; i++) {
            float want = Float.float16ToFloat((short) i);
            if (Float.isNaN(want)) {
                assertThat(got[i]).as("bits %04x", i & 0xffff).isNaN();
            } else {
                assertThat(Float.floatToRawIntBits(got[i])).as("bits %04x", i & 0xffff)
                        .isEqualTo(Float.floatToRawIntBits(want));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void axpyRowIsExactFmaAndDoesNotAllocate(DType type) {
        Random rnd = new Random(9);
        for (int cols : cols(type)) {
            Tensor w = tensor(type, randoms(rnd, 3 * cols, 1f), 3, cols);
            float[] y = randoms(rnd, cols, 1f);
            float[] want = y.clone();
            Kernels.axpyRow(w, 2, 0.37f, y);
            ScalarKernels.axpyRows(w, new int[] {2}, new float[] {0.37f}, 1, want);
            assertThat(y).isEqualTo(want);
        }
        Tensor w = tensor(type, randoms(rnd, 2 * 4096, 1f), 2, 4096);
        float[] y = new float[4096];
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean)
                java.lang.management.ManagementFactory.getThreadMXBean();
        long bytes = Long.MAX_VALUE;
        for (int attempt = 0; attempt < 10 && bytes > 0; attempt++) { // JIT compilation time varies: retry
            for (int i = 0; i < 20_000; i++) {
                Kernels.axpyRow(w, i & 1, 1e-3f, y);
            }
            long before = mx.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 1000; i++) {
                Kernels.axpyRow(w, i & 1, 1e-3f, y);
            }
            bytes = mx.getCurrentThreadAllocatedBytes() - before;
        }
        assertThat(bytes).as("bytes allocated by 1000 compiled axpyRow calls").isLessThan(1000L * 16);
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void axpyRowsIsBitIdenticalToScalarForAnyThreadCount(DType type) {
        Random rnd = new Random(13);
        for (int cols : type.quantized() ? new int[] {32, 96, 1024, 4096} : new int[] {1, 17, 100, 1029, 4099}) {
            int rows = 50;
            Tensor w = tensor(type, randoms(rnd, rows * cols, 1f), rows, cols);
            int[] idx = {49, 3, 7, 7, 0, 22, 31, 48, 10, 11, 12};
            float[] coef = randoms(rnd, idx.length, 1f);
            float[] y0 = randoms(rnd, cols, 1f);
            float[] want = y0.clone();
            ScalarKernels.axpyRows(w, idx, coef, idx.length - 1, want);
            for (Parallel p : new Parallel[] {one, two, three}) {
                float[] y = y0.clone();
                Kernels.axpyRows(w, idx, coef, idx.length - 1, y, p);
                assertThat(y).as(type + " cols " + cols + " threads " + p.threads()).isEqualTo(want);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void axpyRowsSlicedIsTheSumWithinRoundingAndTheSameBitsForAnyThreadCount(DType type) {
        Random rnd = new Random(14);
        for (int cols : type.quantized() ? new int[] {32, 96, 1024} : new int[] {1, 17, 100, 1029}) {
            int rows = 50;
            Tensor w = tensor(type, randoms(rnd, rows * cols, 1f), rows, cols);
            // ascending, with ranges of 8 slices that get none (0..5), one, several (a group of 4 and a tail)
            int[] idx = {7, 8, 9, 10, 11, 19, 31, 32, 33, 40, 48, 49};
            float[] coef = randoms(rnd, idx.length, 1f);
            double[] exact = new double[cols];
            float[] row = new float[cols];
            for (int k = 0; k < idx.length; k++) {
                Kernels.getRow(w, idx[k], row, 0);
                for (int c = 0; c < cols; c++) {
                    exact[c] += (double) coef[k] * row[c];
                }
            }
            float[] first = null;
            for (Parallel p : new Parallel[] {one, two, three}) {
                float[] y = randoms(rnd, cols, 1f);                   // overwritten
                Kernels.axpyRowsSliced(w, idx, coef, idx.length, new float[8][cols], y, p);
                for (int c = 0; c < cols; c++) {
                    assertThat((double) y[c]).as(type + " cols " + cols + " col " + c).isCloseTo(exact[c],
                            within(1e-4 * (1 + Math.abs(exact[c]))));
                }
                if (first == null) {
                    first = y;
                } else {
                    assertThat(y).as(type + " threads " + p.threads()).isEqualTo(first);
                }
            }
            float[] none = randoms(rnd, cols, 1f);
            Kernels.axpyRowsSliced(w, idx, coef, 0, new float[8][cols], none, two);
            assertThat(none).as("no rows: zero").containsOnly(0f);
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void matvecRowsTouchesOnlyListedRows(DType type) {
        Random rnd = new Random(17);
        int cols = type.quantized() ? 128 : 77;
        int rows = 200;
        Tensor w = tensor(type, randoms(rnd, rows * cols, 0.1f), rows, cols);
        float[] x = randoms(rnd, cols, 1f);
        int[] idx = new int[40];
        for (int k = 0; k < idx.length; k++) {
            idx[k] = (k * 37 + 5) % rows;
        }
        for (Parallel p : new Parallel[] {one, two}) {
            float[] y = new float[rows];
            Arrays.fill(y, Float.NaN);
            Kernels.matvecRows(w, idx, 30, x, y, p);
            boolean[] listed = new boolean[rows];
            for (int k = 0; k < 30; k++) {
                listed[idx[k]] = true;
            }
            for (int r = 0; r < rows; r++) {
                if (listed[r]) {
                    assertThat(y[r]).isEqualTo(Kernels.dotRow(w, r, x, 0));
                    assertClose(y[r], ScalarKernels.dotRow(w, r, x, 0), absDot(w, r, x, 0), "row " + r);
                } else {
                    assertThat(y[r]).as("row %d not listed", r).isNaN();
                }
            }
        }
        assertThatThrownBy(() -> Kernels.matvecRows(w, new int[] {rows}, 1, x, new float[rows], one))
                .isInstanceOf(IndexOutOfBoundsException.class);
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void transposeToEveryDtype(DType out) {
        Random rnd = new Random(19);
        for (DType in : DType.values()) {
            int rows = 64;
            int cols = in.quantized() ? 96 : 45;
            Tensor w = tensor(in, randoms(rnd, rows * cols, 1f), rows, cols);
            Tensor t = Kernels.transpose(w, out, arena);
            assertThat(t.shape()).containsExactly(cols, rows);
            assertThat(t.dtype()).isEqualTo(out);
            float[] tf = ScalarKernels.transposeFloats(w);
            Tensor want = tensor(out, tf, cols, rows);
            assertThat(t.data().mismatch(want.data())).as(in + " -> " + out).isEqualTo(-1L);
        }
        Tensor odd = tensor(DType.F32, randoms(rnd, 33 * 4, 1f), 33, 4);
        if (out.quantized()) {
            assertThatThrownBy(() -> Kernels.transpose(odd, out, arena)).isInstanceOf(IllegalArgumentException.class);
        } else {
            assertThat(Kernels.toFloats(Kernels.transpose(odd, out, arena)))
                    .isEqualTo(Kernels.toFloats(tensor(out, ScalarKernels.transposeFloats(odd), 4, 33)));
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void columnNormsAreTheL2NormsOfTheDequantizedColumns(DType type) {
        Random rnd = new Random(41);
        int rows = 37;
        int cols = type.quantized() ? 96 : 45;
        Tensor w = tensor(type, randoms(rnd, rows * cols, 1f), rows, cols);
        float[] all = ScalarKernels.toFloats(w);
        float[] got = Kernels.columnNorms(w);
        assertThat(got).hasSize(cols);
        for (int j = 0; j < cols; j++) {
            double ss = 0;
            for (int r = 0; r < rows; r++) {
                ss += (double) all[r * cols + j] * all[r * cols + j];
            }
            assertThat(got[j]).as("%s column %d", type, j).isEqualTo((float) Math.sqrt(ss));
        }
    }

    /**
     * {@link Kernels#convert}: each row quantized by {@link Quant} from the source's dequantized row, so converting
     * F32 → Q8_0 gives the bytes of quantizing the rows one by one, Q8_0 → F32 gives the dequantized values, and a
     * Q8_0 → BF16 → ... chain keeps the shape; a row that is not whole blocks is refused.
     */
    @Test
    void convertQuantizesEachRowFromItsDequantizedValues() {
        Random rnd = new Random(71);
        int rows = 5;
        int cols = 64;
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        Tensor f32 = Tensor.f32("w", v, rows, cols);
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Kernels.convert(f32, DType.Q8_0, arena);
            assertThat(q.dtype()).isEqualTo(DType.Q8_0);
            assertThat(q.shape()).containsExactly(rows, cols);
            MemorySegment want = arena.allocate(DType.Q8_0.bytesFor((long) rows * cols));
            for (int r = 0; r < rows; r++) {
                Quant.quantizeQ8_0(v, r * cols, cols, want, r * DType.Q8_0.bytesFor(cols));
            }
            assertThat(q.data().toArray(ValueLayout.JAVA_BYTE)).isEqualTo(want.toArray(ValueLayout.JAVA_BYTE));
            float[] deq = Kernels.toFloats(q);
            Tensor back = Kernels.convert(q, DType.F32, arena);
            assertThat(Kernels.toFloats(back)).isEqualTo(deq);
            Tensor bf = Kernels.convert(q, DType.BF16, arena);
            float[] bfv = Kernels.toFloats(bf);
            for (int i = 0; i < v.length; i++) {
                assertThat(bfv[i]).isEqualTo(Half.bf16ToFloat(Half.floatToBf16(deq[i])));
            }
            assertThat(Kernels.convert(q, DType.Q8_0, arena)).isSameAs(q);
            Tensor odd = Tensor.f32("odd", new float[3 * 48], 3, 48);
            assertThatThrownBy(() -> Kernels.convert(odd, DType.Q8_0, arena))
                    .hasMessageContaining("odd F32[3, 48]: cannot convert to Q8_0, a row of 48 is not a multiple of 32");
        }
    }
}
