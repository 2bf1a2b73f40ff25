package dev.sparsa.tensor;

import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.FloatVector;

import static dev.sparsa.tensor.Dequant.q8;
import static dev.sparsa.tensor.Dequant.scale;
import static dev.sparsa.tensor.Simd.FS;
import static dev.sparsa.tensor.Simd.I16;
import static dev.sparsa.tensor.Simd.L;
import static dev.sparsa.tensor.Simd.hsum;

/**
 * The row loops of {@link DType#Q8_0} weights (ggml Q8_0: blocks of 32 weights, an fp16 scale d then 32 int8 q, 34
 * bytes; w = d·q): {@code dot} (Σ w[i]·x[i]), {@code axpy} / {@code axpy4} (y[i] += a·w[i] over a block-aligned
 * column range, for one row or four) and {@code get} (a row as floats). {@link Kernels} switches on the dtype once
 * per row range and calls these; they are tested through it against {@link ScalarKernels}.
 */
final class Q8_0Rows {
    private Q8_0Rows() {
    }

    // Σ_blocks d · Σ_j q[j]·x[j]   (block = fp16 d + 32 int8 q)
    // two accumulators, even blocks into acc and odd ones into acc1, summed at the end: the block chain acc = acc +
    // d_b·Σ_b is one FMA latency per block with one, which bounds a row's read at ~25 GB/s a core; every other Q8_0
    // dot below keeps the same split, so their values stay bit-identical to this one
    static float dot(MemorySegment s, long base, float[] x, int xo, int n) {
        FloatVector acc = FloatVector.zero(FS);
        FloatVector acc1 = acc;
        int nb = n / 32;
        int b = 0;
        for (; b + 1 < nb; b += 2) {
            long blk = base + 34L * b;
            int xb = xo + 32 * b;
            FloatVector blockSum = q8(s, blk + 2).mul(FloatVector.fromArray(FS, x, xb));
            FloatVector blockSum1 = q8(s, blk + 36).mul(FloatVector.fromArray(FS, x, xb + 32));
            for (int j = L; j < 32; j += L) {
                blockSum = q8(s, blk + 2 + j).fma(FloatVector.fromArray(FS, x, xb + j), blockSum);
                blockSum1 = q8(s, blk + 36 + j).fma(FloatVector.fromArray(FS, x, xb + 32 + j), blockSum1);
            }
            acc = blockSum.fma(scale(s, blk), acc);
            acc1 = blockSum1.fma(scale(s, blk + 34), acc1);
        }
        for (; b < nb; b++) {
            long blk = base + 34L * b;
            int xb = xo + 32 * b;
            FloatVector blockSum = q8(s, blk + 2).mul(FloatVector.fromArray(FS, x, xb));
            for (int j = L; j < 32; j += L) {
                blockSum = q8(s, blk + 2 + j).fma(FloatVector.fromArray(FS, x, xb + j), blockSum);
            }
            acc = blockSum.fma(scale(s, blk), acc);
        }
        return hsum(acc.add(acc1));
    }

    // y[yo + i] += a·(d·q[i]) per Q8_0 block
    static void axpy(MemorySegment s, long base, float a, float[] y, int yo, int c0, int c1) {
        FloatVector av = FloatVector.broadcast(FS, a);
        for (int b = c0 / 32; b < c1 / 32; b++) {
            long blk = base + 34L * b;
            float d = Float.float16ToFloat(s.get(I16, blk));
            for (int j = 0; j < 32; j += L) {
                int o = yo + 32 * b + j;
                q8(s, blk + 2 + j).mul(d).fma(av, FloatVector.fromArray(FS, y, o)).intoArray(y, o);
            }
        }
    }

    // dst[dstOff + i] = w[i] for i in [0, n)
    static void get(MemorySegment s, long base, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / 32; b++) {
            long blk = base + 34L * b;
            float d = Float.float16ToFloat(s.get(I16, blk));
            for (int j = 0; j < 32; j += L) {
                q8(s, blk + 2 + j).mul(d).intoArray(dst, dstOff + 32 * b + j);
            }
        }
    }

    // y[i] += a0·w0[i], then += a1·w1[i], += a2·w2[i], += a3·w3[i] (four Q8_0 rows, y kept in a register between
    // the four FMAs): the same FMAs in the same order as four axpy calls, so bit-identical, with a quarter of
    // the loads and stores of y
    static void axpy4(MemorySegment s, long r0, long r1, long r2, long r3,
                                  float a0, float a1, float a2, float a3, float[] y, int yo, int c0, int c1) {
        FloatVector v0 = FloatVector.broadcast(FS, a0);
        FloatVector v1 = FloatVector.broadcast(FS, a1);
        FloatVector v2 = FloatVector.broadcast(FS, a2);
        FloatVector v3 = FloatVector.broadcast(FS, a3);
        for (int b = c0 / 32; b < c1 / 32; b++) {
            long o0 = r0 + 34L * b;
            long o1 = r1 + 34L * b;
            long o2 = r2 + 34L * b;
            long o3 = r3 + 34L * b;
            float d0 = Float.float16ToFloat(s.get(I16, o0));
            float d1 = Float.float16ToFloat(s.get(I16, o1));
            float d2 = Float.float16ToFloat(s.get(I16, o2));
            float d3 = Float.float16ToFloat(s.get(I16, o3));
            for (int j = 0; j < 32; j += L) {
                int o = 32 * b + j;
                FloatVector acc = FloatVector.fromArray(FS, y, yo + o);
                acc = q8(s, o0 + 2 + j).mul(d0).fma(v0, acc);
                acc = q8(s, o1 + 2 + j).mul(d1).fma(v1, acc);
                acc = q8(s, o2 + 2 + j).mul(d2).fma(v2, acc);
                acc = q8(s, o3 + 2 + j).mul(d3).fma(v3, acc);
                acc.intoArray(y, yo + o);
            }
        }
    }

    // out[o_t] = w_t · x[xo ..) for four rows t (one token): four independent chains, so four memory streams in
    // flight and x loaded once for all; per row the same operations in the same order as dot, so bit-identical
    static void dotRows4(MemorySegment s, long r0, long r1, long r2, long r3, float[] x, int xo, int n, float[] out,
                         int o0, int o1, int o2, int o3) {
        FloatVector c0 = FloatVector.zero(FS), c1 = c0, c2 = c0, c3 = c0;
        FloatVector e0 = c0, e1 = c0, e2 = c0, e3 = c0;
        for (int b = 0; b < n / 32; b++) {
            long k = 34L * b;
            int xb = xo + 32 * b;
            FloatVector xv = FloatVector.fromArray(FS, x, xb);
            FloatVector s0 = q8(s, r0 + k + 2).mul(xv);
            FloatVector s1 = q8(s, r1 + k + 2).mul(xv);
            FloatVector s2 = q8(s, r2 + k + 2).mul(xv);
            FloatVector s3 = q8(s, r3 + k + 2).mul(xv);
            for (int j = L; j < 32; j += L) {
                xv = FloatVector.fromArray(FS, x, xb + j);
                s0 = q8(s, r0 + k + 2 + j).fma(xv, s0);
                s1 = q8(s, r1 + k + 2 + j).fma(xv, s1);
                s2 = q8(s, r2 + k + 2 + j).fma(xv, s2);
                s3 = q8(s, r3 + k + 2 + j).fma(xv, s3);
            }
            FloatVector t0 = e0, t1 = e1, t2 = e2, t3 = e3;        // dot's even/odd accumulators: c takes this
            e0 = s0.fma(scale(s, r0 + k), c0);                     // block, then c and e trade places (c + e is
            e1 = s1.fma(scale(s, r1 + k), c1);                     // the same bits either way round)
            e2 = s2.fma(scale(s, r2 + k), c2);
            e3 = s3.fma(scale(s, r3 + k), c3);
            c0 = t0;
            c1 = t1;
            c2 = t2;
            c3 = t3;
        }
        out[o0] = hsum(c0.add(e0));
        out[o1] = hsum(c1.add(e1));
        out[o2] = hsum(c2.add(e2));
        out[o3] = hsum(c3.add(e3));
    }

    // out[o_t] = w · x[x_t ..) for four tokens t: each weight block dequantized once; per token the same operations
    // in the same order as dot, so each value is bit-identical to it
    static void dot4(MemorySegment s, long base, float[] x, int x0, int x1, int x2, int x3, int n, float[] out,
                     int o0, int o1, int o2, int o3) {
        FloatVector c0 = FloatVector.zero(FS), c1 = c0, c2 = c0, c3 = c0;
        FloatVector e0 = c0, e1 = c0, e2 = c0, e3 = c0;
        for (int b = 0; b < n / 32; b++) {
            long blk = base + 34L * b;
            int xb = 32 * b;
            FloatVector w = q8(s, blk + 2);
            FloatVector s0 = w.mul(FloatVector.fromArray(FS, x, x0 + xb));
            FloatVector s1 = w.mul(FloatVector.fromArray(FS, x, x1 + xb));
            FloatVector s2 = w.mul(FloatVector.fromArray(FS, x, x2 + xb));
            FloatVector s3 = w.mul(FloatVector.fromArray(FS, x, x3 + xb));
            for (int j = L; j < 32; j += L) {
                w = q8(s, blk + 2 + j);
                s0 = w.fma(FloatVector.fromArray(FS, x, x0 + xb + j), s0);
                s1 = w.fma(FloatVector.fromArray(FS, x, x1 + xb + j), s1);
                s2 = w.fma(FloatVector.fromArray(FS, x, x2 + xb + j), s2);
                s3 = w.fma(FloatVector.fromArray(FS, x, x3 + xb + j), s3);
            }
            FloatVector d = scale(s, blk);
            FloatVector t0 = e0, t1 = e1, t2 = e2, t3 = e3;        // dot's even/odd accumulators, as in dotRows4
            e0 = s0.fma(d, c0);
            e1 = s1.fma(d, c1);
            e2 = s2.fma(d, c2);
            e3 = s3.fma(d, c3);
            c0 = t0;
            c1 = t1;
            c2 = t2;
            c3 = t3;
        }
        out[o0] = hsum(c0.add(e0));
        out[o1] = hsum(c1.add(e1));
        out[o2] = hsum(c2.add(e2));
        out[o3] = hsum(c3.add(e3));
    }

    // y[yt + i] += at·(d·q[i]) for four outputs t (one weight row, four tokens): each block dequantized once, each y
    // element gets the FMA axpy gives it, so bit-identical to four axpy calls
    static void axpyTo4(MemorySegment s, long base, float a0, float a1, float a2, float a3, float[] y, int y0, int y1,
                        int y2, int y3, int c0, int c1) {
        FloatVector v0 = FloatVector.broadcast(FS, a0);
        FloatVector v1 = FloatVector.broadcast(FS, a1);
        FloatVector v2 = FloatVector.broadcast(FS, a2);
        FloatVector v3 = FloatVector.broadcast(FS, a3);
        for (int b = c0 / 32; b < c1 / 32; b++) {
            long blk = base + 34L * b;
            float d = Float.float16ToFloat(s.get(I16, blk));
            for (int j = 0; j < 32; j += L) {
                int o = 32 * b + j;
                FloatVector w = q8(s, blk + 2 + j).mul(d);
                w.fma(v0, FloatVector.fromArray(FS, y, y0 + o)).intoArray(y, y0 + o);
                w.fma(v1, FloatVector.fromArray(FS, y, y1 + o)).intoArray(y, y1 + o);
                w.fma(v2, FloatVector.fromArray(FS, y, y2 + o)).intoArray(y, y2 + o);
                w.fma(v3, FloatVector.fromArray(FS, y, y3 + o)).intoArray(y, y3 + o);
            }
        }
    }
}
