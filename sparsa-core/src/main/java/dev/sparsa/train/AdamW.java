package dev.sparsa.train;

import dev.sparsa.tensor.Parallel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * AdamW (Loshchilov &amp; Hutter 2019, Algorithm 2), operation for operation as PyTorch's {@code torch.optim.AdamW}
 * (single-tensor path): at step t with learning rate η,
 * <pre>
 *   θ ← θ·(1 − η·λ)                       decoupled weight decay (λ only on matrices by default)
 *   m ← m + (1 − β₁)(g − m)               v ← v·β₂ + (1 − β₂)·g·g
 *   θ ← θ − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
 * </pre>
 * plus the global-norm gradient clipping of {@code clip_grad_norm_}: g ← g · min(1, c / (‖g‖₂ + 10⁻⁶)). The moments
 * are fp32 arrays beside each parameter; updates are elementwise, so thread count does not matter.
 */
public final class AdamW {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED.length() < 8 ? FloatVector.SPECIES_256
            : FloatVector.SPECIES_PREFERRED.length() > 16 ? FloatVector.SPECIES_512 : FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final java.nio.ByteOrder LE = java.nio.ByteOrder.LITTLE_ENDIAN;

    /** Hyper-parameters; {@code decayVectors} also decays norm gains and biases (off by default, as is usual). */
    public record Config(float beta1, float beta2, float eps, float weightDecay, boolean decayVectors) {
        public static Config of(float weightDecay) {
            return new Config(0.9f, 0.95f, 1e-8f, weightDecay, false);
        }
    }

    private final Config cfg;
    private final List<LlamaParams.Param> params;
    private final float[][] m;
    private final float[][] v;
    private long step;

    public AdamW(LlamaParams p, Config cfg) {
        this.cfg = cfg;
        this.params = p.params();
        this.m = new float[params.size()][];
        this.v = new float[params.size()][];
        for (int i = 0; i < params.size(); i++) {
            m[i] = new float[params.get(i).size()];
            v[i] = new float[params.get(i).size()];
        }
    }

    public Config config() {
        return cfg;
    }

    /** Steps taken so far (t of the bias correction). */
    public long steps() {
        return step;
    }

    /** First and second moments of parameter i (for checkpoints and methods that reset them). */
    public float[] m(int i) {
        return m[i];
    }

    public float[] v(int i) {
        return v[i];
    }

    /** Restores the step count (checkpoint resume). */
    public void setSteps(long t) {
        this.step = t;
    }

    /** ‖g‖₂ over every gradient, in double, in parameter order. */
    public double gradNorm(Parallel par) {
        double[] ss = new double[params.size()];
        par.forRange(params.size(), 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                double s = 0;
                for (float g : params.get(i).grad()) {
                    s += (double) g * g;
                }
                ss[i] = s;
            }
        });
        double total = 0;
        for (double s : ss) {
            total += s;
        }
        return Math.sqrt(total);
    }

    /**
     * Clips to global norm {@code maxNorm} (≤ 0: no clipping) and takes one step with learning rate {@code lr}.
     * Returns the gradient norm before clipping.
     */
    public double step(float lr, float maxNorm, Parallel par) {
        double norm = gradNorm(par);
        float coef = maxNorm > 0 ? (float) Math.min(1.0, maxNorm / ((float) norm + 1e-6f)) : 1f;
        step++;
        float bc1 = (float) (1 - Math.pow(cfg.beta1(), step));
        float bc2 = (float) (1 - Math.pow(cfg.beta2(), step));
        float stepSize = lr / bc1;
        float bc2Sqrt = (float) Math.sqrt(bc2);
        for (int i = 0; i < params.size(); i++) {
            LlamaParams.Param p = params.get(i);
            float decay = p.matrix() || cfg.decayVectors() ? 1f - lr * cfg.weightDecay() : 1f;
            float[] g = p.grad();
            float[] mi = m[i];
            float[] vi = v[i];
            MemorySegment w = p.data();
            int n = g.length;
            par.forRange(n, 4096, (from, to) -> update(w, g, mi, vi, from, to, coef, decay, stepSize, bc2Sqrt));
        }
        return norm;
    }

    private void update(MemorySegment w, float[] g, float[] m, float[] v, int from, int to, float coef, float decay,
                        float stepSize, float bc2Sqrt) {
        float b1 = 1f - cfg.beta1();
        float b2 = cfg.beta2();
        float ob2 = 1f - cfg.beta2();
        float eps = cfg.eps();
        int lanes = FS.length();
        for (int i = from; i < to; i += lanes) {
            VectorMask<Float> k = FS.indexInRange(i, to);
            FloatVector gv = FloatVector.fromArray(FS, g, i, k).mul(coef);                   // clipped g
            FloatVector th = FloatVector.fromMemorySegment(FS, w, 4L * i, LE, k).mul(decay);  // θ·(1 − ηλ)
            FloatVector mv = FloatVector.fromArray(FS, m, i, k);
            mv = mv.add(gv.sub(mv).mul(b1));                                                  // m + (1−β₁)(g − m)
            FloatVector vv = FloatVector.fromArray(FS, v, i, k).mul(b2).add(gv.mul(ob2).mul(gv)); // v·β₂ + (1−β₂)g·g
            FloatVector denom = vv.sqrt().div(bc2Sqrt).add(eps);
            th = th.add(mv.div(denom).mul(-stepSize));                                        // θ − η̂ m / denom
            mv.intoArray(m, i, k);
            vv.intoArray(v, i, k);
            th.intoMemorySegment(w, 4L * i, LE, k);
        }
    }
}
