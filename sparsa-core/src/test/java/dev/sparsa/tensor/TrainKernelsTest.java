package dev.sparsa.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The training kernels ({@link RmsNorm}, {@link Rotary}, {@link Attention}, {@link Gated}, {@link CrossEntropy})
 * against their scalar twins in {@link ScalarKernels}: bit for bit where the code promises it, otherwise within a
 * float-rounding tolerance (stated at each check); odd sizes and offsets so every vector tail runs; 1 vs 2 vs 3
 * threads bit for bit. {@link FiniteDifferenceTest} checks the backwards themselves against double precision.
 */
class TrainKernelsTest {
    static final int L = Simd.L;
    static Parallel one;
    static Parallel two;
    static Parallel three;

    @BeforeAll
    static void pools() {
        one = new Parallel(1);
        two = new Parallel(2);
        three = new Parallel(3);
    }

    @AfterAll
    static void close() {
        one.close();
        two.close();
        three.close();
    }

    static float[] randoms(Random rnd, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rnd.nextGaussian() * scale);
        }
        return a;
    }

    static Tensor gain(float[] g) {
        return Tensor.f32("g", g, new int[] {g.length});
    }

    static float maxAbs(float[] a) {
        float m = 0f;
        for (float x : a) {
            m = Math.max(m, Math.abs(x));
        }
        return m;
    }

    /**
     * {@code max|got − want| ≤ rel·max|want| + abs}: for the sums of a few dozen products these kernels do, a
     * reordered float sum differs by at most ~n·2⁻²⁴ of the sum of the magnitudes (≈ 3e-6 for n = 50); rel = 2e-5
     * leaves room for cancellation, and an indexing or formula mistake is O(max|want|).
     */
    static void assertClose(float[] got, float[] want, double rel, double abs, String what) {
        assertThat(got).as(what + " length").hasSize(want.length);
        double tol = rel * maxAbs(want) + abs;
        for (int i = 0; i < want.length; i++) {
            double d = Math.abs((double) got[i] - want[i]);
            assertThat(d).as("%s [%d]: got %s want %s (tol %.3g)", what, i, got[i], want[i], tol)
                    .isLessThanOrEqualTo(tol);
        }
    }

    /** Equal values (+0 and −0 count as equal; both kernels may produce either for a product with 0). */
    static void assertSameValues(float[] got, float[] want, String what) {
        assertThat(got).as(what + " length").hasSize(want.length);
        for (int i = 0; i < want.length; i++) {
            if (!(got[i] == want[i] || Float.isNaN(got[i]) && Float.isNaN(want[i]))) {
                assertThat(got[i]).as("%s [%d]", what, i).isEqualTo(want[i]);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ RMSNorm

    @Test
    void rmsnormForwardIsBitIdenticalToKernelsRmsnorm() {
        Random rnd = new Random(1);
        for (int n : new int[] {1, 7, 16, 17, 37, 64, 100}) {
            int rows = 5;
            float[] x = randoms(rnd, rows * n + 3, 2);
            float[] g = randoms(rnd, n, 1);
            Tensor gt = gain(g);
            float[] want = new float[rows * n];
            float[] got = new float[rows * n + 2];
            for (int b = 0; b < rows; b++) {
                VectorOps.rmsnorm(want, b * n, x, 3 + b * n, g, n, 1e-5f);
                float r = RmsNorm.forward(got, 2 + b * n, x, 3 + b * n, gt, n, 1e-5f);
                double ms = 0;
                for (int i = 0; i < n; i++) {
                    ms += (double) x[3 + b * n + i] * x[3 + b * n + i];
                }
                assertThat((double) r).as("r, n=%d", n).isCloseTo(1 / Math.sqrt(ms / n + 1e-5),
                        org.assertj.core.data.Percentage.withPercentage(1e-4));
            }
            for (int i = 0; i < rows * n; i++) {
                assertThat(Float.floatToRawIntBits(got[2 + i])).as("n=%d i=%d", n, i)
                        .isEqualTo(Float.floatToRawIntBits(want[i]));
            }
            // forwardRows: the same rows, the same bits for any thread count, r kept per row
            float[] xr = java.util.Arrays.copyOfRange(x, 3, 3 + rows * n);
            for (Parallel par : new Parallel[] {one, two, three}) {
                float[] out = new float[rows * n];
                float[] rstd = new float[rows];
                RmsNorm.forwardRows(out, xr, gt, rows, n, 1e-5f, rstd, par);
                assertThat(out).as("forwardRows n=%d threads=%d", n, par.threads()).isEqualTo(want);
                for (int b = 0; b < rows; b++) {
                    assertThat(rstd[b]).isEqualTo(RmsNorm.forward(new float[n], 0, xr, b * n, gt, n, 1e-5f));
                }
            }
        }
    }

    @Test
    void rmsnormBackwardMatchesScalarTwin() {
        Random rnd = new Random(2);
        for (int n : new int[] {1, 7, 16, 17, 37, 64, 100}) {
            float[] x = randoms(rnd, n + 5, 1.5);
            float[] dy = randoms(rnd, n + 4, 1);
            float[] g = randoms(rnd, n, 1);
            float r = RmsNorm.forward(new float[n], 0, x, 5, gain(g), n, 1e-5f);
            float[] prior = randoms(rnd, n + 1, 1);
            float[] dgPrior = randoms(rnd, n, 1);
            for (boolean acc : new boolean[] {false, true}) {
                float[] dx = prior.clone();
                float[] dg = dgPrior.clone();
                RmsNorm.backward(dx, 1, acc, dy, 4, x, 5, r, gain(g), dg, n);
                float[] wdx = prior.clone();
                float[] wdg = dgPrior.clone();
                ScalarKernels.rmsnormBackward(wdx, 1, acc, dy, 4, x, 5, r, g, wdg, n);
                assertThat(dx[0]).isEqualTo(prior[0]);
                // c = Σ dy g x summed in another order: |Δc| ≲ n·2⁻²⁴·Σ|dy g x|, well inside 2e-5 of max|dx|
                assertClose(dx, wdx, 2e-5, 1e-7, "dx n=" + n + " acc=" + acc);
                // dg += dy·(x·r): one fma vs a rounded product, ≤ 1 ulp apart
                assertClose(dg, wdg, 1e-6, 1e-7, "dg n=" + n);
            }
            // accumulate adds the overwrite result to what was there, in one rounding
            float[] over = new float[n + 1];
            RmsNorm.backward(over, 1, false, dy, 4, x, 5, r, gain(g), null, n);
            float[] accd = prior.clone();
            RmsNorm.backward(accd, 1, true, dy, 4, x, 5, r, gain(g), null, n);
            for (int i = 0; i < n; i++) {
                assertThat(accd[1 + i]).isEqualTo(prior[1 + i] + over[1 + i]);
            }
        }
    }

    @Test
    void rmsnormBackwardRowsIsRowByRowForAnyThreadCount() {
        Random rnd = new Random(3);
        for (int n : new int[] {5, 16, 37, 100}) {
            int rows = 11;
            float[] x = randoms(rnd, rows * n, 1);
            float[] dy = randoms(rnd, rows * n, 1);
            Tensor g = gain(randoms(rnd, n, 1));
            float[] rstd = new float[rows];
            RmsNorm.forwardRows(new float[rows * n], x, g, rows, n, 1e-5f, rstd, one);
            float[] dg0 = randoms(rnd, n, 1);
            // reference: one row at a time, dg accumulated in row order
            float[] wdx = new float[rows * n];
            float[] wdg = dg0.clone();
            for (int b = 0; b < rows; b++) {
                RmsNorm.backward(wdx, b * n, false, dy, b * n, x, b * n, rstd[b], g, wdg, n);
            }
            for (Parallel par : new Parallel[] {one, two, three}) {
                float[] dx = new float[rows * n];
                float[] dg = dg0.clone();
                RmsNorm.backwardRows(dx, false, dy, x, rstd, g, dg, rows, n, par);
                assertThat(dx).as("dx n=%d threads=%d", n, par.threads()).isEqualTo(wdx);
                assertThat(dg).as("dg n=%d threads=%d", n, par.threads()).isEqualTo(wdg);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ Rotary

    @Test
    void rotaryIsBitIdenticalToScalarTwinInBothLayoutsAndDirections() {
        Random rnd = new Random(4);
        for (int headDim : new int[] {2, 6, 16, 34, 64}) {
            float[] inv = new float[headDim / 2];
            for (int i = 0; i < inv.length; i++) {
                inv[i] = (float) Math.pow(10000, -2.0 * i / headDim);
            }
            Rotary.Table tb = Rotary.Table.of(inv, 300);
            for (boolean inter : new boolean[] {false, true}) {
                for (int pos : new int[] {0, 1, 17, 299}) {
                    float[] x = randoms(rnd, 3 * headDim + 4, 1);
                    float[] a = x.clone();
                    float[] b = x.clone();
                    Rotary.forward(tb, inter, a, 4, 3, headDim, pos);
                    ScalarKernels.rotaryForward(b, 4, 3, headDim, pos, inv, inter);
                    assertThat(a).as("fwd d=%d inter=%s pos=%d", headDim, inter, pos).isEqualTo(b);
                    Rotary.backward(tb, inter, a, 4, 3, headDim, pos);
                    ScalarKernels.rotaryBackward(b, 4, 3, headDim, pos, inv, inter);
                    assertThat(a).as("bwd d=%d inter=%s pos=%d", headDim, inter, pos).isEqualTo(b);
                    // a rotation and its inverse: back to x up to 2 roundings per step (|c|,|s| ≤ 1)
                    assertClose(a, x, 1e-6, 0, "round trip");
                }
            }
        }
    }

    @Test
    void rotaryBackwardInterleavedIsHalfAtPermutedPositions() {
        Random rnd = new Random(5);
        for (int headDim : new int[] {2, 8, 18}) {
            int half = headDim / 2;
            float[] inv = new float[half];
            for (int i = 0; i < half; i++) {
                inv[i] = (float) Math.pow(500000, -2.0 * i / headDim);
            }
            Rotary.Table tb = Rotary.Table.of(inv, 50);
            int heads = 2;
            float[] hf = randoms(rnd, heads * headDim, 1);
            float[] il = new float[hf.length];                 // pair i at (2i, 2i+1) instead of (i, i + d/2)
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < half; i++) {
                    il[h * headDim + 2 * i] = hf[h * headDim + i];
                    il[h * headDim + 2 * i + 1] = hf[h * headDim + half + i];
                }
            }
            Rotary.backward(tb, false, hf, 0, heads, headDim, 49);
            Rotary.backward(tb, true, il, 0, heads, headDim, 49);
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < half; i++) {
                    assertThat(Float.floatToRawIntBits(il[h * headDim + 2 * i]))
                            .isEqualTo(Float.floatToRawIntBits(hf[h * headDim + i]));
                    assertThat(Float.floatToRawIntBits(il[h * headDim + 2 * i + 1]))
                            .isEqualTo(Float.floatToRawIntBits(hf[h * headDim + half + i]));
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ Attention

    /**
     * Both forward kernels (t &lt; 16: one query at a time; t ≥ 16: head at a time) against the twin: MHA, GQA and
     * MQA, head dims below, at and above the vector width, a KV cache (pos0 &gt; 0) with the probabilities kept and
     * not, offsets on every array. Tolerance: scores differ by a reordered hd-term sum and exp by ≤ 2 ulp, so P and
     * o differ by ~1e-6 relative; 2e-5 of the largest value.
     */
    @Test
    void attentionForwardBothKernelsMatchScalarTwin() {
        Random rnd = new Random(6);
        int[][] shapes = {{4, 4, 8}, {4, 2, 5}, {6, 2, 16}, {3, 1, 33}};
        int checked = 0;
        for (int[] s : shapes) {
            Attention.Shape sh = new Attention.Shape(s[0], s[1], s[2]);
            for (int t : new int[] {1, 3, 15, 16, 17, 40}) {
                for (int pos0 : new int[] {0, 7}) {
                    int ctx = pos0 + t;
                    int qOff = 3;
                    int kvOff = 5;
                    float[] q = randoms(rnd, qOff + t * sh.qDim(), 1);
                    float[] k = randoms(rnd, kvOff + ctx * sh.kvDim(), 1);
                    float[] v = randoms(rnd, kvOff + ctx * sh.kvDim(), 1);
                    float[] want = new float[2 + t * sh.qDim()];
                    float[] wantP = new float[1 + sh.heads() * t * ctx];
                    ScalarKernels.attention(sh, q, qOff, k, v, kvOff, want, 2, t, pos0, wantP, 1);
                    float[] first = null;
                    for (Parallel par : new Parallel[] {one, two, three}) {
                        for (boolean keep : new boolean[] {true, false}) {
                            float[] out = new float[2 + t * sh.qDim()];
                            float[] probs = keep ? new float[1 + sh.heads() * t * ctx] : null;
                            if (keep) {
                                java.util.Arrays.fill(probs, Float.NaN);     // every entry must be written
                                probs[0] = 0f;
                            }
                            Attention.forward(sh, q, qOff, k, v, kvOff, out, 2, t, pos0, probs, 1, par);
                            String what = String.format("shape %s t=%d pos0=%d threads=%d keep=%s", sh, t, pos0,
                                    par.threads(), keep);
                            assertClose(out, want, 2e-5, 1e-7, "out " + what);
                            if (first == null) {
                                first = out;
                            } else {
                                assertThat(out).as("bits " + what).isEqualTo(first);
                            }
                            if (keep) {
                                assertClose(probs, wantP, 2e-5, 1e-8, "probs " + what);
                                for (int h = 0; h < sh.heads(); h++) {
                                    for (int i = 0; i < t; i++) {
                                        for (int j = pos0 + i + 1; j < ctx; j++) {
                                            assertThat(probs[1 + (h * t + i) * ctx + j]).isEqualTo(0f);
                                        }
                                    }
                                }
                            }
                            checked++;
                        }
                    }
                }
            }
        }
        assertThat(checked).isEqualTo(4 * 6 * 2 * 3 * 2);
    }

    /** The backward over several sequences against the twin, 1/2/3 threads bit for bit; tolerance as the forward. */
    @Test
    void attentionBackwardMatchesScalarTwin() {
        Random rnd = new Random(7);
        int[][] shapes = {{4, 4, 8}, {4, 2, 5}, {6, 2, 16}, {3, 1, 17}};
        for (int[] s : shapes) {
            Attention.Shape sh = new Attention.Shape(s[0], s[1], s[2]);
            for (int t : new int[] {1, 4, 17, 33}) {
                int seqs = 3;
                int n = seqs * t;
                float[] q = randoms(rnd, n * sh.qDim(), 1);
                float[] k = randoms(rnd, n * sh.kvDim(), 1);
                float[] v = randoms(rnd, n * sh.kvDim(), 1);
                float[] dOut = randoms(rnd, n * sh.qDim(), 1);
                float[] probs = new float[seqs * sh.heads() * t * t];
                float[] out = new float[n * sh.qDim()];
                for (int b = 0; b < seqs; b++) {
                    Attention.forward(sh, q, b * t * sh.qDim(), k, v, b * t * sh.kvDim(), out, b * t * sh.qDim(), t,
                            0, probs, b * sh.heads() * t * t, one);
                }
                float[] wq = new float[n * sh.qDim()];
                float[] wk = new float[n * sh.kvDim()];
                float[] wv = new float[n * sh.kvDim()];
                ScalarKernels.attentionBackward(sh, seqs, t, q, k, v, probs, dOut, wq, wk, wv);
                float[][] first = null;
                for (Parallel par : new Parallel[] {one, two, three}) {
                    float[] dq = randoms(rnd, n * sh.qDim(), 1);            // overwritten, whatever was there
                    float[] dk = randoms(rnd, n * sh.kvDim(), 1);
                    float[] dv = randoms(rnd, n * sh.kvDim(), 1);
                    Attention.backward(sh, seqs, t, q, k, v, probs, dOut, dq, dk, dv, par);
                    String what = String.format("shape %s t=%d threads=%d", sh, t, par.threads());
                    assertClose(dq, wq, 2e-5, 1e-7, "dq " + what);
                    assertClose(dk, wk, 2e-5, 1e-7, "dk " + what);
                    assertClose(dv, wv, 2e-5, 1e-7, "dv " + what);
                    if (first == null) {
                        first = new float[][] {dq, dk, dv};
                    } else {
                        assertThat(dq).as(what).isEqualTo(first[0]);
                        assertThat(dk).as(what).isEqualTo(first[1]);
                        assertThat(dv).as(what).isEqualTo(first[2]);
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ Gated

    /**
     * Every activation, dReLU on and off, L1 on and off, ranges of every length mod the vector width from odd
     * offsets; entries outside [from, to) untouched. ReLU, ReLU², FATReLU and both GELUs are bit-identical to the
     * twin (the same float operations); SiLU goes through the Vector API exp (≤ 2 ulp) and a division, so its values
     * are within 1e-6 relative (a few ulp) of the twin's, and its derivative within 1e-6·(1 + |g|) of the scale of
     * da (1 − σ(g) loses absolute, not relative, precision for large g).
     */
    @ParameterizedTest
    @EnumSource(Gated.Fn.class)
    void gatedForwardAndBackwardMatchScalarTwin(Gated.Fn fn) {
        Random rnd = new Random(8 + fn.ordinal());
        float thr = 0.3f;
        int size = 3 * L + 11;
        for (boolean reluUp : new boolean[] {false, true}) {
            for (float l1 : new float[] {0f, 0.07f}) {
                for (int from : new int[] {0, 1, 3, L - 1}) {
                    for (int len : new int[] {0, 1, 2, L - 1, L, L + 1, 2 * L + 5, 3 * L + 11 - from}) {
                        int to = Math.min(size, from + len);
                        float[] g = randoms(rnd, size, 2);
                        float[] u = randoms(rnd, size, 1);
                        float[] dh = randoms(rnd, size, 1);
                        g[from] = 0f;                                   // kinks: exactly 0 and exactly T
                        if (to - from > 1) {
                            g[from + 1] = thr;
                            u[from + 1] = 0f;
                        }
                        float[] a = filled(size, 9f);
                        float[] h = filled(size, 9f);
                        float[] wa = filled(size, 9f);
                        float[] wh = filled(size, 9f);
                        Gated.forward(fn, thr, reluUp, g, u, a, h, from, to);
                        ScalarKernels.gatedForward(fn, thr, reluUp, g, u, wa, wh, from, to);
                        float[] dg = filled(size, 7f);
                        float[] du = filled(size, 7f);
                        float[] wdg = filled(size, 7f);
                        float[] wdu = filled(size, 7f);
                        Gated.backward(fn, thr, reluUp, g, u, a, dh, l1, dg, du, from, to);
                        ScalarKernels.gatedBackward(fn, thr, reluUp, g, u, a, dh, l1, wdg, wdu, from, to);
                        String what = String.format("%s reluUp=%s l1=%s [%d, %d)", fn, reluUp, l1, from, to);
                        for (int i = 0; i < size; i++) {
                            if (i < from || i >= to) {
                                assertThat(new float[] {a[i], h[i], dg[i], du[i]}).as(what + " outside " + i)
                                        .containsExactly(9f, 9f, 7f, 7f);
                            }
                        }
                        if (fn == Gated.Fn.SILU) {
                            for (int i = from; i < to; i++) {
                                assertThat((double) Math.abs(a[i] - wa[i])).as(what + " a " + i)
                                        .isLessThanOrEqualTo(1e-6 * Math.abs(wa[i]) + 1e-30);
                                assertThat((double) Math.abs(h[i] - wh[i])).as(what + " h " + i)
                                        .isLessThanOrEqualTo(1e-6 * Math.abs(wh[i]) + 1e-30);
                                double da = Math.abs(dh[i] * (reluUp ? Math.max(u[i], 0f) : u[i])) + l1;
                                assertThat((double) Math.abs(dg[i] - wdg[i])).as(what + " dg " + i)
                                        .isLessThanOrEqualTo(1e-6 * (1 + Math.abs(g[i])) * da + 1e-30);
                                assertThat(du[i]).as(what + " du " + i).isEqualTo(wdu[i]);
                            }
                        } else {
                            assertSameValues(a, wa, what + " a");
                            assertSameValues(h, wh, what + " h");
                            assertSameValues(dg, wdg, what + " dg");
                            assertSameValues(du, wdu, what + " du");
                        }
                    }
                }
            }
        }
    }

    static float[] filled(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    // ------------------------------------------------------------------------------------------------ CrossEntropy

    /**
     * Loss and gradient against the twin for vocabularies around the vector width. The kernel's exp is ≤ 2 ulp and
     * its sums run in another order: p = e/Σe within ~1e-6 relative, hence |Δ(scale·(p − onehot))| ≤ 1e-6·scale
     * (p ≤ 1) and the loss within 1e-6 per row (log of a sum known to ~1e-7, plus max − z_y exact).
     */
    @Test
    void crossEntropyMatchesScalarTwin() {
        Random rnd = new Random(9);
        for (int v : new int[] {1, 5, 16, 17, 37, 100, 1000}) {
            int rows = 7;
            float[] z = randoms(rnd, rows * v, 3);
            int[] y = new int[rows + 2];
            for (int r = 0; r < y.length; r++) {
                y[r] = rnd.nextInt(v);
            }
            float scale = 1f / rows;
            float[] wz = z.clone();
            double want = ScalarKernels.crossEntropy(wz, rows, v, y, 2, true, scale);
            double first = Double.NaN;
            float[] firstZ = null;
            for (Parallel par : new Parallel[] {one, two, three}) {
                float[] noGrad = z.clone();
                double l0 = CrossEntropy.forward(noGrad, rows, v, y, 2, false, scale, par);
                assertThat(noGrad).as("forward without grad leaves the logits").isEqualTo(z);
                float[] g = z.clone();
                double l = CrossEntropy.forward(g, rows, v, y, 2, true, scale, par);
                assertThat(l).isEqualTo(l0);
                assertThat(l).as("loss v=%d", v).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-6 * rows));
                assertClose(g, wz, 0, 1e-6 * scale, "grad v=" + v);
                if (firstZ == null) {
                    first = l;
                    firstZ = g;
                } else {
                    assertThat(l).isEqualTo(first);
                    assertThat(g).isEqualTo(firstZ);
                }
            }
        }
    }

    /** Distillation against the twin for α = 0, 0.3, 1; tolerances as {@link #crossEntropyMatchesScalarTwin}. */
    @Test
    void distillMatchesScalarTwin() {
        Random rnd = new Random(10);
        for (int v : new int[] {1, 17, 37, 300}) {
            for (float alpha : new float[] {0f, 0.3f, 1f}) {
                int rows = 5;
                float[] z = randoms(rnd, rows * v, 2);
                float[] tz = randoms(rnd, rows * v, 2);
                int[] y = new int[rows];
                for (int r = 0; r < rows; r++) {
                    y[r] = rnd.nextInt(v);
                }
                float scale = 0.37f;
                float[] wz = z.clone();
                double[] want = ScalarKernels.distill(wz, tz, rows, v, y, 0, alpha, scale);
                double[] first = null;
                float[] firstZ = null;
                for (Parallel par : new Parallel[] {one, two, three}) {
                    float[] g = z.clone();
                    float[] teacher = tz.clone();
                    double[] got = CrossEntropy.distill(g, teacher, rows, v, y, 0, alpha, scale, par);
                    assertThat(teacher).as("teacher read only").isEqualTo(tz);
                    String what = "v=" + v + " alpha=" + alpha;
                    assertThat(got[0]).as("CE " + what).isCloseTo(want[0], org.assertj.core.data.Offset.offset(1e-6 * rows));
                    assertThat(got[1]).as("KL " + what).isCloseTo(want[1], org.assertj.core.data.Offset.offset(1e-6 * rows));
                    assertClose(g, wz, 0, 1e-6 * scale, "grad " + what);
                    if (first == null) {
                        first = got;
                        firstZ = g;
                    } else {
                        assertThat(got).isEqualTo(first);
                        assertThat(g).isEqualTo(firstZ);
                    }
                }
                if (alpha == 0f) {                 // α = 0 is plain cross-entropy
                    float[] ce = z.clone();
                    double l = CrossEntropy.forward(ce, rows, v, y, 0, true, scale, one);
                    assertThat(l).isCloseTo(want[0], org.assertj.core.data.Offset.offset(1e-6 * rows));
                    float[] g = z.clone();
                    CrossEntropy.distill(g, tz, rows, v, y, 0, 0f, scale, one);
                    assertClose(g, ce, 0, 1e-6 * scale, "alpha 0 vs CE v=" + v);
                }
            }
        }
    }
}
