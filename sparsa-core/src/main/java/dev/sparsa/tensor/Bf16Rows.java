package dev.sparsa.tensor;

import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;

import static dev.sparsa.tensor.Dequant.bf16;
import static dev.sparsa.tensor.Simd.FS;
import static dev.sparsa.tensor.Simd.I16;
import static dev.sparsa.tensor.Simd.L;
import static dev.sparsa.tensor.Simd.LE;
import static dev.sparsa.tensor.Simd.SS;
import static dev.sparsa.tensor.Simd.hsum;

/**
 * The row loops of {@link DType#BF16} weights (bfloat16, 2 bytes per weight: the upper half of a float,
 * {@link Dequant#bf16}): {@code dot} (Σ w[i]·x[i]), {@code axpy} (y[i] += a·w[i] over a column range) and {@code get}
 * (a row as floats). {@link Kernels} switches on the dtype once per row range and calls these; they are tested
 * through it against {@link ScalarKernels}.
 */
final class Bf16Rows {
    private Bf16Rows() {
    }

    // Σ bf16→f32(w[i])·x[i]
    static float dot(MemorySegment s, long base, float[] x, int xo, int n) {
        FloatVector a0 = FloatVector.zero(FS), a1 = a0;
        int i = 0;
        for (int up = n - 2 * L + 1; i < up; i += 2 * L) {
            a0 = bf16(ShortVector.fromMemorySegment(SS, s, base + 2L * i, LE)).fma(FloatVector.fromArray(FS, x, xo + i), a0);
            a1 = bf16(ShortVector.fromMemorySegment(SS, s, base + 2L * (i + L), LE)).fma(FloatVector.fromArray(FS, x, xo + i + L), a1);
        }
        for (int up = SS.loopBound(n); i < up; i += L) {
            a0 = bf16(ShortVector.fromMemorySegment(SS, s, base + 2L * i, LE)).fma(FloatVector.fromArray(FS, x, xo + i), a0);
        }
        float sum = hsum(a0.add(a1));
        for (; i < n; i++) {
            sum = Math.fma(Half.bf16ToFloat(s.get(I16, base + 2L * i)), x[xo + i], sum);
        }
        return sum;
    }

    // y[yo + i] += a·bf16→f32(w[i])
    static void axpy(MemorySegment s, long base, float a, float[] y, int yo, int c0, int c1) {
        FloatVector av = FloatVector.broadcast(FS, a);
        int i = c0;
        for (int up = c0 + FS.loopBound(c1 - c0); i < up; i += L) {
            bf16(ShortVector.fromMemorySegment(SS, s, base + 2L * i, LE)).fma(av, FloatVector.fromArray(FS, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < c1; i++) {
            y[yo + i] = Math.fma(a, Half.bf16ToFloat(s.get(I16, base + 2L * i)), y[yo + i]);
        }
    }

    // y[yo + i] += a0·w0[i], then a1·w1[i], a2·w2[i], a3·w3[i] (four rows, y in a register between the FMAs): the
    // same FMAs in the same order as four axpy calls, so bit-identical, with a quarter of the loads and stores of y
    static void axpy4(MemorySegment s, long r0, long r1, long r2, long r3,
                      float a0, float a1, float a2, float a3, float[] y, int yo, int c0, int c1) {
        FloatVector v0 = FloatVector.broadcast(FS, a0);
        FloatVector v1 = FloatVector.broadcast(FS, a1);
        FloatVector v2 = FloatVector.broadcast(FS, a2);
        FloatVector v3 = FloatVector.broadcast(FS, a3);
        int i = c0;
        for (int up = c0 + FS.loopBound(c1 - c0); i < up; i += L) {
            FloatVector acc = FloatVector.fromArray(FS, y, yo + i);
            acc = bf16(ShortVector.fromMemorySegment(SS, s, r0 + 2L * i, LE)).fma(v0, acc);
            acc = bf16(ShortVector.fromMemorySegment(SS, s, r1 + 2L * i, LE)).fma(v1, acc);
            acc = bf16(ShortVector.fromMemorySegment(SS, s, r2 + 2L * i, LE)).fma(v2, acc);
            acc = bf16(ShortVector.fromMemorySegment(SS, s, r3 + 2L * i, LE)).fma(v3, acc);
            acc.intoArray(y, yo + i);
        }
        for (; i < c1; i++) {
            float v = Math.fma(a0, Half.bf16ToFloat(s.get(I16, r0 + 2L * i)), y[yo + i]);
            v = Math.fma(a1, Half.bf16ToFloat(s.get(I16, r1 + 2L * i)), v);
            v = Math.fma(a2, Half.bf16ToFloat(s.get(I16, r2 + 2L * i)), v);
            y[yo + i] = Math.fma(a3, Half.bf16ToFloat(s.get(I16, r3 + 2L * i)), v);
        }
    }

    // dst[dstOff + i] = w[i] for i in [0, n)
    static void get(MemorySegment s, long base, float[] dst, int dstOff, int n) {
        int i = 0;
        for (int up = SS.loopBound(n); i < up; i += L) {
            bf16(ShortVector.fromMemorySegment(SS, s, base + 2L * i, LE)).intoArray(dst, dstOff + i);
        }
        for (; i < n; i++) {
            dst[dstOff + i] = Half.bf16ToFloat(s.get(I16, base + 2L * i));
        }
    }
}
