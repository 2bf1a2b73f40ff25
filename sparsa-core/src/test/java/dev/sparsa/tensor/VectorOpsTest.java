package dev.sparsa.tensor;

import static dev.sparsa.tensor.KernelsTest.FLOAT_COLS;
import static dev.sparsa.tensor.KernelsTest.assertClose;
import static dev.sparsa.tensor.KernelsTest.randoms;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;

/** Every activation-vector kernel of {@link VectorOps} against {@link ScalarKernels}, odd sizes and offsets. */
class VectorOpsTest {

    /**
     * siluRange: the dense gated step's values (Gated, SiLU) to the bit, the same bits for any split of a row into
     * ranges (short ones, tails, a row shorter than a vector), within a few ulp of the scalar definition.
     */
    @Test
    void siluRangeIsTheDenseStepsValueForAnySplit() {
        Random rnd = new Random(31);
        for (int n : new int[] {1, 3, 7, 15, 16, 17, 33, 100, 352}) {
            float[] g = randoms(rnd, n, 6f);
            float[] dense = new float[n];
            Gated.forward(Gated.Fn.SILU, 0f, false, g, new float[n], dense, new float[n], 0, n);
            float[] whole = new float[n];
            VectorOps.siluRange(g, 0, whole, 0, n);
            if (n >= Simd.L) {
                assertThat(whole).as("n %d vs Gated", n).isEqualTo(dense);
            }
            for (int cut : new int[] {1, 2, 5, 13, 16, 40}) {
                float[] pieces = new float[n];
                for (int from = 0; from < n; from += cut) {
                    int len = Math.min(cut, n - from);
                    VectorOps.siluRange(g, from, pieces, from, len);
                }
                assertThat(pieces).as("n %d in pieces of %d", n, cut).isEqualTo(whole);
            }
            for (int i = 0; i < n; i++) {
                float want = VectorOps.silu(g[i]);
                assertThat(Math.abs(whole[i] - want)).as("n %d, %d", n, i)
                        .isLessThanOrEqualTo(4 * Math.ulp(want) + 1e-30f);
            }
        }
    }

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
            assertClose(VectorOps.dot(a, 3, b, 5, n), ScalarKernels.dot(a, 3, b, 5, n), abs, "dot " + n);

            float[] wgt = randoms(rnd, n, 1f);
            float[] beta = randoms(rnd, n, 1f);
            float[] got = new float[n + 2];
            float[] want = new float[n + 2];
            VectorOps.rmsnorm(got, 2, a, 3, wgt, n, 1e-5f);
            ScalarKernels.rmsnorm(want, 2, a, 3, wgt, n, 1e-5f);
            for (int i = 0; i < n + 2; i++) {
                assertThat(got[i]).as("rmsnorm %d %d", n, i).isCloseTo(want[i], org.assertj.core.data.Offset.offset(
                        1e-5f * Math.max(1f, Math.abs(want[i]))));
            }
            VectorOps.layernorm(got, 2, a, 3, wgt, beta, n, 1e-5f);
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
            VectorOps.softmax(x, 4, n);
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
            VectorOps.rope(x, 3, 5, headDim, 12345, inv);
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
            VectorOps.silu(a, 2, n);
            ScalarKernels.silu(b, 2, n);
            close(a, b, 2e-6f, "silu");
            a = x.clone();
            b = x.clone();
            VectorOps.gelu(a, 2, n);
            ScalarKernels.gelu(b, 2, n);
            for (int i = 0; i < a.length; i++) {
                assertThat(Math.abs(a[i] - b[i])).as("gelu(%s)", x[i])
                        .isLessThanOrEqualTo(1e-6f * Math.max(1f, Math.abs(x[i])));
            }
            a = x.clone();
            b = x.clone();
            VectorOps.geluTanh(a, 2, n);
            ScalarKernels.geluTanh(b, 2, n);
            close(a, b, 2e-6f, "geluTanh");
            a = x.clone();
            b = x.clone();
            a[a.length - 1] = Float.NaN;
            b[b.length - 1] = Float.NaN;
            a[1] = -0f;
            VectorOps.relu(a, 2, n);
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
                for (int n = 1; n <= 3 * Simd.L + 1; n++) {
                    float[] x = new float[n + 1];
                    Arrays.fill(x, v);
                    switch (f) {
                        case "silu" -> VectorOps.silu(x, 1, n);
                        case "gelu" -> VectorOps.gelu(x, 1, n);
                        default -> VectorOps.geluTanh(x, 1, n);
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
        float[] xs = new float[Simd.L];
        for (float x0 = -87f; x0 < 88f; x0 += 0.37f * Simd.L) {
            for (int i = 0; i < xs.length; i++) {
                xs[i] = x0 + 0.37f * i;
            }
            float[] got = VectorOps.exp(jdk.incubator.vector.FloatVector.fromArray(Simd.FS, xs, 0)).toArray();
            for (int i = 0; i < xs.length && xs[i] <= 88f; i++) {
                double want = Math.exp(xs[i]);
                assertThat(Math.abs(got[i] - want) / want).as("exp(%s)", xs[i]).isLessThan(3e-7);
            }
        }
        float[] special = new float[Simd.L];
        special[0] = Float.NaN;
        special[1] = -1000f;
        special[2] = 1000f;
        float[] got = VectorOps.exp(jdk.incubator.vector.FloatVector.fromArray(Simd.FS, special, 0)).toArray();
        assertThat(got[0]).isNaN();
        assertThat(got[1]).isLessThan(1e-37f); // clamped at e^-87
        assertThat(got[2]).isGreaterThan(1e38f);
        assertThat(got[3]).isEqualTo(1f);
    }

    @Test
    void cosineOfParallelOrthogonalAndZeroVectors() {
        float[] a = {1f, -2f, 3f, 0.5f};
        float[] twice = {2f, -4f, 6f, 1f};
        assertThat(VectorOps.cosine(a, twice)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(VectorOps.cosine(a, new float[] {-1f, 2f, -3f, -0.5f}))
                .isCloseTo(-1.0, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(VectorOps.cosine(new float[] {1f, 0f}, new float[] {0f, 3f})).isZero();
        assertThat(VectorOps.cosine(a, new float[4])).isZero();
        // 1·3 + 2·4 = 11 over √5·√25
        assertThat(VectorOps.cosine(new float[] {1f, 2f}, new float[] {3f, 4f}))
                .isCloseTo(11 / (Math.sqrt(5) * 5), org.assertj.core.data.Offset.offset(1e-12));
    }

    static void close(float[] a, float[] b, float rel, String what) {
        for (int i = 0; i < a.length; i++) {
            assertThat(Math.abs(a[i] - b[i])).as("%s %d: %s vs %s", what, i, a[i], b[i])
                    .isLessThanOrEqualTo(rel * Math.max(1f, Math.abs(b[i])));
        }
    }
}
