package dev.sparsa.tensor;

import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.FloatVector;

import static dev.sparsa.tensor.Simd.F32;
import static dev.sparsa.tensor.Simd.FS;
import static dev.sparsa.tensor.Simd.L;
import static dev.sparsa.tensor.Simd.LE;
import static dev.sparsa.tensor.Simd.hsum;

/**
 * The row loops of {@link DType#F32} weights (4 bytes per weight, read as floats): {@code dot} (Σ w[i]·x[i]),
 * {@code axpy} (y[i] += a·w[i] over a column range) and {@code get} (a row as floats). {@link Kernels} switches on the
 * dtype once per row range and calls these; they are tested through it against {@link ScalarKernels}.
 */
final class F32Rows {
    private F32Rows() {
    }

    // Σ w[i]·x[i], w f32
    static float dot(MemorySegment s, long base, float[] x, int xo, int n) {
        FloatVector a0 = FloatVector.zero(FS), a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (int up = n - 4 * L + 1; i < up; i += 4 * L) {
            a0 = FloatVector.fromMemorySegment(FS, s, base + 4L * i, LE).fma(FloatVector.fromArray(FS, x, xo + i), a0);
            a1 = FloatVector.fromMemorySegment(FS, s, base + 4L * (i + L), LE).fma(FloatVector.fromArray(FS, x, xo + i + L), a1);
            a2 = FloatVector.fromMemorySegment(FS, s, base + 4L * (i + 2 * L), LE).fma(FloatVector.fromArray(FS, x, xo + i + 2 * L), a2);
            a3 = FloatVector.fromMemorySegment(FS, s, base + 4L * (i + 3 * L), LE).fma(FloatVector.fromArray(FS, x, xo + i + 3 * L), a3);
        }
        for (int up = FS.loopBound(n); i < up; i += L) {
            a0 = FloatVector.fromMemorySegment(FS, s, base + 4L * i, LE).fma(FloatVector.fromArray(FS, x, xo + i), a0);
        }
        float sum = hsum(a0.add(a1).add(a2.add(a3)));
        for (; i < n; i++) {
            sum = Math.fma(s.get(F32, base + 4L * i), x[xo + i], sum);
        }
        return sum;
    }

    // y[yo + i] += a·w[i], w f32
    static void axpy(MemorySegment s, long base, float a, float[] y, int yo, int c0, int c1) {
        FloatVector av = FloatVector.broadcast(FS, a);
        int i = c0;
        for (int up = c0 + FS.loopBound(c1 - c0); i < up; i += L) {
            FloatVector.fromMemorySegment(FS, s, base + 4L * i, LE).fma(av, FloatVector.fromArray(FS, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < c1; i++) {
            y[yo + i] = Math.fma(a, s.get(F32, base + 4L * i), y[yo + i]);
        }
    }

    // dst[dstOff + i] = w[i] for i in [0, n)
    static void get(MemorySegment s, long base, float[] dst, int dstOff, int n) {
        MemorySegment.copy(s, F32, base, dst, dstOff, n);
    }
}
