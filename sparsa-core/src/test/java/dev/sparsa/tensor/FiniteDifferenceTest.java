package dev.sparsa.tensor;

import static dev.sparsa.tensor.FiniteDiff.toDouble;
import static dev.sparsa.tensor.TrainKernelsTest.randoms;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.function.ToDoubleFunction;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every backward of the training kernels against central finite differences of a double-precision reference
 * forward written here (plain loops in double, no project kernel): the "loss" is the forward's output contracted with
 * a fixed random cotangent, Σ dy·y, so its gradient is what the float backward computes from dy.
 *
 * <p>Tolerance: {@code max|fd − grad| ≤ 2e-5·max|grad| + 1e-9} per tensor. The finite differences are good to
 * ~1e-9 relative ({@link FiniteDiff}); the float backward's entries are sums of at most a few hundred rounded
 * products of O(1) values, ~1e-7..1e-6 of max|grad| (measured ≤ 3.1e-7 here), so 2e-5 leaves a wide margin while a
 * wrong term, sign, index or scale is an O(1) error (and a dropped ε in RMSNorm is caught where mean x² ≈ ε).
 */
class FiniteDifferenceTest {
    static final double REL = 2e-5;
    static final double ABS = 1e-9;
    static final int L = Simd.L;
    static Parallel one;
    static Parallel three;

    @BeforeAll
    static void pools() {
        one = new Parallel(1);
        three = new Parallel(3);
    }

    @AfterAll
    static void close() {
        one.close();
        three.close();
    }

    static double dot(double[] a, int ao, double[] b, int bo, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += a[ao + i] * b[bo + i];
        }
        return s;
    }

    /** Up to {@code count} distinct indices in [0, n) (all of them when n ≤ count). */
    static int[] sample(Random rnd, int n, int count) {
        if (n <= count) {
            int[] all = new int[n];
            for (int i = 0; i < n; i++) {
                all[i] = i;
            }
            return all;
        }
        return rnd.ints(0, n).distinct().limit(count).sorted().toArray();
    }

    static double[] partials(ToDoubleFunction<double[]> f, double[] x, int[] idx) {
        double[] d = new double[idx.length];
        for (int k = 0; k < idx.length; k++) {
            d[k] = FiniteDiff.partial(f, x, idx[k]);
        }
        return d;
    }

    // ------------------------------------------------------------------------------------------------ RMSNorm

    /** Σ dy ⊙ RMSNorm(x) ⊙ g over rows, in double: r = 1/√(mean x² + ε), y = x·r·g. */
    static double rmsnormRef(double[] x, double[] g, double[] dy, int rows, int n, double eps) {
        double loss = 0;
        for (int b = 0; b < rows; b++) {
            double ms = 0;
            for (int i = 0; i < n; i++) {
                ms += x[b * n + i] * x[b * n + i];
            }
            double r = 1 / Math.sqrt(ms / n + eps);
            for (int i = 0; i < n; i++) {
                loss += dy[b * n + i] * x[b * n + i] * r * g[i];
            }
        }
        return loss;
    }

    @Test
    void rmsnormBackwardIsTheGradient() {
        double worst = 0;
        Random rnd = new Random(11);
        float eps = 1e-5f;
        for (int n : new int[] {1, 2, 7, 16, 17, 37, 100}) {
            // scale 1: mean x² ≫ ε; scale 3e-3: mean x² ≈ ε, where ε's place in r matters
            for (double xs : new double[] {1, 3e-3}) {
                int rows = 3;
                float[] x = randoms(rnd, rows * n, xs);
                float[] g = randoms(rnd, n, 1);
                float[] dy = randoms(rnd, rows * n, 1);
                Tensor gt = Tensor.f32("g", g, n);
                float[] rstd = new float[rows];
                RmsNorm.forwardRows(new float[rows * n], x, gt, rows, n, eps, rstd, one);
                float[] dg = new float[n];
                float[] dx = new float[rows * n];
                RmsNorm.backwardRows(dx, false, dy, x, rstd, gt, dg, rows, n, three);
                double[] xd = toDouble(x);
                double[] gd = toDouble(g);
                double[] dyd = toDouble(dy);
                String what = "n=" + n + " |x|~" + xs;
                // dx is the difference of r·dy⊙g and (r³c/n)·x, which cancel for small n (all of dx for n = 1): an
                // absolute error of a few ulp of the terms, 1e-6·max r|dy g|, on top
                double terms = 0;
                for (int i = 0; i < rows * n; i++) {
                    terms = Math.max(terms, rstd[i / n] * Math.abs(dy[i] * g[i % n]));
                }
                double ex = FiniteDiff.assertMatches("RMSNorm dx " + what,
                        FiniteDiff.gradient(v -> rmsnormRef(v, gd, dyd, rows, n, eps), xd), dx, null, REL,
                        1e-6 * terms, false);
                worst = Math.max(worst, FiniteDiff.assertMatches("RMSNorm dg " + what,
                        FiniteDiff.gradient(v -> rmsnormRef(xd, v, dyd, rows, n, eps), gd), dg, null, REL, ABS, false));
                // one row at a time, accumulating into dx and dg that already hold values
                float[] dx1 = randoms(rnd, n, 1);
                float[] prior = dx1.clone();
                float[] dg1 = randoms(rnd, n, 1);
                float[] dgPrior = dg1.clone();
                RmsNorm.backward(dx1, 0, true, dy, n, x, n, rstd[1], gt, dg1, n);
                double[] x1 = java.util.Arrays.copyOfRange(xd, n, 2 * n);
                double[] dy1 = java.util.Arrays.copyOfRange(dyd, n, 2 * n);
                float[] addX = new float[n];
                float[] addG = new float[n];
                for (int i = 0; i < n; i++) {
                    addX[i] = dx1[i] - prior[i];
                    addG[i] = dg1[i] - dgPrior[i];
                }
                // the subtraction re-rounds: ≤ 1 ulp of the prior (|prior| ~ 1, up to 4) on top
                double ex1 = FiniteDiff.assertMatches("RMSNorm row dx " + what,
                        FiniteDiff.gradient(v -> rmsnormRef(v, gd, dy1, 1, n, eps), x1), addX, null, REL,
                        1e-6 * terms + 5e-7, false);
                if (n > 1) {
                    worst = Math.max(worst, Math.max(ex, ex1));
                }
                worst = Math.max(worst, FiniteDiff.assertMatches("RMSNorm row dg " + what,
                        FiniteDiff.gradient(v -> rmsnormRef(x1, v, dy1, 1, n, eps), gd), addG, null, REL, 5e-7, false));
            }
        }
        System.out.printf("%s: max |fd - grad| / max |grad| = %.2g (n > 1; n = 1 is all cancellation)%n", "RMSNorm",
                worst);
    }

    // ------------------------------------------------------------------------------------------------ Rotary

    /** Σ dy ⊙ RoPE(x) in double, row b at position pos[b]; pair i = (i, i + d/2) or (2i, 2i+1). */
    static double rotaryRef(double[] x, double[] dy, int[] pos, int heads, int hd, float[] inv, boolean inter) {
        int half = hd / 2;
        double loss = 0;
        for (int b = 0; b < pos.length; b++) {
            for (int h = 0; h < heads; h++) {
                int o = (b * heads + h) * hd;
                for (int i = 0; i < half; i++) {
                    int i0 = inter ? o + 2 * i : o + i;
                    int i1 = inter ? i0 + 1 : i0 + half;
                    double th = pos[b] * (double) inv[i];
                    double y0 = x[i0] * Math.cos(th) - x[i1] * Math.sin(th);
                    double y1 = x[i0] * Math.sin(th) + x[i1] * Math.cos(th);
                    loss += dy[i0] * y0 + dy[i1] * y1;
                }
            }
        }
        return loss;
    }

    @Test
    void rotaryBackwardIsTheGradientInBothLayouts() {
        double worst = 0;
        Random rnd = new Random(12);
        int[] pos = {0, 1, 5, 17, 250};
        for (int hd : new int[] {2, 6, 16, 34}) {
            float[] inv = new float[hd / 2];
            for (int i = 0; i < inv.length; i++) {
                inv[i] = (float) Math.pow(10000, -2.0 * i / hd);
            }
            Rotary.Table tb = Rotary.Table.of(inv, 251);
            for (boolean inter : new boolean[] {false, true}) {
                int heads = 3;
                int w = heads * hd;
                float[] x = randoms(rnd, pos.length * w, 1);
                float[] dy = randoms(rnd, pos.length * w, 1);
                float[] g = dy.clone();
                for (int b = 0; b < pos.length; b++) {
                    Rotary.backward(tb, inter, g, b * w, heads, hd, pos[b]);
                }
                double[] dyd = toDouble(dy);
                worst = Math.max(worst, FiniteDiff.assertMatches("RoPE d=" + hd + " interleaved=" + inter,
                        FiniteDiff.gradient(v -> rotaryRef(v, dyd, pos, heads, hd, inv, inter), toDouble(x)), g, null,
                        REL, ABS, false));
            }
        }
        System.out.printf("%s: max |fd - grad| / max |grad| = %.2g%n", "RoPE", worst);
    }

    // ------------------------------------------------------------------------------------------------ Attention

    /** Causal GQA attention in double over each of {@code seqs} sequences of t tokens: {@code [seqs·t, H·hd]}. */
    static double[] attentionRef(double[] q, double[] k, double[] v, int seqs, int t, int heads, int kvHeads, int hd) {
        int qDim = heads * hd;
        int kvDim = kvHeads * hd;
        int group = heads / kvHeads;
        double scale = 1 / Math.sqrt(hd);
        double[] p = new double[t];
        double[] out = new double[seqs * t * qDim];
        for (int b = 0; b < seqs; b++) {
            for (int h = 0; h < heads; h++) {
                int kvo = b * t * kvDim + (h / group) * hd;
                for (int i = 0; i < t; i++) {
                    int qo = (b * t + i) * qDim + h * hd;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        p[j] = dot(q, qo, k, kvo + j * kvDim, hd) * scale;        // s_j = q·k_j / √d
                        max = Math.max(max, p[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) {
                        p[j] = Math.exp(p[j] - max);
                        sum += p[j];
                    }
                    for (int j = 0; j <= i; j++) {                                 // o = Σ_j P_j v_j
                        for (int c = 0; c < hd; c++) {
                            out[qo + c] += p[j] / sum * v[kvo + j * kvDim + c];
                        }
                    }
                }
            }
        }
        return out;
    }

    /**
     * dq, dk, dv of {@link Attention#backward} (over the probabilities of {@link Attention#forward}, both forward
     * kernels: t below and above 16) against finite differences: MHA, GQA, MQA, odd head dims, several sequences.
     * Scores are made O(1..3) (q, k ~ N(0, 1.5²)) so the softmax is neither flat nor one-hot.
     */
    @Test
    void attentionBackwardIsTheGradient() {
        double worst = 0;
        Random rnd = new Random(13);
        int[][] cases = {{4, 2, 5, 3, 2}, {2, 2, 8, 6, 3}, {4, 1, 3, 17, 2}, {2, 1, 16, 18, 2}};   // H, KV, hd, t, seqs
        for (int[] c : cases) {
            int heads = c[0];
            int kvHeads = c[1];
            int hd = c[2];
            int t = c[3];
            int seqs = c[4];
            Attention.Shape sh = new Attention.Shape(heads, kvHeads, hd);
            int n = seqs * t;
            float[] q = randoms(rnd, n * sh.qDim(), 1.5);
            float[] k = randoms(rnd, n * sh.kvDim(), 1.5);
            float[] v = randoms(rnd, n * sh.kvDim(), 1);
            float[] dOut = randoms(rnd, n * sh.qDim(), 1);
            float[] probs = new float[seqs * heads * t * t];
            float[] out = new float[n * sh.qDim()];
            for (int b = 0; b < seqs; b++) {
                Attention.forward(sh, q, b * t * sh.qDim(), k, v, b * t * sh.kvDim(), out, b * t * sh.qDim(), t, 0,
                        probs, b * heads * t * t, three);
            }
            float[] dq = new float[n * sh.qDim()];
            float[] dk = new float[n * sh.kvDim()];
            float[] dv = new float[n * sh.kvDim()];
            Attention.backward(sh, seqs, t, q, k, v, probs, dOut, dq, dk, dv, three);
            double[] qd = toDouble(q);
            double[] kd = toDouble(k);
            double[] vd = toDouble(v);
            double[] dod = toDouble(dOut);
            String what = String.format("H=%d KV=%d hd=%d t=%d seqs=%d", heads, kvHeads, hd, t, seqs);
            // the output the backward's P came from, against the double forward (a reordered float sum: 2e-6)
            double[] want = attentionRef(qd, kd, vd, seqs, t, heads, kvHeads, hd);
            for (int i = 0; i < out.length; i++) {
                assertThat((double) out[i]).as("out %s [%d]", what, i).isCloseTo(want[i],
                        org.assertj.core.data.Offset.offset(2e-6));
            }
            ToDoubleFunction<double[][]> loss = a -> dot(attentionRef(a[0], a[1], a[2], seqs, t, heads, kvHeads, hd),
                    0, dod, 0, dod.length);
            int[] iq = sample(rnd, qd.length, 150);
            int[] ik = sample(rnd, kd.length, 150);
            int[] iv = sample(rnd, vd.length, 150);
            worst = Math.max(worst, FiniteDiff.assertMatches("attention dq " + what,
                    partials(x -> loss.applyAsDouble(new double[][] {x, kd, vd}), qd, iq), dq, iq, REL, ABS, false));
            worst = Math.max(worst, FiniteDiff.assertMatches("attention dk " + what,
                    partials(x -> loss.applyAsDouble(new double[][] {qd, x, vd}), kd, ik), dk, ik, REL, ABS, false));
            worst = Math.max(worst, FiniteDiff.assertMatches("attention dv " + what,
                    partials(x -> loss.applyAsDouble(new double[][] {qd, kd, x}), vd, iv), dv, iv, REL, ABS, false));
        }
        System.out.printf("%s: max |fd - grad| / max |grad| = %.2g%n", "attention", worst);
    }

    // ------------------------------------------------------------------------------------------------ Gated

    /** act(x) in double. */
    static double actRef(Gated.Fn fn, double thr, double x) {
        return switch (fn) {
            case SILU -> x / (1 + Math.exp(-x));
            case GELU -> 0.5 * x * (1 + Erf.erf(x / Math.sqrt(2)));
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case RELU -> Math.max(x, 0);
            case RELU2 -> Math.max(x, 0) * Math.max(x, 0);
            case FATRELU -> x >= thr ? x : 0;
        };
    }

    /** One element's loss: dh·act(g)·u' + λ·|act(g)|, u' = ReLU(u) with reluUp. */
    static double gatedRef(Gated.Fn fn, double thr, boolean reluUp, double g, double u, double dh, double l1) {
        double a = actRef(fn, thr, g);
        return dh * a * (reluUp ? Math.max(u, 0) : u) + l1 * Math.abs(a);
    }

    /**
     * dg and du of {@link Gated#backward} against finite differences of dh·h + λ|a| for every activation, dReLU on
     * and off, with and without the L1 term; ranges start at odd offsets and have lengths that are not multiples of
     * the vector width (masked tails). Samples keep 0.05 away from the kinks (g = 0, g = T, u = 0 with dReLU), far
     * more than the step; the subgradients at the kinks are {@link #gatedSubgradientsAtKinksAreTheDocumentedOnes}.
     */
    @ParameterizedTest
    @EnumSource(Gated.Fn.class)
    void gatedBackwardIsTheGradient(Gated.Fn fn) {
        double worst = 0;
        Random rnd = new Random(14 + fn.ordinal());
        float thr = 0.4f;
        int size = 4 * L + 9;
        for (boolean reluUp : new boolean[] {false, true}) {
            for (float l1 : new float[] {0f, 0.07f}) {
                for (int[] range : new int[][] {{0, size}, {3, size - 2}, {1, L + 6}, {L - 3, L + 2}}) {
                    int from = range[0];
                    int to = range[1];
                    float[] g = new float[size];
                    float[] u = new float[size];
                    for (int i = 0; i < size; i++) {
                        g[i] = awayFrom(rnd, 2.5, 0, thr);
                        u[i] = awayFrom(rnd, 1, 0, 0);
                    }
                    g[from] = 1.5f;                                 // one live element in every range
                    u[from] = 0.8f;
                    float[] dh = randoms(rnd, size, 1);
                    float[] a = new float[size];
                    float[] h = new float[size];
                    Gated.forward(fn, thr, reluUp, g, u, a, h, from, to);
                    float[] dg = new float[size];
                    float[] du = new float[size];
                    Gated.backward(fn, thr, reluUp, g, u, a, dh, l1, dg, du, from, to);
                    double[] fdg = new double[to - from];
                    double[] fdu = new double[to - from];
                    int[] idx = new int[to - from];
                    for (int i = from; i < to; i++) {
                        int j = i;
                        double[] gu = {g[i], u[i]};
                        ToDoubleFunction<double[]> f = x -> gatedRef(fn, thr, reluUp, x[0], x[1], dh[j], l1);
                        fdg[i - from] = FiniteDiff.partial(f, gu, 0);
                        fdu[i - from] = FiniteDiff.partial(f, gu, 1);
                        idx[i - from] = i;
                        // the forward too: a and h against the double reference (SiLU's vector exp: a few ulp)
                        double wa = actRef(fn, thr, g[i]);
                        assertThat((double) a[i]).as("%s a[%d]", fn, i).isCloseTo(wa,
                                org.assertj.core.data.Offset.offset(1e-6 * Math.abs(wa) + 1e-30));
                    }
                    String what = String.format("%s reluUp=%s l1=%s [%d, %d)", fn, reluUp, l1, from, to);
                    worst = Math.max(worst, FiniteDiff.assertMatches("dg " + what, fdg, dg, idx, REL, ABS, false));
                    worst = Math.max(worst, FiniteDiff.assertMatches("du " + what, fdu, du, idx, REL, ABS, false));
                    // and per element: dg is a product of a few rounded factors (~1e-7 relative each); the finite
                    // difference's rounding noise is ~2⁻⁵²·|dh·h + λ|a||/h ≲ 1e-9
                    for (int i = from; i < to; i++) {
                        double tolG = 2e-6 * (Math.abs(dg[i]) + Math.abs(fdg[i - from])) + 1e-9;
                        assertThat(Math.abs(dg[i] - fdg[i - from])).as("dg[%d] " + what, i).isLessThanOrEqualTo(tolG);
                    }
                }
            }
        }
        System.out.printf("%s: max |fd - grad| / max |grad| = %.2g%n", "gated " + fn, worst);
    }

    /** A N(0, s²) sample at least 0.05 away from k0 and k1. */
    static float awayFrom(Random rnd, double s, double k0, double k1) {
        while (true) {
            float x = (float) (rnd.nextGaussian() * s);
            if (Math.abs(x - k0) > 0.05 && Math.abs(x - k1) > 0.05) {
                return x;
            }
        }
    }

    /**
     * At the kinks the class comment promises PyTorch's choices: ReLU'(0) = 0 (and ReLU²'s, which is 0 anyway);
     * FATReLU takes the right piece, act'(T) = 1, act'(T⁻) = 0; dReLU's up gate passes no gradient at u = 0; the L1
     * subgradient sign(a) is 0 at a = 0. Every element sits in the vector body or the masked tail.
     */
    @Test
    void gatedSubgradientsAtKinksAreTheDocumentedOnes() {
        float thr = 0.4f;
        float below = Math.nextDown(thr);
        float l1 = 0.25f;
        for (int len : new int[] {L, L + 3}) {
            for (int i = 0; i < len; i++) {
                float[] g = new float[len];
                float[] u = new float[len];
                float[] dh = new float[len];
                java.util.Arrays.fill(g, 1f);
                java.util.Arrays.fill(u, 1f);
                java.util.Arrays.fill(dh, 1f);
                dh[i] = 0.5f;
                // ReLU at g = 0: a = 0, act' = 0 → dg = 0 whatever dh, u and λ
                check(Gated.Fn.RELU, thr, false, g, u, dh, l1, i, 0f, 1.5f, 0f, 0f);
                check(Gated.Fn.RELU2, thr, false, g, u, dh, l1, i, 0f, 1.5f, 0f, 0f);
                // FATReLU at T: a = T, act' = 1 → dg = dh·u + λ·sign(T) = 0.5·1.5 + λ; du = dh·T
                check(Gated.Fn.FATRELU, thr, false, g, u, dh, l1, i, thr, 1.5f, 0.5f * 1.5f + l1, 0.5f * thr);
                // FATReLU just below T: a = 0, act' = 0
                check(Gated.Fn.FATRELU, thr, false, g, u, dh, l1, i, below, 1.5f, 0f, 0f);
                // dReLU at u = 0: u' = 0, du = 0; da = λ·sign(a), dg = λ for a = g = 2 > 0
                check(Gated.Fn.RELU, thr, true, g, u, dh, l1, i, 2f, 0f, l1, 0f);
                // SiLU at g = 0: a = 0, sign(a) = 0, act'(0) = 1/2 → dg = dh·u/2 = 0.375; du = dh·a = 0
                check(Gated.Fn.SILU, thr, false, g, u, dh, l1, i, 0f, 1.5f, 0.375f, 0f);
            }
        }
    }

    private static void check(Gated.Fn fn, float thr, boolean reluUp, float[] g0, float[] u0, float[] dh, float l1,
                              int i, float gi, float ui, float wantDg, float wantDu) {
        float[] g = g0.clone();
        float[] u = u0.clone();
        g[i] = gi;
        u[i] = ui;
        int n = g.length;
        float[] a = new float[n];
        float[] h = new float[n];
        float[] dg = new float[n];
        float[] du = new float[n];
        Gated.forward(fn, thr, reluUp, g, u, a, h, 0, n);
        Gated.backward(fn, thr, reluUp, g, u, a, dh, l1, dg, du, 0, n);
        String what = String.format("%s reluUp=%s g=%s u=%s at %d of %d", fn, reluUp, gi, ui, i, n);
        assertThat(dg[i]).as("dg " + what).isEqualTo(wantDg);
        assertThat(du[i]).as("du " + what).isEqualTo(wantDu);
    }

    // ------------------------------------------------------------------------------------------------ CrossEntropy

    /** Σ_r (1 − α)·(lse(z_r) − z_{r,y}) + α·KL(q_r ‖ p_r), p = softmax(z), q = softmax(teacher), in double. */
    static double ceRef(double[] z, double[] teacher, int rows, int v, int[] y, double alpha, double[] parts) {
        double ce = 0;
        double kl = 0;
        for (int r = 0; r < rows; r++) {
            double lse = lse(z, r * v, v);
            ce += lse - z[r * v + y[r]];
            if (teacher != null) {
                double lt = lse(teacher, r * v, v);
                for (int j = 0; j < v; j++) {
                    double lq = teacher[r * v + j] - lt;
                    kl += Math.exp(lq) * (lq - (z[r * v + j] - lse));
                }
            }
        }
        if (parts != null) {
            parts[0] = ce;
            parts[1] = kl;
        }
        return (1 - alpha) * ce + alpha * kl;
    }

    static double lse(double[] x, int off, int n) {
        double m = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, x[off + i]);
        }
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += Math.exp(x[off + i] - m);
        }
        return m + Math.log(s);
    }

    /** The fused CE gradient (scaled) and its loss against finite differences of the double loss. */
    @Test
    void crossEntropyGradientIsTheGradient() {
        double worst = 0;
        Random rnd = new Random(15);
        for (int v : new int[] {2, 5, 16, 17, 37, 100}) {
            int rows = 4;
            float[] z = randoms(rnd, rows * v, 2);
            int[] y = rnd.ints(rows, 0, v).toArray();
            float scale = 1f / rows;
            float[] g = z.clone();
            double loss = CrossEntropy.forward(g, rows, v, y, 0, true, scale, three);
            double[] zd = toDouble(z);
            double[] parts = new double[2];
            ceRef(zd, null, rows, v, y, 0, parts);
            // log-sum-exp from a float exp sum: ~1e-7 relative per row
            assertThat(loss).as("CE v=%d", v).isCloseTo(parts[0], org.assertj.core.data.Offset.offset(1e-6 * rows));
            double[] fd = FiniteDiff.gradient(x -> scale * ceRef(x, null, rows, v, y, 0, null), zd);
            worst = Math.max(worst, FiniteDiff.assertMatches("CE v=" + v, fd, g, null, REL, ABS, false));
        }
        System.out.printf("%s: max |fd - grad| / max |grad| = %.2g%n", "cross-entropy", worst);
    }

    /** Distillation (α = 0, 0.3, 1): gradient and both returned sums against the double reference. */
    @Test
    void distillGradientIsTheGradient() {
        double worst = 0;
        Random rnd = new Random(16);
        for (int v : new int[] {2, 17, 37}) {
            for (float alpha : new float[] {0f, 0.3f, 1f}) {
                int rows = 3;
                float[] z = randoms(rnd, rows * v, 2);
                float[] tz = randoms(rnd, rows * v, 2);
                int[] y = rnd.ints(rows, 0, v).toArray();
                float scale = 0.37f;
                float[] g = z.clone();
                double[] got = CrossEntropy.distill(g, tz, rows, v, y, 0, alpha, scale, three);
                double[] zd = toDouble(z);
                double[] td = toDouble(tz);
                double[] parts = new double[2];
                ceRef(zd, td, rows, v, y, alpha, parts);
                String what = "v=" + v + " alpha=" + alpha;
                assertThat(got[0]).as("CE " + what).isCloseTo(parts[0], org.assertj.core.data.Offset.offset(1e-6 * rows));
                assertThat(got[1]).as("KL " + what).isCloseTo(parts[1], org.assertj.core.data.Offset.offset(1e-6 * rows));
                assertThat(parts[1]).as("KL of distinct distributions").isPositive();
                double[] fd = FiniteDiff.gradient(x -> scale * ceRef(x, td, rows, v, y, alpha, null), zd);
                worst = Math.max(worst, FiniteDiff.assertMatches("distill " + what, fd, g, null, REL, ABS, false));
            }
        }
        System.out.printf("%s: max |fd - grad| / max |grad| = %.2g%n", "distillation", worst);
    }
}
