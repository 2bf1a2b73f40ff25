package dev.sparsa.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The elementwise step of a gated FFN (Shazeer 2020, GLU variants), forward and backward side by side:
 * <pre>
 *   a = act(g),  u' = reluUp ? ReLU(u) : u,  h = a ⊙ u'
 *   backward: da = dh ⊙ u' + λ·sign(a),  dg = da ⊙ act'(g),  du = dh ⊙ a ⊙ (reluUp ? [u &gt; 0] : 1)
 * </pre>
 * λ·sign(a) is the gradient of an L1 penalty λ·Σ|a| on the activations (ProSparse's regularizer; 0 for none). act is
 * SiLU x·σ(x), GELU (erf), GELU (tanh), ReLU, ReLU² = max(0,x)² (ReLU² Wins), FATReLU_T(x) = x·[x ≥ T] (ProSparse step
 * 3); dReLU (TurboSparse) is ReLU with {@code reluUp}. At a kink the derivative taken is that of the piece on the
 * right of it for FATReLU ([x ≥ T]) and 0 for ReLU at 0, as PyTorch does. SiLU uses the Vector API exp
 * ({@link Kernels#exp}, ≤ 2 ulp), so its values can differ from {@link Kernels#silu(float)} in the last bits;
 * {@link ScalarKernels#gatedForward} / {@link ScalarKernels#gatedBackward} are the scalar twins.
 */
public final class Gated {
    private Gated() {
    }

    /** The activation functions of the gate. */
    public enum Fn { SILU, GELU, GELU_TANH, RELU, RELU2, FATRELU }

    private static final VectorSpecies<Float> FS = Simd.FS;
    private static final int L = Simd.L;

    /** a, h over [from, to) (rows are contiguous, so any range of a batch works). */
    public static void forward(Fn fn, float t, boolean reluUp, float[] g, float[] u, float[] a, float[] h, int from,
                               int to) {
        if (vectorized(fn)) {
            for (int i = from; i < to; i += L) {                  // masked last step: every element the same math
                VectorMask<Float> m = FS.indexInRange(i, to);
                FloatVector gv = FloatVector.fromArray(FS, g, i, m);
                FloatVector av = switch (fn) {
                    case SILU -> gv.div(VectorOps.exp(gv.neg()).add(1f));                      // x·σ(x)
                    case RELU -> gv.max(0f);
                    case RELU2 -> { FloatVector r = gv.max(0f); yield r.mul(r); }
                    default -> FloatVector.zero(FS).blend(gv, gv.compare(VectorOperators.GE, t)); // x·[x ≥ T]
                };
                FloatVector uv = FloatVector.fromArray(FS, u, i, m);
                if (reluUp) {
                    uv = uv.max(0f);
                }
                av.intoArray(a, i, m);
                av.mul(uv).intoArray(h, i, m);
            }
            return;
        }
        for (int i = from; i < to; i++) {
            float ai = act(fn, t, g[i]);
            a[i] = ai;
            h[i] = ai * (reluUp ? Math.max(u[i], 0f) : u[i]);
        }
    }

    /**
     * dg and du over [from, to) from dh, the forward's g, u and a; {@code l1} is λ of the L1 penalty (0 for none).
     * dg and du are overwritten.
     */
    public static void backward(Fn fn, float t, boolean reluUp, float[] g, float[] u, float[] a, float[] dh, float l1,
                                float[] dg, float[] du, int from, int to) {
        if (vectorized(fn)) {
            FloatVector zero = FloatVector.zero(FS);
            for (int i = from; i < to; i += L) {
                VectorMask<Float> m = FS.indexInRange(i, to);
                FloatVector gv = FloatVector.fromArray(FS, g, i, m);
                FloatVector uv = FloatVector.fromArray(FS, u, i, m);
                FloatVector av = FloatVector.fromArray(FS, a, i, m);
                FloatVector dhv = FloatVector.fromArray(FS, dh, i, m);
                VectorMask<Float> upOn = uv.compare(VectorOperators.GT, 0f);
                FloatVector up = reluUp ? zero.blend(uv, upOn) : uv;
                FloatVector da = dhv.mul(up);
                if (l1 != 0f) {                                                               // λ·sign(a)
                    da = da.add(zero.blend(l1, av.compare(VectorOperators.GT, 0f)))
                            .sub(zero.blend(l1, av.compare(VectorOperators.LT, 0f)));
                }
                FloatVector d = switch (fn) {
                    case SILU -> {                                                           // σ(x)(1 + x(1 − σ(x)))
                        FloatVector s = VectorOps.exp(gv.neg()).add(1f);
                        s = FloatVector.broadcast(FS, 1f).div(s);
                        yield s.mul(gv.mul(s.neg().add(1f)).add(1f));
                    }
                    case RELU -> zero.blend(1f, gv.compare(VectorOperators.GT, 0f));
                    case RELU2 -> gv.max(0f).mul(2f);
                    default -> zero.blend(1f, gv.compare(VectorOperators.GE, t));
                };
                da.mul(d).intoArray(dg, i, m);
                FloatVector duv = dhv.mul(av);
                if (reluUp) {
                    duv = zero.blend(duv, upOn);
                }
                duv.intoArray(du, i, m);
            }
            return;
        }
        for (int i = from; i < to; i++) {
            float up = reluUp ? Math.max(u[i], 0f) : u[i];
            float da = dh[i] * up + l1 * Math.signum(a[i]);
            dg[i] = da * actGrad(fn, t, g[i]);
            float d = dh[i] * a[i];
            du[i] = reluUp && !(u[i] > 0f) ? 0f : d;
        }
    }

    private static boolean vectorized(Fn fn) {
        return fn == Fn.SILU || fn == Fn.RELU || fn == Fn.RELU2 || fn == Fn.FATRELU;
    }

    /** act(x), scalar (GELU forms; the reference for the others). */
    public static float act(Fn fn, float t, float x) {
        return switch (fn) {
            case SILU -> x / (1f + (float) Math.exp(-x));
            case GELU -> VectorOps.gelu(x);
            case GELU_TANH -> VectorOps.geluTanh(x);
            case RELU -> x > 0f ? x : 0f;
            case RELU2 -> x > 0f ? x * x : 0f;
            case FATRELU -> x >= t ? x : 0f;
        };
    }

    /** act'(x), scalar. */
    public static float actGrad(Fn fn, float t, float x) {
        return switch (fn) {
            case SILU -> {
                float s = 1f / (1f + (float) Math.exp(-x));
                yield s * (1f + x * (1f - s));
            }
            case GELU -> {                                                                   // Φ(x) + x φ(x)
                double cdf = 0.5 * (1 + Erf.erf(x / Math.sqrt(2)));
                double pdf = Math.exp(-0.5 * x * (double) x) / Math.sqrt(2 * Math.PI);
                yield (float) (cdf + x * pdf);
            }
            case GELU_TANH -> {
                double c = Math.sqrt(2 / Math.PI);
                double inner = c * (x + 0.044715 * x * x * x);
                double th = Math.tanh(inner);
                yield (float) (0.5 * (1 + th) + 0.5 * x * (1 - th * th) * c * (1 + 3 * 0.044715 * x * x));
            }
            case RELU -> x > 0f ? 1f : 0f;
            case RELU2 -> x > 0f ? 2f * x : 0f;
            case FATRELU -> x >= t ? 1f : 0f;
        };
    }
}
