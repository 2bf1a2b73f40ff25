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

    // out[o_t] = w · x[x_t ..) for four tokens t: each weight vector converted once; per token the operations of
    // dot in its order (two accumulators, then one, then the scalar tail), so bit-identical to it
    static void dot4(MemorySegment s, long base, float[] x, int x0, int x1, int x2, int x3, int n, float[] out,
                     int o0, int o1, int o2, int o3) {
        FloatVector z = FloatVector.zero(FS);
        FloatVector a0 = z, b0 = z, a1 = z, b1 = z, a2 = z, b2 = z, a3 = z, b3 = z;
        int i = 0;
        for (int up = n - 2 * L + 1; i < up; i += 2 * L) {
            FloatVector w = bf16(ShortVector.fromMemorySegment(SS, s, base + 2L * i, LE));
            FloatVector u = bf16(ShortVector.fromMemorySegment(SS, s, base + 2L * (i + L), LE));
            a0 = w.fma(FloatVector.fromArray(FS, x, x0 + i), a0);
            b0 = u.fma(FloatVector.fromArray(FS, x, x0 + i + L), b0);
            a1 = w.fma(FloatVector.fromArray(FS, x, x1 + i), a1);
            b1 = u.fma(FloatVector.fromArray(FS, x, x1 + i + L), b1);
            a2 = w.fma(FloatVector.fromArray(FS, x, x2 + i), a2);
            b2 = u.fma(FloatVector.fromArray(FS, x, x2 + i + L), b2);
            a3 = w.fma(FloatVector.fromArray(FS, x, x3 + i), a3);
            b3 = u.fma(FloatVector.fromArray(FS, x, x3 + i + L), b3);
        }
        for (int up = SS.loopBound(n); i < up; i += L) {
            FloatVector w = bf16(ShortVector.fromMemorySegment(SS, s, base + 2L * i, LE));
            a0 = w.fma(FloatVector.fromArray(FS, x, x0 + i), a0);
            a1 = w.fma(FloatVector.fromArray(FS, x, x1 + i), a1);
            a2 = w.fma(FloatVector.fromArray(FS, x, x2 + i), a2);
            a3 = w.fma(FloatVector.fromArray(FS, x, x3 + i), a3);
        }
        float r0 = hsum(a0.add(b0));
        float r1 = hsum(a1.add(b1));
        float r2 = hsum(a2.add(b2));
        float r3 = hsum(a3.add(b3));
        for (; i < n; i++) {
            float w = Half.bf16ToFloat(s.get(I16, base + 2L * i));
            r0 = Math.fma(w, x[x0 + i], r0);
            r1 = Math.fma(w, x[x1 + i], r1);
            r2 = Math.fma(w, x[x2 + i], r2);
            r3 = Math.fma(w, x[x3 + i], r3);
        }
        out[o0] = r0;
        out[o1] = r1;
        out[o2] = r2;
        out[o3] = r3;
    }

    // out[o_t] = w_t · x[xo ..) for four rows t (one token): four rows' chains side by side, so four memory streams
    // in flight and x loaded once for all; per row the operations of dot in its order (two accumulators, then one,
    // then the scalar tail), so bit-identical to it
    static void dotRows4(MemorySegment s, long r0, long r1, long r2, long r3, float[] x, int xo, int n, float[] out,
                         int o0, int o1, int o2, int o3) {
        FloatVector z = FloatVector.zero(FS);
        FloatVector a0 = z, b0 = z, a1 = z, b1 = z, a2 = z, b2 = z, a3 = z, b3 = z;
        int i = 0;
        for (int up = n - 2 * L + 1; i < up; i += 2 * L) {
            FloatVector xa = FloatVector.fromArray(FS, x, xo + i);
            FloatVector xb = FloatVector.fromArray(FS, x, xo + i + L);
            long k = 2L * i;
            long m = 2L * (i + L);
            a0 = bf16(ShortVector.fromMemorySegment(SS, s, r0 + k, LE)).fma(xa, a0);
            b0 = bf16(ShortVector.fromMemorySegment(SS, s, r0 + m, LE)).fma(xb, b0);
            a1 = bf16(ShortVector.fromMemorySegment(SS, s, r1 + k, LE)).fma(xa, a1);
            b1 = bf16(ShortVector.fromMemorySegment(SS, s, r1 + m, LE)).fma(xb, b1);
            a2 = bf16(ShortVector.fromMemorySegment(SS, s, r2 + k, LE)).fma(xa, a2);
            b2 = bf16(ShortVector.fromMemorySegment(SS, s, r2 + m, LE)).fma(xb, b2);
            a3 = bf16(ShortVector.fromMemorySegment(SS, s, r3 + k, LE)).fma(xa, a3);
            b3 = bf16(ShortVector.fromMemorySegment(SS, s, r3 + m, LE)).fma(xb, b3);
        }
        for (int up = SS.loopBound(n); i < up; i += L) {
            FloatVector xa = FloatVector.fromArray(FS, x, xo + i);
            long k = 2L * i;
            a0 = bf16(ShortVector.fromMemorySegment(SS, s, r0 + k, LE)).fma(xa, a0);
            a1 = bf16(ShortVector.fromMemorySegment(SS, s, r1 + k, LE)).fma(xa, a1);
            a2 = bf16(ShortVector.fromMemorySegment(SS, s, r2 + k, LE)).fma(xa, a2);
            a3 = bf16(ShortVector.fromMemorySegment(SS, s, r3 + k, LE)).fma(xa, a3);
        }
        float q0 = hsum(a0.add(b0));
        float q1 = hsum(a1.add(b1));
        float q2 = hsum(a2.add(b2));
        float q3 = hsum(a3.add(b3));
        for (; i < n; i++) {
            float xi = x[xo + i];
            q0 = Math.fma(Half.bf16ToFloat(s.get(I16, r0 + 2L * i)), xi, q0);
            q1 = Math.fma(Half.bf16ToFloat(s.get(I16, r1 + 2L * i)), xi, q1);
            q2 = Math.fma(Half.bf16ToFloat(s.get(I16, r2 + 2L * i)), xi, q2);
            q3 = Math.fma(Half.bf16ToFloat(s.get(I16, r3 + 2L * i)), xi, q3);
        }
        out[o0] = q0;
        out[o1] = q1;
        out[o2] = q2;
        out[o3] = q3;
    }

    // y[yt + i] += at·w[i] for four outputs t (one weight row, four tokens), bit-identical to four axpy calls
    static void axpyTo4(MemorySegment s, long base, float a0, float a1, float a2, float a3, float[] y, int y0, int y1,
                        int y2, int y3, int c0, int c1) {
        FloatVector v0 = FloatVector.broadcast(FS, a0);
        FloatVector v1 = FloatVector.broadcast(FS, a1);
        FloatVector v2 = FloatVector.broadcast(FS, a2);
        FloatVector v3 = FloatVector.broadcast(FS, a3);
        int i = c0;
        for (int up = c0 + FS.loopBound(c1 - c0); i < up; i += L) {
            FloatVector w = bf16(ShortVector.fromMemorySegment(SS, s, base + 2L * i, LE));
            w.fma(v0, FloatVector.fromArray(FS, y, y0 + i)).intoArray(y, y0 + i);
            w.fma(v1, FloatVector.fromArray(FS, y, y1 + i)).intoArray(y, y1 + i);
            w.fma(v2, FloatVector.fromArray(FS, y, y2 + i)).intoArray(y, y2 + i);
            w.fma(v3, FloatVector.fromArray(FS, y, y3 + i)).intoArray(y, y3 + i);
        }
        for (; i < c1; i++) {
            float w = Half.bf16ToFloat(s.get(I16, base + 2L * i));
            y[y0 + i] = Math.fma(a0, w, y[y0 + i]);
            y[y1 + i] = Math.fma(a1, w, y[y1 + i]);
            y[y2 + i] = Math.fma(a2, w, y[y2 + i]);
            y[y3 + i] = Math.fma(a3, w, y[y3 + i]);
        }
    }
}
