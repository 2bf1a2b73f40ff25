package dev.sparsa.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import static dev.sparsa.tensor.Simd.FS;
import static dev.sparsa.tensor.Simd.L;
import static dev.sparsa.tensor.Simd.hsum;

/**
 * Kernels on activation vectors ({@code float[]} with an offset): dot, sum, RMSNorm, LayerNorm, softmax, RoPE and the
 * element-wise activations, in Vector API form with scalar forms of the activations for per-element use. Each is
 * tested against {@link ScalarKernels}; {@link #rope} is bit-identical to it, the others agree within float rounding
 * (summation order). The kernels that read weights ({@link Tensor}s) are in {@link Kernels}.
 */
public final class VectorOps {
    private VectorOps() {
    }

    private static final FloatVector ONE = FloatVector.broadcast(FS, 1f);

    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector a0 = FloatVector.zero(FS), a1 = a0;
        int i = 0;
        for (int up = n - 2 * L + 1; i < up; i += 2 * L) {
            a0 = FloatVector.fromArray(FS, a, aOff + i).fma(FloatVector.fromArray(FS, b, bOff + i), a0);
            a1 = FloatVector.fromArray(FS, a, aOff + i + L).fma(FloatVector.fromArray(FS, b, bOff + i + L), a1);
        }
        for (int up = FS.loopBound(n); i < up; i += L) {
            a0 = FloatVector.fromArray(FS, a, aOff + i).fma(FloatVector.fromArray(FS, b, bOff + i), a0);
        }
        float sum = hsum(a0.add(a1));
        for (; i < n; i++) {
            sum = Math.fma(a[aOff + i], b[bOff + i], sum);
        }
        return sum;
    }

    /**
     * Cosine similarity a·b / (‖a‖ ‖b‖) of two whole arrays, accumulated in double (embedding comparisons, not a hot
     * path); 0 when either is all zeros.
     */
    public static double cosine(float[] a, float[] b) {
        double ab = 0;
        double aa = 0;
        double bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return aa == 0 || bb == 0 ? 0 : ab / Math.sqrt(aa * bb);
    }

    /** RMSNorm: {@code out = x / sqrt(mean(x²) + eps) ⊙ weight}. */
    public static void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        float ss = dot(x, xOff, x, xOff, n);
        float inv = (float) (1.0 / Math.sqrt((double) ss / n + eps));
        int i = 0;
        for (int up = FS.loopBound(n); i < up; i += L) {
            FloatVector.fromArray(FS, x, xOff + i).mul(inv).mul(FloatVector.fromArray(FS, weight, i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = x[xOff + i] * inv * weight[i];
        }
    }

    /** LayerNorm: {@code out = (x − mean) / sqrt(var + eps) ⊙ gamma + beta} (biased variance). */
    public static void layernorm(float[] out, int outOff, float[] x, int xOff, float[] gamma, float[] beta, int n,
                                 float eps) {
        float mean = sum(x, xOff, n) / n;
        FloatVector m = FloatVector.broadcast(FS, mean);
        FloatVector acc = FloatVector.zero(FS);
        int i = 0;
        for (int up = FS.loopBound(n); i < up; i += L) {
            FloatVector d = FloatVector.fromArray(FS, x, xOff + i).sub(m);
            acc = d.fma(d, acc);
        }
        float var = hsum(acc);
        for (; i < n; i++) {
            float d = x[xOff + i] - mean;
            var = Math.fma(d, d, var);
        }
        float inv = (float) (1.0 / Math.sqrt((double) var / n + eps));
        i = 0;
        for (int up = FS.loopBound(n); i < up; i += L) {
            FloatVector.fromArray(FS, x, xOff + i).sub(m).mul(inv).fma(FloatVector.fromArray(FS, gamma, i),
                    FloatVector.fromArray(FS, beta, i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = Math.fma((x[xOff + i] - mean) * inv, gamma[i], beta[i]);
        }
    }

    /**
     * {@code y[yo + c] = (…((p[0][c] + p[1][c]) + p[2][c]) … + p[n−1][c])} for c in [from, to): the partial outputs
     * of a split reduction summed in a fixed order, lane by lane (no reassociation), so the bits depend on the parts
     * alone (sparse FFN: per-slice partial sums of the down projection).
     */
    public static void sumParts(float[][] p, int n, float[] y, int yo, int from, int to) {
        int c = from;
        for (int up = from + FS.loopBound(to - from); c < up; c += L) {
            FloatVector acc = FloatVector.fromArray(FS, p[0], c);
            for (int k = 1; k < n; k++) {
                acc = acc.add(FloatVector.fromArray(FS, p[k], c));
            }
            acc.intoArray(y, yo + c);
        }
        for (; c < to; c++) {
            float acc = p[0][c];
            for (int k = 1; k < n; k++) {
                acc += p[k][c];
            }
            y[yo + c] = acc;
        }
    }

    /** Σ x[off .. off+n). */
    public static float sum(float[] x, int off, int n) {
        FloatVector acc = FloatVector.zero(FS);
        int i = 0;
        for (int up = FS.loopBound(n); i < up; i += L) {
            acc = acc.add(FloatVector.fromArray(FS, x, off + i));
        }
        float s = hsum(acc);
        for (; i < n; i++) {
            s += x[off + i];
        }
        return s;
    }

    /** In-place softmax over {@code x[off .. off+n)}. */
    public static void softmax(float[] x, int off, int n) {
        FloatVector mv = FloatVector.broadcast(FS, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (int up = FS.loopBound(n); i < up; i += L) {
            mv = mv.max(FloatVector.fromArray(FS, x, off + i));
        }
        float max = mv.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        FloatVector acc = FloatVector.zero(FS);
        for (i = 0; i < n; i += L) { // masked last step: every element goes through the same vector exp
            VectorMask<Float> m = FS.indexInRange(i, n);
            FloatVector e = exp(FloatVector.fromArray(FS, x, off + i, m).sub(max));
            e.intoArray(x, off + i, m);
            acc = acc.add(e, m);
        }
        float inv = 1f / hsum(acc);
        for (i = 0; i < n; i += L) {
            VectorMask<Float> m = FS.indexInRange(i, n);
            FloatVector.fromArray(FS, x, off + i, m).mul(inv).intoArray(x, off + i, m);
        }
    }

    /**
     * RoPE, Hugging Face "rotate_half" layout: for i &lt; headDim/2 the pair is (x[i], x[i + headDim/2]) rotated by
     * {@code pos · invFreq[i]}. Applied to {@code heads} consecutive heads starting at {@code off}. Angles in double
     * (as the reference); bit-identical to {@link ScalarKernels#rope}.
     */
    public static void rope(float[] x, int off, int heads, int headDim, int pos, float[] invFreq) {
        int half = headDim / 2;
        float[] cs = new float[2 * half];
        for (int i = 0; i < half; i++) {
            double angle = pos * (double) invFreq[i];
            cs[i] = (float) Math.cos(angle);
            cs[half + i] = (float) Math.sin(angle);
        }
        for (int h = 0; h < heads; h++) {
            int b = off + h * headDim;
            int i = 0;
            for (int up = FS.loopBound(half); i < up; i += L) {
                FloatVector c = FloatVector.fromArray(FS, cs, i);
                FloatVector s = FloatVector.fromArray(FS, cs, half + i);
                FloatVector x0 = FloatVector.fromArray(FS, x, b + i);
                FloatVector x1 = FloatVector.fromArray(FS, x, b + i + half);
                x0.mul(c).sub(x1.mul(s)).intoArray(x, b + i);
                x0.mul(s).add(x1.mul(c)).intoArray(x, b + i + half);
            }
            for (; i < half; i++) {
                float x0 = x[b + i];
                float x1 = x[b + i + half];
                x[b + i] = x0 * cs[i] - x1 * cs[half + i];
                x[b + i + half] = x0 * cs[half + i] + x1 * cs[i];
            }
        }
    }

    /** In place: {@code x[i] = silu(x[i]) = x[i] / (1 + exp(−x[i]))} for i in [off, off+n). */
    public static void silu(float[] x, int off, int n) {
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = FS.indexInRange(i, n);
            FloatVector v = FloatVector.fromArray(FS, x, off + i, m);
            v.div(exp(v.neg()).add(1f)).intoArray(x, off + i, m);
        }
    }

    /** In place: {@code x[i] = gelu(x[i])} (erf form; float erf, |error| ≤ 1e-6·max(1, |x|)). */
    public static void gelu(float[] x, int off, int n) {
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = FS.indexInRange(i, n);
            FloatVector v = FloatVector.fromArray(FS, x, off + i, m);
            // 0.5·(1 + erf(z)), z = x/√2, via erfc(|z|) ≈ t·P(t)·exp(−z²), t = 1/(1 + p|z|) (A&S 7.1.26)
            FloatVector z = v.mul((float) (1 / Math.sqrt(2))).abs();
            FloatVector t = ONE.div(z.fma(0.3275911f, 1f));
            FloatVector poly = t.fma(1.061405429f, -1.453152027f).mul(t).add(1.421413741f).mul(t).add(-0.284496736f)
                    .mul(t).add(0.254829592f).mul(t);
            FloatVector half = poly.mul(exp(z.mul(z).neg())).mul(0.5f); // erfc(|z|)/2
            FloatVector cdf = half.neg().add(1f).blend(half, v.lt(0f));
            v.mul(cdf).intoArray(x, off + i, m);
        }
    }

    /** In place: {@code x[i] = geluTanh(x[i])}, computed as x·σ(2·√(2/π)·(x + 0.044715x³)) (= 0.5x(1 + tanh(..))). */
    public static void geluTanh(float[] x, int off, int n) {
        float c2 = (float) (2 * Math.sqrt(2.0 / Math.PI));
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = FS.indexInRange(i, n);
            FloatVector v = FloatVector.fromArray(FS, x, off + i, m);
            FloatVector inner = v.mul(v).mul(v).mul(0.044715f).add(v).mul(c2);
            v.div(exp(inner.neg()).add(1f)).intoArray(x, off + i, m);
        }
    }

    /** In place: {@code x[i] = max(0, x[i])}. */
    public static void relu(float[] x, int off, int n) {
        int i = 0;
        for (int up = FS.loopBound(n); i < up; i += L) {
            FloatVector v = FloatVector.fromArray(FS, x, off + i);
            FloatVector.zero(FS).blend(v, v.compare(VectorOperators.GT, 0f)).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] = relu(x[off + i]);
        }
    }

    // The scalar activations: the definitions (in double where it matters) that Activation.apply uses per element and
    // that ScalarKernels' array forms, the references of the vector forms above, apply to every element.

    /** SiLU / Swish: {@code x · σ(x)}. */
    public static float silu(float x) {
        return x / (1f + (float) Math.exp(-x));
    }

    /**
     * {@code out[oo + j] = x·σ(x)} of {@code x[xo + j]} for j in [0, n), lanewise with {@link #exp} (≤ 2 ulp; the dense
     * gated step's formula, {@code Gated}): each value depends on its input alone, not on n or on where it falls in a
     * vector, so any split of a row into ranges gives the same bits. From L elements on the last vector overlaps the
     * one before (the same values recomputed); a shorter range takes its lanes from one vector over a window of x in
     * bounds (x itself shorter than a vector: the scalar formula, then every range of that x is scalar).
     */
    public static void siluRange(float[] x, int xo, float[] out, int oo, int n) {
        if (n >= L) {
            for (int j = 0; ; j += L) {
                int at = Math.min(j, n - L);
                FloatVector v = FloatVector.fromArray(FS, x, xo + at);
                v.div(exp(v.neg()).add(1f)).intoArray(out, oo + at);
                if (at == n - L) {
                    return;
                }
            }
        }
        if (x.length < L) {
            for (int j = 0; j < n; j++) {
                out[oo + j] = silu(x[xo + j]);
            }
            return;
        }
        int s = Math.min(xo, x.length - L);
        FloatVector v = FloatVector.fromArray(FS, x, s);
        v = v.div(exp(v.neg()).add(1f));
        for (int j = 0; j < n; j++) {
            out[oo + j] = v.lane(xo - s + j);
        }
    }

    /** GELU, exact erf form (BERT, {@code hidden_act = "gelu"}). */
    public static float gelu(float x) {
        return (float) (0.5 * x * (1.0 + Erf.erf(x / Math.sqrt(2.0))));
    }

    /** GELU, tanh approximation ({@code gelu_new}, {@code gelu_pytorch_tanh}). */
    public static float geluTanh(float x) {
        double c = Math.sqrt(2.0 / Math.PI);
        return (float) (0.5 * x * (1.0 + Math.tanh(c * (x + 0.044715 * x * x * x))));
    }

    public static float relu(float x) {
        return x > 0f ? x : 0f;
    }

    private static final FloatVector LOG2E = FloatVector.broadcast(FS, 1.44269504088896341f);
    private static final float ROUND = 12582912f; // 1.5·2^23: adding it rounds to an integer
    private static final FloatVector EXP_P1 = FloatVector.broadcast(FS, 1.3981999507E-3f);
    private static final FloatVector EXP_P2 = FloatVector.broadcast(FS, 8.3334519073E-3f);
    private static final FloatVector EXP_P3 = FloatVector.broadcast(FS, 4.1665795894E-2f);
    private static final FloatVector EXP_P4 = FloatVector.broadcast(FS, 1.6666665459E-1f);
    private static final FloatVector EXP_P5 = FloatVector.broadcast(FS, 5.0000001201E-1f);

    /**
     * e^x per lane (Cephes expf: x = n·ln2 + r, degree-6 polynomial in r, times 2^n; ≤ 2 ulp), x clamped to
     * [−87, 88]. Built from plain lanewise arithmetic so it gives the same bits in the interpreter and in JIT code
     * (VectorOperators.EXP does not).
     */
    static FloatVector exp(FloatVector x) {
        x = x.max(-87f).min(88f);
        FloatVector t = x.fma(LOG2E, FloatVector.broadcast(FS, ROUND));
        FloatVector n = t.sub(ROUND);
        IntVector pow2 = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND) - 127).lanewise(VectorOperators.LSHL, 23);
        FloatVector r = x.sub(n.mul(0.693359375f)).add(n.mul(2.12194440e-4f)); // ln2 in two parts
        FloatVector p = r.mul(1.9875691500E-4f).add(EXP_P1).fma(r, EXP_P2).fma(r, EXP_P3).fma(r, EXP_P4).fma(r, EXP_P5);
        return p.fma(r.mul(r), r).add(1f).mul(pow2.reinterpretAsFloats());
    }
}
