package dev.sparsa.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link Int8Gemm} against the worked examples of the ONNX operator specification (DynamicQuantizeLinear,
 * MatMulInteger) and against its plain-loop twin {@link ScalarInt8Gemm} (same bits, any shape and thread count).
 */
class Int8GemmTest {

    /** The three examples of the ONNX spec's DynamicQuantizeLinear page: y, y_scale, y_zero_point. */
    @Test
    void dynamicQuantizeLinearGivesTheSpecsExamples() {
        check(new float[]{0, 2, -3, -2.5f, 1.34f, 0.5f}, (2f - -3f) / 255f, 153, 153, 255, 0, 26, 221, 179);
        // (0.5 / scale is 25.4999991 exactly but 25.5 in float: the spec, like ORT, divides in float → 26)
        check(new float[]{-1.0f, -2.1f, -1.3f, -2.5f, -3.34f, -4.0f}, 4f / 255f, 255, 191, 121, 172, 96, 42, 0);
        check(new float[]{1, 2.1f, 1.3f, 2.5f, 3.34f, 4.0f, 1.5f, 2.6f, 3.9f, 4.0f, 3.0f, 2.345f}, 4f / 255f, 0,
                64, 134, 83, 159, 213, 255, 96, 166, 249, 255, 191, 149);
        // all zeros: scale 1, zero point 0 (max == min)
        check(new float[]{0, 0, 0}, 1f, 0, 0, 0, 0);
    }

    private static void check(float[] x, float scale, int zp, int... codes) {
        Int8Gemm.Range r = Int8Gemm.range(x, 0, x.length);
        assertThat(r.scale()).isEqualTo(scale);
        assertThat(r.zeroPoint()).isEqualTo(zp);
        int[] a = new int[x.length];
        Int8Gemm.quantize(x, 0, x.length, r, a);
        for (int i = 0; i < x.length; i++) {
            assertThat(a[i] + zp).as("code %d", i).isEqualTo(codes[i]);
        }
    }

    @Test
    void quantizeRoundsHalfToEvenAndSaturates() {
        Int8Gemm.Range r = new Int8Gemm.Range(1f, 10);
        int[] a = new int[6];
        Int8Gemm.quantize(new float[]{0.5f, 1.5f, -2.5f, 300f, -300f, Float.NaN}, 0, 6, r, a);
        assertThat(a).containsExactly(0, 2, -2, 245, -10, 0);
    }

    /** The ONNX spec's MatMulInteger example: uint8 A with zero point 12, uint8 B with zero point 0. */
    @Test
    void matMulIntegerGivesTheSpecsExample() {
        int[][] aU8 = {{11, 7, 3}, {10, 6, 2}, {9, 5, 1}, {8, 4, 0}};
        int[][] bU8 = {{1, 4}, {2, 5}, {3, 6}}; // [K=3, N=2]
        int[] a = new int[12];
        for (int t = 0; t < 4; t++) {
            for (int c = 0; c < 3; c++) {
                a[t * 3 + c] = aU8[t][c] - 12;
            }
        }
        // B transposed to [N, K], uint8 stored as q − 128 with zero point 0 − 128
        MemorySegment q = MemorySegment.ofArray(new byte[6]);
        for (int n = 0; n < 2; n++) {
            for (int k = 0; k < 3; k++) {
                q.set(ValueLayout.JAVA_BYTE, n * 3 + k, (byte) (bU8[k][n] - 128));
            }
        }
        Int8Matrix w = new Int8Matrix("B", 2, 3, q, new float[]{1f, 1f}, new int[]{-128, -128});
        float[] y = new float[8];
        try (Parallel par = new Parallel(2)) {
            Int8Gemm.matmul(w, a, new float[]{1, 1, 1, 1}, 4, y, par);
        }
        assertThat(y).containsExactly(-38, -83, -44, -98, -50, -113, -56, -128);
    }

    @Test
    void vectorKernelEqualsItsScalarTwinBitForBit() {
        Random rnd = new Random(11);
        // below and from Gemm.MATMUL_MIN_BATCH (48) tokens; one, three and four float passes of EXACT_K columns
        int[][] shapes = {{1, 1, 1}, {5, 7, 3}, {8, 384, 37}, {13, 100, 4}, {3, 1536, 70}, {16, 33, 1},
                {24, 384, 48}, {17, 1536, 50}, {7, 1100, 61}, {40, 19, 64}};
        for (int[] s : shapes) {
            int rows = s[0];
            int cols = s[1];
            int n = s[2];
            for (boolean zps : new boolean[]{false, true}) {
                byte[] codes = new byte[rows * cols];
                float[] scale = new float[rows];
                int[] zero = new int[rows];
                for (int i = 0; i < codes.length; i++) {
                    codes[i] = (byte) rnd.nextInt(256);
                }
                for (int r = 0; r < rows; r++) {
                    scale[r] = 1e-3f * (1 + rnd.nextFloat());
                    zero[r] = zps ? rnd.nextInt(256) - 128 : 0;
                }
                Int8Matrix w = new Int8Matrix("w", rows, cols, MemorySegment.ofArray(codes), scale, zero);
                int[] a = new int[n * cols];
                float[] sx = new float[n];
                for (int i = 0; i < a.length; i++) {
                    a[i] = rnd.nextInt(511) - 255;
                }
                for (int t = 0; t < n; t++) {
                    sx[t] = 0.01f * (1 + rnd.nextFloat());
                }
                float[] want = new float[n * rows];
                ScalarInt8Gemm.matmul(w, a, sx, n, want);
                for (int threads : new int[]{1, 3}) {
                    float[] got = new float[n * rows];
                    try (Parallel par = new Parallel(threads)) {
                        Int8Gemm.matmul(w, a, sx, n, got, par);
                    }
                    assertThat(got).as("[%d, %d] × %d tokens, zero points %s, %d threads", rows, cols, n, zps,
                            threads).containsExactly(want);
                }
            }
        }
    }

    /**
     * Both paths' float blocks at the extreme of their bound: codes −128/−127 against −255/−253 over 1541 columns
     * (three blocks and a tail), so every partial sum is a large odd-bit integer (a float sum over the whole row
     * would pass 2²⁴ and round; blocks of {@link Int8Gemm#EXACT_K} columns stay exact): 7 tokens take the tiles,
     * 48 the Gemm.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {7, 48})
    void bothPathsAreExactAtTheLargestSums(int n) {
        Random rnd = new Random(5);
        int rows = 6;
        int cols = 1541;
        byte[] codes = new byte[rows * cols];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) (rnd.nextBoolean() ? -128 : -127);
        }
        int[] a = new int[n * cols];
        for (int i = 0; i < a.length; i++) {
            a[i] = rnd.nextBoolean() ? -255 : -253;
        }
        float[] sx = new float[n];
        java.util.Arrays.fill(sx, 1f);
        float[] scale = new float[rows];
        java.util.Arrays.fill(scale, 1f);
        Int8Matrix w = new Int8Matrix("w", rows, cols, MemorySegment.ofArray(codes), scale, new int[rows]);
        float[] want = new float[n * rows];
        ScalarInt8Gemm.matmul(w, a, sx, n, want);
        assertThat(want[0]).isGreaterThan(1 << 25); // the row sums do pass 2^24
        float[] got = new float[n * rows];
        try (Parallel par = new Parallel(2)) {
            Int8Gemm.matmul(w, a, sx, n, got, par);
        }
        assertThat(got).containsExactly(want);
    }

    @Test
    void dequantizedIsCodeMinusZeroTimesScale() {
        byte[] codes = {-128, 0, 127, 5};
        Int8Matrix w = new Int8Matrix("w", 2, 2, MemorySegment.ofArray(codes), new float[]{0.5f, 2f},
                new int[]{0, 3});
        try (Arena arena = Arena.ofConfined()) {
            assertThat(Kernels.toFloats(w.dequantized(arena))).containsExactly(-64f, 0f, 248f, 4f);
        }
        assertThat(w.bytes()).isEqualTo(4 + 16);
    }

    @Test
    void badShapesAreRefused() {
        assertThatThrownBy(() -> new Int8Matrix("w", 2, 2, MemorySegment.ofArray(new byte[3]), new float[2],
                new int[2])).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs 4 bytes");
        assertThatThrownBy(() -> new Int8Matrix("w", 1, 1, MemorySegment.ofArray(new byte[1]), new float[1],
                new int[]{200})).hasMessageContaining("zero point 200");
        assertThatThrownBy(() -> new Int8Matrix("w", 1, 40000, MemorySegment.ofArray(new byte[40000]),
                new float[1], new int[1])).hasMessageContaining("at most 32768 columns");
    }
}
