package dev.sparsa.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Softmax cross-entropy over the vocabulary, forward and backward fused (in place over the logits), and its
 * self-distillation form. For row r with logits z, target y and p = softmax(z):
 * <pre>
 *   ℓ_r = log Σ_j e^{z_j} − z_y                  ∂ℓ_r/∂z = p − onehot(y)
 *   distillation with teacher q = softmax(z_t):   KL_r = Σ_j q_j (log q_j − log p_j)   ∂KL_r/∂z = p − q
 * </pre>
 * Gradients are scaled by {@code scale} (e.g. 1/rows for a mean). Rows are independent and each is computed by one
 * thread; the returned sums add the per-row values in row order, so nothing depends on the thread count.
 * {@link ScalarKernels#crossEntropy} / {@link ScalarKernels#distill} are the scalar twins.
 */
public final class CrossEntropy {
    private CrossEntropy() {
    }

    private static final VectorSpecies<Float> FS = Simd.FS;
    private static final int L = Simd.L;

    /**
     * ℓ_r for rows [0, rows) of {@code logits} ([rows, v]) against {@code targets[tOff + r]}; with {@code grad} the
     * logits are replaced by {@code scale·(p − onehot(y))}. Returns Σ_r ℓ_r (nats).
     */
    public static double forward(float[] logits, int rows, int v, int[] targets, int tOff, boolean grad, float scale,
                                 Parallel par) {
        double[] loss = new double[rows];
        par.forRange(rows, 4, (from, to) -> {
            for (int r = from; r < to; r++) {
                int o = r * v;
                int y = targets[tOff + r];
                if (y < 0 || y >= v) {
                    throw new IllegalArgumentException("target " + y + " outside the vocabulary [0, " + v + ")");
                }
                float max = max(logits, o, v);
                float zy = logits[o + y];
                float sum = expSum(logits, o, v, max, grad);                      // Σ e^{z−max} (kept when grad)
                loss[r] = Math.log(sum) + max - zy;                               // ℓ = log Σ e^z − z_y
                if (grad) {
                    scaleRow(logits, o, v, scale / sum);                          // scale·p
                    logits[o + y] -= scale;                                       // − scale·onehot(y)
                }
            }
        });
        return sum(loss);
    }

    /**
     * Self-distillation (Hinton et al. 2015, at temperature 1) mixed with the hard-label loss:
     * loss_r = (1 − α)·ℓ_r + α·KL_r. Replaces the student logits by
     * {@code scale·(p − (1 − α)·onehot(y) − α·q)}; the teacher logits are read only. Returns {Σ ℓ_r, Σ KL_r}.
     */
    public static double[] distill(float[] logits, float[] teacher, int rows, int v, int[] targets, int tOff,
                                   float alpha, float scale, Parallel par) {
        double[] ce = new double[rows];
        double[] kl = new double[rows];
        par.forRange(rows, 4, (from, to) -> {
            for (int r = from; r < to; r++) {
                int o = r * v;
                int y = targets[tOff + r];
                if (y < 0 || y >= v) {
                    throw new IllegalArgumentException("target " + y + " outside the vocabulary [0, " + v + ")");
                }
                float ms = max(logits, o, v);
                float mt = max(teacher, o, v);
                double lseS = ms + Math.log(expSumOnly(logits, o, v, ms));        // log Σ e^{z}
                double lseT = mt + Math.log(expSumOnly(teacher, o, v, mt));
                ce[r] = lseS - logits[o + y];
                double k = 0;
                for (int j = 0; j < v; j++) {                                     // Σ q (log q − log p)
                    double lq = teacher[o + j] - lseT;
                    double lp = logits[o + j] - lseS;
                    k += Math.exp(lq) * (lq - lp);
                }
                kl[r] = k;
                for (int j = 0; j < v; j++) {
                    float p = (float) Math.exp(logits[o + j] - lseS);
                    float q = (float) Math.exp(teacher[o + j] - lseT);
                    logits[o + j] = scale * (p - alpha * q);
                }
                logits[o + y] -= scale * (1 - alpha);
            }
        });
        return new double[] {sum(ce), sum(kl)};
    }

    private static double sum(double[] a) {
        double s = 0;
        for (double x : a) {
            s += x;
        }
        return s;
    }

    static float max(float[] x, int off, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, x[off + i]);
        }
        return m;
    }

    // Σ e^{x−max} over the row, vector exp; with keep, x is replaced by e^{x−max}
    private static float expSum(float[] x, int off, int n, float max, boolean keep) {
        FloatVector acc = FloatVector.zero(FS);
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = FS.indexInRange(i, n);
            FloatVector e = VectorOps.exp(FloatVector.fromArray(FS, x, off + i, m).sub(max));
            if (keep) {
                e.intoArray(x, off + i, m);
            }
            acc = acc.add(e, m);
        }
        return Simd.hsum(acc);
    }

    private static float expSumOnly(float[] x, int off, int n, float max) {
        return expSum(x, off, n, max, false);
    }

    private static void scaleRow(float[] x, int off, int n, float s) {
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = FS.indexInRange(i, n);
            FloatVector.fromArray(FS, x, off + i, m).mul(s).intoArray(x, off + i, m);
        }
    }
}
