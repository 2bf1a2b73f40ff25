package dev.sparsa.tensor;

import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;

import static dev.sparsa.tensor.Dequant.f16;
import static dev.sparsa.tensor.Simd.FS;
import static dev.sparsa.tensor.Simd.I16;
import static dev.sparsa.tensor.Simd.L;
import static dev.sparsa.tensor.Simd.LE;
import static dev.sparsa.tensor.Simd.SS;
import static dev.sparsa.tensor.Simd.hsum;

/**
 * The row loops of {@link DType#F16} weights (IEEE binary16, 2 bytes per weight, widened exactly by
 * {@link Dequant#f16}): {@code dot} (Σ w[i]·x[i]), {@code axpy} (y[i] += a·w[i] over a column range) and {@code get}
 * (a row as floats). {@link Kernels} switches on the dtype once per row range and calls these; they are tested
 * through it against {@link ScalarKernels}.
 */
final class F16Rows {
    private F16Rows() {
    }

    // Σ f16→f32(w[i])·x[i]
    static float dot(MemorySegment s, long base, float[] x, int xo, int n) {
        FloatVector a0 = FloatVector.zero(FS), a1 = a0;
        int i = 0;
        for (int up = n - 2 * L + 1; i < up; i += 2 * L) {
            a0 = f16(ShortVector.fromMemorySegment(SS, s, base + 2L * i, LE)).fma(FloatVector.fromArray(FS, x, xo + i), a0);
            a1 = f16(ShortVector.fromMemorySegment(SS, s, base + 2L * (i + L), LE)).fma(FloatVector.fromArray(FS, x, xo + i + L), a1);
        }
        for (int up = SS.loopBound(n); i < up; i += L) {
            a0 = f16(ShortVector.fromMemorySegment(SS, s, base + 2L * i, LE)).fma(FloatVector.fromArray(FS, x, xo + i), a0);
        }
        float sum = hsum(a0.add(a1));
        for (; i < n; i++) {
            sum = Math.fma(Float.float16ToFloat(s.get(I16, base + 2L * i)), x[xo + i], sum);
        }
        return sum;
    }

    // y[yo + i] += a·f16→f32(w[i])
    static void axpy(MemorySegment s, long base, float a, float[] y, int yo, int c0, int c1) {
        FloatVector av = FloatVector.broadcast(FS, a);
        int i = c0;
        for (int up = c0 + FS.loopBound(c1 - c0); i < up; i += L) {
            f16(ShortVector.fromMemorySegment(SS, s, base + 2L * i, LE)).fma(av, FloatVector.fromArray(FS, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < c1; i++) {
            y[yo + i] = Math.fma(a, Float.float16ToFloat(s.get(I16, base + 2L * i)), y[yo + i]);
        }
    }

    // dst[dstOff + i] = w[i] for i in [0, n)
    static void get(MemorySegment s, long base, float[] dst, int dstOff, int n) {
        int i = 0;
        for (int up = SS.loopBound(n); i < up; i += L) {
            f16(ShortVector.fromMemorySegment(SS, s, base + 2L * i, LE)).intoArray(dst, dstOff + i);
        }
        for (; i < n; i++) {
            dst[dstOff + i] = Float.float16ToFloat(s.get(I16, base + 2L * i));
        }
    }
}
