package dev.sparsa.tensor;

import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import static dev.sparsa.tensor.Dequant.hi4;
import static dev.sparsa.tensor.Dequant.lo4;
import static dev.sparsa.tensor.Dequant.scale;
import static dev.sparsa.tensor.Simd.BS;
import static dev.sparsa.tensor.Simd.FS;
import static dev.sparsa.tensor.Simd.I16;
import static dev.sparsa.tensor.Simd.IS;
import static dev.sparsa.tensor.Simd.L;
import static dev.sparsa.tensor.Simd.LE;
import static dev.sparsa.tensor.Simd.hsum;

/**
 * The row loops of {@link DType#Q4_0} weights (ggml Q4_0: blocks of 32 weights, an fp16 scale d then 16 bytes whose
 * low nibbles are weights 0..15 and high nibbles 16..31, 18 bytes; w = d·(q − 8)): {@code dot} (Σ w[i]·x[i]),
 * {@code axpy} (y[i] += a·w[i] over a block-aligned column range) and {@code get} (a row as floats). {@link Kernels}
 * switches on the dtype once per row range and calls these; they are tested through it against
 * {@link ScalarKernels}.
 */
final class Q4_0Rows {
    private Q4_0Rows() {
    }

    // Σ_blocks d · Σ_j (nibble[j]−8)·x[j]   (block = fp16 d + 16 bytes: low nibbles = j, high nibbles = j+16)
    // two accumulators, even blocks into acc and odd ones into acc1, summed at the end (as Q8_0Rows.dot): one chain
    // acc = acc + d_b·Σ_b is one FMA latency per 18-byte block, which bounded a row at ~14 GB/s a core; dot4 and
    // dotRows4 keep the same split, so their values stay bit-identical to this one
    static float dot(MemorySegment s, long base, float[] x, int xo, int n) {
        FloatVector acc = FloatVector.zero(FS);
        FloatVector acc1 = acc;
        int nb = n / 32;
        int b = 0;
        for (; b + 1 < nb; b += 2) {
            long blk = base + 18L * b;
            int xb = xo + 32 * b;
            acc = block(s, blk, x, xb).fma(scale(s, blk), acc);
            acc1 = block(s, blk + 18, x, xb + 32).fma(scale(s, blk + 18), acc1);
        }
        if (b < nb) {
            long blk = base + 18L * b;
            acc = block(s, blk, x, xo + 32 * b).fma(scale(s, blk), acc);
        }
        return hsum(acc.add(acc1));
    }

    // y[yo + i] += a·(d·(nibble[i]−8)) per Q4_0 block
    static void axpy(MemorySegment s, long base, float a, float[] y, int yo, int c0, int c1) {
        FloatVector av = FloatVector.broadcast(FS, a);
        for (int b = c0 / 32; b < c1 / 32; b++) {
            long blk = base + 18L * b;
            float d = Float.float16ToFloat(s.get(I16, blk));
            for (int j = 0; j < 16; j += L) {
                int o = yo + 32 * b + j;
                ByteVector q = ByteVector.fromMemorySegment(BS, s, blk + 2 + j, LE);
                lo4(q).mul(d).fma(av, FloatVector.fromArray(FS, y, o)).intoArray(y, o);
                hi4(q).mul(d).fma(av, FloatVector.fromArray(FS, y, o + 16)).intoArray(y, o + 16);
            }
        }
    }

    // dst[dstOff + i] = w[i] for i in [0, n)
    static void get(MemorySegment s, long base, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / 32; b++) {
            long blk = base + 18L * b;
            float d = Float.float16ToFloat(s.get(I16, blk));
            for (int j = 0; j < 16; j += L) {
                ByteVector q = ByteVector.fromMemorySegment(BS, s, blk + 2 + j, LE);
                lo4(q).mul(d).intoArray(dst, dstOff + 32 * b + j);
                hi4(q).mul(d).intoArray(dst, dstOff + 32 * b + j + 16);
            }
        }
    }

    // Σ_j (nibble[j]−8)·x[j] over one Q4_0 block, per lane (nibbles unpacked in int lanes: x86 has no byte shift)
    private static FloatVector block(MemorySegment s, long blk, float[] x, int xb) {
        FloatVector sum = FloatVector.zero(FS);
        for (int j = 0; j < 16; j += L) {
            IntVector q = (IntVector) ByteVector.fromMemorySegment(BS, s, blk + 2 + j, LE)
                    .convertShape(VectorOperators.B2I, IS, 0);
            FloatVector lo = (FloatVector) q.and(0x0f).sub(8).convert(VectorOperators.I2F, 0);
            FloatVector hi = (FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(0x0f).sub(8)
                    .convert(VectorOperators.I2F, 0);
            sum = lo.fma(FloatVector.fromArray(FS, x, xb + j), sum);
            sum = hi.fma(FloatVector.fromArray(FS, x, xb + j + 16), sum);
        }
        return sum;
    }

    // out[o_t] = w · x[x_t ..) for four tokens t: the nibbles of each block unpacked once; per token the operations
    // of dot in its order, so bit-identical to it
    static void dot4(MemorySegment s, long base, float[] x, int x0, int x1, int x2, int x3, int n, float[] out,
                     int o0, int o1, int o2, int o3) {
        FloatVector c0 = FloatVector.zero(FS), c1 = c0, c2 = c0, c3 = c0;
        FloatVector e0 = c0, e1 = c0, e2 = c0, e3 = c0;
        for (int b = 0; b < n / 32; b++) {
            long blk = base + 18L * b;
            int xb = 32 * b;
            FloatVector z = FloatVector.zero(FS);
            FloatVector s0 = z, s1 = z, s2 = z, s3 = z;
            for (int j = 0; j < 16; j += L) {
                IntVector q = (IntVector) ByteVector.fromMemorySegment(BS, s, blk + 2 + j, LE)
                        .convertShape(VectorOperators.B2I, IS, 0);
                FloatVector lo = (FloatVector) q.and(0x0f).sub(8).convert(VectorOperators.I2F, 0);
                FloatVector hi = (FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(0x0f).sub(8)
                        .convert(VectorOperators.I2F, 0);
                int o = xb + j;
                s0 = hi.fma(FloatVector.fromArray(FS, x, x0 + o + 16), lo.fma(FloatVector.fromArray(FS, x, x0 + o), s0));
                s1 = hi.fma(FloatVector.fromArray(FS, x, x1 + o + 16), lo.fma(FloatVector.fromArray(FS, x, x1 + o), s1));
                s2 = hi.fma(FloatVector.fromArray(FS, x, x2 + o + 16), lo.fma(FloatVector.fromArray(FS, x, x2 + o), s2));
                s3 = hi.fma(FloatVector.fromArray(FS, x, x3 + o + 16), lo.fma(FloatVector.fromArray(FS, x, x3 + o), s3));
            }
            FloatVector d = scale(s, blk);
            FloatVector t0 = e0, t1 = e1, t2 = e2, t3 = e3;        // dot's even/odd accumulators: c takes this
            e0 = s0.fma(d, c0);                                    // block, then c and e trade places (c + e is
            e1 = s1.fma(d, c1);                                    // the same bits either way round)
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

    // out[o_t] = w_t · x[xo ..) for four rows t (one token), as two pairs of rows read side by side (two memory
    // streams in flight; four rows' unpacking in one method exceeds C2's inlining node budget and boxes the vectors);
    // per row the operations of dot in its order (block, even/odd accumulators), so bit-identical to it
    static void dotRows4(MemorySegment s, long r0, long r1, long r2, long r3, float[] x, int xo, int n, float[] out,
                         int o0, int o1, int o2, int o3) {
        dotRows2(s, r0, r1, x, xo, n, out, o0, o1);
        dotRows2(s, r2, r3, x, xo, n, out, o2, o3);
    }

    static void dotRows2(MemorySegment s, long r0, long r1, float[] x, int xo, int n, float[] out, int o0, int o1) {
        FloatVector c0 = FloatVector.zero(FS), c1 = c0;
        FloatVector e0 = c0, e1 = c0;
        for (int b = 0; b < n / 32; b++) {
            long k = 18L * b;
            int xb = xo + 32 * b;
            FloatVector s0 = FloatVector.zero(FS), s1 = s0;
            for (int j = 0; j < 16; j += L) {
                FloatVector xlo = FloatVector.fromArray(FS, x, xb + j);
                FloatVector xhi = FloatVector.fromArray(FS, x, xb + j + 16);
                IntVector q0 = (IntVector) ByteVector.fromMemorySegment(BS, s, r0 + k + 2 + j, LE)
                        .convertShape(VectorOperators.B2I, IS, 0);
                IntVector q1 = (IntVector) ByteVector.fromMemorySegment(BS, s, r1 + k + 2 + j, LE)
                        .convertShape(VectorOperators.B2I, IS, 0);
                s0 = hiNib(q0).fma(xhi, loNib(q0).fma(xlo, s0));     // block's two FMAs in block's order
                s1 = hiNib(q1).fma(xhi, loNib(q1).fma(xlo, s1));
            }
            FloatVector t0 = e0, t1 = e1;                          // as in dot4
            e0 = s0.fma(scale(s, r0 + k), c0);
            e1 = s1.fma(scale(s, r1 + k), c1);
            c0 = t0;
            c1 = t1;
        }
        out[o0] = hsum(c0.add(e0));
        out[o1] = hsum(c1.add(e1));
    }

    // the low / high nibbles of int lanes, minus 8, as floats
    private static FloatVector loNib(IntVector q) {
        return (FloatVector) q.and(0x0f).sub(8).convert(VectorOperators.I2F, 0);
    }

    private static FloatVector hiNib(IntVector q) {
        return (FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(0x0f).sub(8).convert(VectorOperators.I2F, 0);
    }
}
