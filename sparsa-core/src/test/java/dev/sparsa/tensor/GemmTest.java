package dev.sparsa.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import dev.sparsa.tensor.Gemm.Mat;
import dev.sparsa.tensor.Gemm.Operand;
import dev.sparsa.tensor.Gemm.Weight;

/**
 * {@link Gemm} against its scalar twin {@link ScalarGemm}, bit for bit: every transpose combination, odd sizes,
 * offsets and leading dimensions, accumulate on and off, every weight dtype, both micro-kernels (12 and 6 rows),
 * 1, 2 and 3 threads. The twin itself is checked against a double-precision product with the error bound of a
 * k-term fused multiply-add chain.
 */
class GemmTest {
    static final int[] SIZES = {1, 3, 17, 33};
    /** Shapes that cross the k block (256), several A slivers and B panels, and partial tiles on both sides. */
    static final int[][] LARGER = {{255, 33, 17}, {37, 255, 300}, {100, 70, 513}, {13, 97, 257}, {26, 64, 256}};

    static Parallel one;
    static Parallel two;
    static Parallel three;
    static Arena arena;
    static final Gemm[] KERNELS = {new Gemm(12), new Gemm(6)};

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

    /** A stored matrix for op(M) = rows × cols at a random offset and leading dimension, random contents. */
    static Mat mat(Random rnd, int rows, int cols, boolean trans) {
        int sr = trans ? cols : rows;
        int sc = trans ? rows : cols;
        int off = rnd.nextInt(4);
        int ld = sc + rnd.nextInt(3);
        return new Mat(KernelsTest.randoms(rnd, off + sr * ld + rnd.nextInt(3), 1f), off, ld, trans);
    }

    /** An off-heap [rows, cols] tensor of {@code type} holding {@code values} (quantized with {@link Quant}). */
    static Tensor weight(DType type, float[] values, int rows, int cols) {
        java.lang.foreign.MemorySegment seg = arena.allocate(type.bytesFor((long) rows * cols), 64);
        for (int r = 0; r < rows; r++) {
            Quant.quantize(type, values, r * cols, cols, seg, r * type.bytesFor(cols));
        }
        return new Tensor("w", type, new int[] {rows, cols}, seg);
    }

    static Mat copy(Mat m) {
        return new Mat(m.data().clone(), m.off(), m.ld(), m.trans());
    }

    /**
     * Runs Gemm with both kernels and 1/2/3 threads on copies of C and asserts every result equals the scalar twin
     * bit for bit over the whole array (so nothing outside the m×n region is touched either).
     */
    static void assertMatchesTwin(int m, int n, int k, Mat a, Operand b, Mat c, boolean acc, String what) {
        Mat want = copy(c);
        ScalarGemm.multiply(m, n, k, a, b, want, acc);
        for (Gemm g : KERNELS) {
            for (Parallel par : new Parallel[] {one, two, three}) {
                Mat got = copy(c);
                g.multiply(m, n, k, a, b, got, acc, par);
                assertThat(got.data()).as(what + ", threads " + par.threads()).isEqualTo(want.data());
            }
        }
    }

    @Test
    void floatOperandsMatchTwinBitwiseForEveryTranspose() {
        Random rnd = new Random(1);
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                for (int m : SIZES) {
                    for (int n : SIZES) {
                        for (int k : SIZES) {
                            boolean acc = rnd.nextBoolean();
                            assertMatchesTwin(m, n, k, mat(rnd, m, k, ta), mat(rnd, k, n, tb), mat(rnd, m, n, false),
                                    acc, shape(m, n, k, ta, tb, acc));
                        }
                    }
                }
                for (int[] s : LARGER) {
                    for (boolean acc : new boolean[] {false, true}) {
                        assertMatchesTwin(s[0], s[1], s[2], mat(rnd, s[0], s[2], ta), mat(rnd, s[2], s[1], tb),
                                mat(rnd, s[0], s[1], false), acc, shape(s[0], s[1], s[2], ta, tb, acc));
                    }
                }
            }
        }
    }

    static String shape(int m, int n, int k, boolean ta, boolean tb, boolean acc) {
        return m + "x" + n + "x" + k + (ta ? " A^T" : " A") + (tb ? " B^T" : " B") + (acc ? " +=" : " =");
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void weightOperandMatchesTwinBitwise(DType type) {
        Random rnd = new Random(2 + type.ordinal());
        int[] ins = type.quantized() ? new int[] {32, 96, 288} : new int[] {1, 17, 40, 288};
        for (int in : ins) {
            for (int out : new int[] {1, 17, 70}) {
                Tensor w = weight(type, KernelsTest.randoms(rnd, out * in, 0.5f), out, in);
                for (int t : new int[] {1, 5, 37}) {
                    boolean acc = rnd.nextBoolean();
                    // forward Y[t, out] = X[t, in]·W^T, and with X transposed in storage
                    assertMatchesTwin(t, out, in, mat(rnd, t, in, false), Weight.of(w).t(), mat(rnd, t, out, false),
                            acc, type + " X·W^T " + t + "x" + out + "x" + in);
                    assertMatchesTwin(t, out, in, mat(rnd, t, in, true), Weight.of(w).t(), mat(rnd, t, out, false),
                            acc, type + " X^T·W^T " + t + "x" + out + "x" + in);
                    // input gradient dX[t, in] = dY[t, out]·W
                    assertMatchesTwin(t, in, out, mat(rnd, t, out, false), Weight.of(w), mat(rnd, t, in, false),
                            acc, type + " dY·W " + t + "x" + in + "x" + out);
                }
            }
        }
    }

    @Test
    void trainingProductsMatchTwin() {
        Random rnd = new Random(3);
        int t = 70;
        int in = 96;
        int out = 40;
        float[] wv = KernelsTest.randoms(rnd, out * in, 0.3f);
        Tensor w = Tensor.f32("w", wv, out, in);
        float[] x = KernelsTest.randoms(rnd, t * in, 1f);
        float[] dy = KernelsTest.randoms(rnd, t * out, 1f);
        float[] dw = KernelsTest.randoms(rnd, out * in, 1f);
        // the three products exactly as the class documentation spells them
        assertMatchesTwin(t, out, in, Mat.of(x, 0, in), Weight.of(w).t(), Mat.of(new float[t * out], 0, out), false,
                "Y = X·W^T");
        assertMatchesTwin(t, in, out, Mat.of(dy, 0, out), Weight.of(w), Mat.of(new float[t * in], 0, in), false,
                "dX = dY·W");
        assertMatchesTwin(out, in, t, Mat.of(dy, 0, out).t(), Mat.of(x, 0, in), Mat.of(dw, 0, in), true,
                "dW += dY^T·X");
        // a weight tensor and the same floats as a matrix give the same bits
        float[] y1 = new float[t * out];
        float[] y2 = new float[t * out];
        KERNELS[0].multiply(t, out, in, Mat.of(x, 0, in), Weight.of(w).t(), Mat.of(y1, 0, out), false, two);
        KERNELS[0].multiply(t, out, in, Mat.of(x, 0, in), Mat.of(wv, 0, in).t(), Mat.of(y2, 0, out), false, two);
        assertThat(y2).isEqualTo(y1);
    }

    @Test
    void attentionHeadProductsWithStridesMatchTwin() {
        // per head h of Q, K, V stored [T, heads·hd]: S = Q_h·K_h^T, O_h = P·V_h, and their backward products
        Random rnd = new Random(4);
        int tt = 67;
        int hd = 32;
        int ld = 4 * hd;
        int h = 2;
        float[] q = KernelsTest.randoms(rnd, tt * ld, 1f);
        float[] kk = KernelsTest.randoms(rnd, tt * ld, 1f);
        float[] v = KernelsTest.randoms(rnd, tt * ld, 1f);
        float[] p = KernelsTest.randoms(rnd, tt * tt, 1f);
        Mat qh = Mat.of(q, h * hd, ld);
        Mat kh = Mat.of(kk, h * hd, ld);
        Mat vh = Mat.of(v, h * hd, ld);
        Mat pm = Mat.of(p, 0, tt);
        assertMatchesTwin(tt, tt, hd, qh, kh.t(), Mat.of(new float[tt * tt], 0, tt), false, "S = Q·K^T");
        assertMatchesTwin(tt, hd, tt, pm, vh, Mat.of(new float[tt * ld], h * hd, ld), false, "O = P·V");
        assertMatchesTwin(tt, tt, hd, vh, qh.t(), Mat.of(new float[tt * tt], 0, tt), false, "dP = dO·V^T");
        assertMatchesTwin(tt, hd, tt, pm.t(), vh, Mat.of(q.clone(), h * hd, ld), true, "dV += P^T·dO");
        assertMatchesTwin(tt, hd, tt, pm, kh, Mat.of(q.clone(), h * hd, ld), true, "dQ += dS·K");
        assertMatchesTwin(tt, hd, tt, pm.t(), qh, Mat.of(kk.clone(), h * hd, ld), true, "dK += dS^T·Q");
    }

    @Test
    void wideBInColumnSuperBlocksAndTallTransposedA() {
        // k·n above Gemm.CAP: B is packed in several column super-blocks; then a tall transposed A over a long k
        // (several row tasks of MAX_SLIVERS_T slivers, several k blocks, a partial last sliver)
        Random rnd = new Random(5);
        int m = 13;
        int k = 1100;
        int n = Gemm.CAP / k + 100;
        assertThat((long) k * n).isGreaterThan(Gemm.CAP);
        Mat a = mat(rnd, m, k, false);
        Tensor w = Tensor.f32("w", KernelsTest.randoms(rnd, n * k, 1f), n, k);
        Mat want = mat(rnd, m, n, false);
        Mat got = copy(want);
        ScalarGemm.multiply(m, n, k, a, Weight.of(w).t(), want, true);
        new Gemm().multiply(m, n, k, a, Weight.of(w).t(), got, true, two);
        assertThat(got.data()).isEqualTo(want.data());
        Mat b = mat(rnd, k, n, false);
        want = mat(rnd, m, n, false);
        got = copy(want);
        ScalarGemm.multiply(m, n, k, a, b, want, false);
        new Gemm().multiply(m, n, k, a, b, got, false, one);
        assertThat(got.data()).isEqualTo(want.data());
        int tall = 3 * Gemm.MAX_SLIVERS_T * 12 + 7;
        Mat at = mat(rnd, tall, k, true);
        Mat bn = mat(rnd, k, 5, false);
        want = mat(rnd, tall, 5, false);
        got = copy(want);
        ScalarGemm.multiply(tall, 5, k, at, bn, want, true);
        new Gemm().multiply(tall, 5, k, at, bn, got, true, three);
        assertThat(got.data()).isEqualTo(want.data());
    }

    @Test
    void quantizedWeightRowsInColumnSuperBlocks() {
        // B = W itself (k = W's rows, as in dX = dY·W and a transposed copy's Y = X·W^T), k·n above CAP: each
        // super-block dequantizes only its columns of every row; the result must not change (the twin reads the
        // whole row)
        Random rnd = new Random(8);
        int m = 7;
        int k = 600;
        int n = (Gemm.CAP / k + 200) / 32 * 32 + 32;
        assertThat((long) k * n).isGreaterThan(Gemm.CAP);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {   // read by the pool's threads
            for (DType dt : new DType[]{DType.Q8_0, DType.Q4_0, DType.BF16, DType.F16}) {
                Tensor w = dev.sparsa.io.RandomWeights.matrix("w", dt, k, n, 3, arena);
                Mat a = mat(rnd, m, k, false);
                Mat want = mat(rnd, m, n, false);
                Mat got = copy(want);
                ScalarGemm.multiply(m, n, k, a, Weight.of(w), want, true);
                new Gemm().multiply(m, n, k, a, Weight.of(w), got, true, two);
                assertThat(got.data()).as(dt.toString()).isEqualTo(want.data());
            }
        }
    }

    @Test
    void twinIsWithinTheFmaChainBoundOfTheExactProduct() {
        // a k-term fma chain rounds once per step (relative error ≤ u = 2^-24 each):
        // |fl − exact| ≤ γ_k·(|c0| + Σ_p |a_ip·b_pj|), γ_k = k·u/(1 − k·u)
        Random rnd = new Random(6);
        for (int[] s : new int[][] {{5, 7, 1}, {9, 33, 300}, {4, 3, 4096}}) {
            int m = s[0];
            int n = s[1];
            int k = s[2];
            Mat a = mat(rnd, m, k, rnd.nextBoolean());
            Mat b = mat(rnd, k, n, rnd.nextBoolean());
            Mat c = mat(rnd, m, n, false);
            Mat got = copy(c);
            new Gemm().multiply(m, n, k, a, b, got, true, two);
            double u = Math.ulp(1.0f) / 2;
            double gamma = k * u / (1 - k * u);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double c0 = c.data()[c.off() + i * c.ld() + j];
                    double exact = c0;
                    double abs = Math.abs(c0);
                    for (int p = 0; p < k; p++) {
                        double t = (double) ScalarGemm.at(a, i, p) * ScalarGemm.at(b, p, j);
                        exact += t;
                        abs += Math.abs(t);
                    }
                    double err = Math.abs(got.data()[got.off() + i * got.ld() + j] - exact);
                    assertThat(err).as(m + "x" + n + "x" + k + " (" + i + "," + j + ")")
                            .isLessThanOrEqualTo(gamma * abs);
                }
            }
        }
    }

    @Test
    void oneEngineServesConcurrentCallers() throws Exception {
        // packing buffers are pooled per instance: concurrent calls (e.g. attention heads in parallel) must not share
        Gemm g = new Gemm();
        Random rnd = new Random(8);
        int calls = 4;
        Mat[] as = new Mat[calls];
        Mat[] bs = new Mat[calls];
        Mat[] want = new Mat[calls];
        Mat[] init = new Mat[calls];
        for (int i = 0; i < calls; i++) {
            int m = 20 + 13 * i;
            as[i] = mat(rnd, m, 300, i % 2 == 1);
            bs[i] = mat(rnd, 300, 40 + i, false);
            init[i] = mat(rnd, m, 40 + i, false);
            want[i] = copy(init[i]);
            ScalarGemm.multiply(m, 40 + i, 300, as[i], bs[i], want[i], true);
        }
        Thread[] ts = new Thread[calls];
        Throwable[] errors = new Throwable[calls];
        for (int i = 0; i < calls; i++) {
            int c = i;
            ts[i] = new Thread(() -> {
                try (Parallel serial = Parallel.serial()) {
                    for (int rep = 0; rep < 20; rep++) {
                        Mat out = copy(init[c]);
                        g.multiply(20 + 13 * c, 40 + c, 300, as[c], bs[c], out, true, serial);
                        assertThat(out.data()).isEqualTo(want[c].data());
                    }
                } catch (Throwable t) {
                    errors[c] = t;
                }
            });
            ts[i].start();
        }
        for (int i = 0; i < calls; i++) {
            ts[i].join();
            assertThat(errors[i]).as("caller " + i).isNull();
        }
    }

    @Test
    void emptyProducts() {
        float[] c = {1, 2, 3, 4, 5, 6};
        Gemm g = new Gemm();
        g.multiply(2, 3, 0, Mat.of(new float[0], 0, 0), Mat.of(new float[0], 0, 3), Mat.of(c, 0, 3), true, two);
        assertThat(c).containsExactly(1, 2, 3, 4, 5, 6);
        g.multiply(0, 3, 4, Mat.of(new float[0], 0, 4), Mat.of(new float[12], 0, 3), Mat.of(c, 0, 3), false, two);
        g.multiply(2, 0, 4, Mat.of(new float[8], 0, 4), Mat.of(new float[0], 0, 0), Mat.of(c, 0, 3), false, two);
        assertThat(c).containsExactly(1, 2, 3, 4, 5, 6);
        g.multiply(2, 2, 0, Mat.of(new float[0], 0, 0), Mat.of(new float[0], 0, 2), Mat.of(c, 1, 3), false, two);
        assertThat(c).containsExactly(1, 0, 0, 4, 0, 0); // C = 0 over its 2×2 region only
    }

    @Test
    void nonFiniteValuesPropagateLikeTheTwin() {
        Random rnd = new Random(7);
        Mat a = mat(rnd, 14, 40, false);
        Mat b = mat(rnd, 40, 35, true);
        a.data()[a.off() + 3 * a.ld() + 5] = Float.NaN;
        b.data()[b.off() + 7 * b.ld() + 2] = Float.POSITIVE_INFINITY;
        Mat c = mat(rnd, 14, 35, false);
        c.data()[c.off() + 20] = Float.NaN; // ignored when not accumulating
        assertMatchesTwin(14, 35, 40, a, b, c, false, "NaN/inf, =");
        assertMatchesTwin(14, 35, 40, a, b, c, true, "NaN/inf, +=");
    }

    @Test
    void badViewsGetClearErrors() {
        Gemm g = new Gemm();
        float[] a = new float[12];
        float[] b = new float[12];
        float[] c = new float[9];
        assertThatThrownBy(() -> g.multiply(3, 3, 4, Mat.of(a, 1, 4), Mat.of(b, 0, 3), Mat.of(c, 0, 3), false, one))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("A [3, 4]")
                .hasMessageContaining("needs 13 floats");
        assertThatThrownBy(() -> g.multiply(3, 3, 4, Mat.of(a, 0, 3), Mat.of(b, 0, 3), Mat.of(c, 0, 3), false, one))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("A has leading dimension 3");
        assertThatThrownBy(() -> g.multiply(3, 3, 4, Mat.of(a, 0, 4), Mat.of(b, 0, 3).t(), Mat.of(c, 0, 3), false,
                one)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("B has leading dimension 3");
        assertThatThrownBy(() -> g.multiply(3, 3, 4, Mat.of(a, 0, 4), Mat.of(b, 0, 3), Mat.of(c, 0, 3).t(), false,
                one)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("C cannot be transposed");
        assertThatThrownBy(() -> g.multiply(-1, 3, 4, Mat.of(a, 0, 4), Mat.of(b, 0, 3), Mat.of(c, 0, 3), false, one))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("negative dimension");
        Tensor w = Tensor.f32("w", new float[12], 3, 4);
        assertThatThrownBy(() -> g.multiply(3, 3, 4, Mat.of(a, 0, 4), Weight.of(w), Mat.of(c, 0, 3), false, one))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("B = W needs W = [4, 3]")
                .hasMessageContaining("w F32[3, 4]");
        assertThatThrownBy(() -> new Mat(a, -1, 4, false)).isInstanceOf(IllegalArgumentException.class);
        assertThat(Arrays.equals(c, new float[9])).isTrue(); // nothing written on error
    }
}
