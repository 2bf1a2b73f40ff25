package dev.sparsa.tensor;

import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import static dev.sparsa.tensor.Simd.BS;
import static dev.sparsa.tensor.Simd.FS;
import static dev.sparsa.tensor.Simd.I16;
import static dev.sparsa.tensor.Simd.IS;
import static dev.sparsa.tensor.Simd.LE;

/**
 * Dequantization of weight lanes: stored bits (fp16, bf16, int8, packed nibbles) to {@link Simd#FS float vectors},
 * exact for every value (f16 subnormals, ±inf and NaN included). Shared by the per-dtype row loops.
 */
final class Dequant {
    private Dequant() {
    }

    // a block's fp16 scale, broadcast
    static FloatVector scale(MemorySegment s, long blk) {
        return FloatVector.broadcast(FS, Float.float16ToFloat(s.get(I16, blk)));
    }

    // L int8 at off → L floats
    static FloatVector q8(MemorySegment s, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(BS, s, off, LE).convertShape(VectorOperators.B2F, FS, 0);
    }

    // low nibbles − 8 → floats
    static FloatVector lo4(ByteVector q) {
        IntVector i = (IntVector) q.convertShape(VectorOperators.B2I, IS, 0);
        return (FloatVector) i.and(0x0f).sub(8).convert(VectorOperators.I2F, 0);
    }

    // high nibbles − 8 → floats (in int lanes: x86 has no byte shift)
    static FloatVector hi4(ByteVector q) {
        IntVector i = (IntVector) q.convertShape(VectorOperators.B2I, IS, 0);
        return (FloatVector) i.lanewise(VectorOperators.ASHR, 4).and(0x0f).sub(8).convert(VectorOperators.I2F, 0);
    }

    // bfloat16 bits → float: widen to int lanes, shift into the upper half
    static FloatVector bf16(ShortVector h) {
        return ((IntVector) h.convertShape(VectorOperators.S2I, IS, 0)).lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    // binary16 bits → float, exact (subnormals, ±inf, NaN): move exponent+mantissa into place, rescale by 2^112
    static FloatVector f16(ShortVector h16) {
        IntVector h = (IntVector) h16.convertShape(VectorOperators.S2I, IS, 0); // sign-extended
        IntVector em = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
        em = em.lanewise(VectorOperators.OR, 0x7f800000, h.and(0x7c00).eq(0x7c00)); // inf / NaN keep max exponent
        return em.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts().or(h.and(0x80000000)).reinterpretAsFloats();
    }
}
