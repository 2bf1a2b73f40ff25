package dev.sparsa.tensor;

import static org.assertj.core.api.Assertions.assertThat;
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

/** Every Vector API kernel against {@link ScalarKernels}, every dtype, odd sizes, 1 vs 2 (vs 3) threads. */
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

    // ---------------------------------------------------------------- activation side

    @Test
    void dotSumAndNorms() {
        Random rnd = new Random(23);
        for (int n : FLOAT_COLS) {
            float[] a = randoms(rnd, n + 3, 1f);
            float[] b = randoms(rnd, n + 5, 1f);
            double abs = 0;
            for (int i = 0; i < n; i++) {
                abs += Math.abs(a[3 + i] * b[5 + i]);
            }
            assertClose(Kernels.dot(a, 3, b, 5, n), ScalarKernels.dot(a, 3, b, 5, n), abs, "dot " + n);

            float[] wgt = randoms(rnd, n, 1f);
            float[] beta = randoms(rnd, n, 1f);
            float[] got = new float[n + 2];
            float[] want = new float[n + 2];
            Kernels.rmsnorm(got, 2, a, 3, wgt, n, 1e-5f);
            ScalarKernels.rmsnorm(want, 2, a, 3, wgt, n, 1e-5f);
            for (int i = 0; i < n + 2; i++) {
                assertThat(got[i]).as("rmsnorm %d %d", n, i).isCloseTo(want[i], org.assertj.core.data.Offset.offset(
                        1e-5f * Math.max(1f, Math.abs(want[i]))));
            }
            Kernels.layernorm(got, 2, a, 3, wgt, beta, n, 1e-5f);
            ScalarKernels.layernorm(want, 2, a, 3, wgt, beta, n, 1e-5f);
            for (int i = 0; i < n + 2; i++) {
                assertThat(got[i]).as("layernorm %d %d", n, i).isCloseTo(want[i], org.assertj.core.data.Offset.offset(
                        1e-5f * Math.max(1f, Math.abs(want[i]))));
            }
        }
    }

    @Test
    void softmaxMatchesScalar() {
        Random rnd = new Random(29);
        for (int n : FLOAT_COLS) {
            float[] x = randoms(rnd, n + 4, 5f);
            x[4 + n / 2] = 40f;
            float[] want = x.clone();
            Kernels.softmax(x, 4, n);
            ScalarKernels.softmax(want, 4, n);
            for (int i = 0; i < n + 4; i++) {
                assertThat(x[i]).as("softmax %d %d", n, i).isCloseTo(want[i],
                        org.assertj.core.data.Offset.offset(1e-6f + 1e-5f * Math.abs(want[i])));
            }
        }
    }

    @Test
    void ropeIsBitExact() {
        Random rnd = new Random(31);
        for (int headDim : new int[] {2, 8, 30, 64, 128}) {
            float[] inv = new float[headDim / 2];
            for (int i = 0; i < inv.length; i++) {
                inv[i] = (float) Math.pow(10000, -2.0 * i / headDim);
            }
            float[] x = randoms(rnd, 3 + 5 * headDim, 1f);
            float[] want = x.clone();
            Kernels.rope(x, 3, 5, headDim, 12345, inv);
            ScalarKernels.rope(want, 3, 5, headDim, 12345, inv);
            assertThat(x).isEqualTo(want);
        }
    }

    @Test
    void activationArraysMatchScalar() {
        Random rnd = new Random(37);
        for (int n : FLOAT_COLS) {
            float[] x = randoms(rnd, n + 2, 4f);
            x[2] = 0f;
            if (n > 3) {
                x[3] = -12f;
                x[4] = 9f;
            }
            float[] a = x.clone();
            float[] b = x.clone();
            Kernels.silu(a, 2, n);
            ScalarKernels.silu(b, 2, n);
            close(a, b, 2e-6f, "silu");
            a = x.clone();
            b = x.clone();
            Kernels.gelu(a, 2, n);
            ScalarKernels.gelu(b, 2, n);
            for (int i = 0; i < a.length; i++) {
                assertThat(Math.abs(a[i] - b[i])).as("gelu(%s)", x[i])
                        .isLessThanOrEqualTo(1e-6f * Math.max(1f, Math.abs(x[i])));
            }
            a = x.clone();
            b = x.clone();
            Kernels.geluTanh(a, 2, n);
            ScalarKernels.geluTanh(b, 2, n);
            close(a, b, 2e-6f, "geluTanh");
            a = x.clone();
            b = x.clone();
            a[a.length - 1] = Float.NaN;
            b[b.length - 1] = Float.NaN;
            a[1] = -0f;
            Kernels.relu(a, 2, n);
            ScalarKernels.relu(b, 2, n);
            assertThat(a[1]).isEqualTo(-0f); // outside the range: untouched
            a[1] = b[1];
            assertThat(a).isEqualTo(b);
        }
    }

    @Test
    void activationsDoNotDependOnPositionOrLength() {
        // the same value gives the same bits wherever it sits (vector body or tail) and whatever n is
        float[] values = {-90f, -20f, -3.3f, -1e-3f, 0f, 2e-7f, 0.5f, 1.7f, 6f, 40f, 100f};
        for (float v : values) {
            for (String f : new String[] {"silu", "gelu", "geluTanh"}) {
                float first = Float.NaN;
                for (int n = 1; n <= 3 * Kernels.L + 1; n++) {
                    float[] x = new float[n + 1];
                    Arrays.fill(x, v);
                    switch (f) {
                        case "silu" -> Kernels.silu(x, 1, n);
                        case "gelu" -> Kernels.gelu(x, 1, n);
                        default -> Kernels.geluTanh(x, 1, n);
                    }
                    assertThat(x[0]).isEqualTo(v);
                    if (n == 1) {
                        first = x[1];
                    }
                    for (int i = 1; i <= n; i++) {
                        assertThat(x[i]).as("%s(%s) n=%d i=%d", f, v, n, i).isEqualTo(first);
                    }
                }
            }
        }
    }

    @Test
    void vectorExpIsAccurate() {
        float[] xs = new float[Kernels.L];
        for (float x0 = -87f; x0 < 88f; x0 += 0.37f * Kernels.L) {
            for (int i = 0; i < xs.length; i++) {
                xs[i] = x0 + 0.37f * i;
            }
            float[] got = Kernels.exp(jdk.incubator.vector.FloatVector.fromArray(Kernels.FS, xs, 0)).toArray();
            for (int i = 0; i < xs.length && xs[i] <= 88f; i++) {
                double want = Math.exp(xs[i]);
                assertThat(Math.abs(got[i] - want) / want).as("exp(%s)", xs[i]).isLessThan(3e-7);
            }
        }
        float[] special = new float[Kernels.L];
        special[0] = Float.NaN;
        special[1] = -1000f;
        special[2] = 1000f;
        float[] got = Kernels.exp(jdk.incubator.vector.FloatVector.fromArray(Kernels.FS, special, 0)).toArray();
        assertThat(got[0]).isNaN();
        assertThat(got[1]).isLessThan(1e-37f); // clamped at e^-87
        assertThat(got[2]).isGreaterThan(1e38f);
        assertThat(got[3]).isEqualTo(1f);
    }

    static void close(float[] a, float[] b, float rel, String what) {
        for (int i = 0; i < a.length; i++) {
            assertThat(Math.abs(a[i] - b[i])).as("%s %d: %s vs %s", what, i, a[i], b[i])
                    .isLessThanOrEqualTo(rel * Math.max(1f, Math.abs(b[i])));
        }
    }
}
