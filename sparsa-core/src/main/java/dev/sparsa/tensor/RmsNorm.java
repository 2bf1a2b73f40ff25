package dev.sparsa.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * RMSNorm (Zhang &amp; Sennrich 2019, eq. 4), forward and backward over rows of length n, with the gain g in an F32
 * tensor (native memory, as the model and the trainer keep it):
 * <pre>
 *   r = 1 / √(mean(x²) + ε)          y = x · r ⊙ g
 *   dg += dy ⊙ x · r                 dx = r · (dy ⊙ g) − (r³ / n) · x · Σ_j (dy ⊙ g)_j x_j
 * </pre>
 * The forward is bit-identical to {@link Kernels#rmsnorm}; {@link ScalarKernels#rmsnormBackward} is the scalar twin
 * of the backward.
 */
public final class RmsNorm {
    private RmsNorm() {
    }

    private static final VectorSpecies<Float> FS = Simd.FS;
    private static final int L = Simd.L;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** {@code out[outOff..] = RMSNorm(x[xOff..]) ⊙ g} for one row; returns r (kept for the backward). */
    public static float forward(float[] out, int outOff, float[] x, int xOff, Tensor g, int n, float eps) {
        MemorySegment w = gain(g, n);
        float ss = VectorOps.dot(x, xOff, x, xOff, n);
        float inv = (float) (1.0 / Math.sqrt((double) ss / n + eps));
        int i = 0;
        for (int up = FS.loopBound(n); i < up; i += L) {
            FloatVector.fromArray(FS, x, xOff + i).mul(inv).mul(FloatVector.fromMemorySegment(FS, w, 4L * i, LE))
                    .intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = x[xOff + i] * inv * w.get(Simd.F32, 4L * i);
        }
        return inv;
    }

    /** {@link #forward} for {@code rows} rows of n; r of row b goes to {@code rstd[b]} (when not null). */
    public static void forwardRows(float[] out, float[] x, Tensor g, int rows, int n, float eps, float[] rstd,
                                   Parallel par) {
        par.forRange(rows, 8, (from, to) -> {
            for (int b = from; b < to; b++) {
                float r = forward(out, b * n, x, b * n, g, n, eps);
                if (rstd != null) {
                    rstd[b] = r;
                }
            }
        });
    }

    /**
     * Backward of one row: {@code dx[dxOff..] = ∂L/∂x} (overwritten, or added to when {@code accumulate}) from
     * {@code dy}, the forward input x and its r; {@code dg[0..n) += dy ⊙ x · r}.
     */
    public static void backward(float[] dx, int dxOff, boolean accumulate, float[] dy, int dyOff, float[] x, int xOff,
                                float r, Tensor g, float[] dg, int n) {
        MemorySegment w = gain(g, n);
        // c = Σ_j dy_j g_j x_j
        FloatVector acc = FloatVector.zero(FS);
        int i = 0;
        for (int up = FS.loopBound(n); i < up; i += L) {
            acc = FloatVector.fromArray(FS, dy, dyOff + i).mul(FloatVector.fromMemorySegment(FS, w, 4L * i, LE))
                    .fma(FloatVector.fromArray(FS, x, xOff + i), acc);
        }
        float c = Simd.hsum(acc);
        for (; i < n; i++) {
            c = Math.fma(dy[dyOff + i] * w.get(Simd.F32, 4L * i), x[xOff + i], c);
        }
        float k = r * r * r * c / n;
        i = 0;
        for (int up = FS.loopBound(n); i < up; i += L) {
            FloatVector gy = FloatVector.fromArray(FS, dy, dyOff + i);
            FloatVector xv = FloatVector.fromArray(FS, x, xOff + i);
            FloatVector d = gy.mul(FloatVector.fromMemorySegment(FS, w, 4L * i, LE)).mul(r).sub(xv.mul(k));
            if (accumulate) {
                d = d.add(FloatVector.fromArray(FS, dx, dxOff + i));
            }
            d.intoArray(dx, dxOff + i);
        }
        for (; i < n; i++) {
            float d = dy[dyOff + i] * w.get(Simd.F32, 4L * i) * r - x[xOff + i] * k;
            dx[dxOff + i] = accumulate ? dx[dxOff + i] + d : d;
        }
        if (dg != null) {
            gainGrad(dg, dy, dyOff, x, xOff, r, n, 0, n);
        }
    }

    /**
     * Backward over {@code rows} rows: dx rows from dy rows (x and r as saved by {@link #forwardRows}); dg summed over
     * the rows in row order, each element by one thread (split over the n columns), so the sum does not depend on
     * the thread count.
     */
    public static void backwardRows(float[] dx, boolean accumulate, float[] dy, float[] x, float[] rstd, Tensor g,
                                    float[] dg, int rows, int n, Parallel par) {
        par.forRange(rows, 8, (from, to) -> {
            for (int b = from; b < to; b++) {
                backward(dx, b * n, accumulate, dy, b * n, x, b * n, rstd[b], g, null, n);
            }
        });
        if (dg != null) {
            int units = (n + L - 1) / L;
            par.forRange(units, 1, (from, to) -> {
                int c0 = from * L;
                int c1 = Math.min(n, to * L);
                for (int b = 0; b < rows; b++) {
                    gainGrad(dg, dy, b * n, x, b * n, rstd[b], n, c0, c1);
                }
            });
        }
    }

    // dg[i] += dy_i · (x_i · r) for i in [c0, c1)
    private static void gainGrad(float[] dg, float[] dy, int dyOff, float[] x, int xOff, float r, int n, int c0,
                                 int c1) {
        int i = c0;
        for (int up = c0 + FS.loopBound(c1 - c0); i < up; i += L) {
            FloatVector xr = FloatVector.fromArray(FS, x, xOff + i).mul(r);
            FloatVector.fromArray(FS, dy, dyOff + i).fma(xr, FloatVector.fromArray(FS, dg, i)).intoArray(dg, i);
        }
        for (; i < c1; i++) {
            dg[i] = Math.fma(dy[dyOff + i], x[xOff + i] * r, dg[i]);
        }
    }

    private static MemorySegment gain(Tensor g, int n) {
        if (g.dtype() != DType.F32 || g.numel() != n) {
            throw new IllegalArgumentException("RMSNorm gain " + g.describe() + ": need F32 of " + n);
        }
        return g.data();
    }
}
