package dev.sparsa.tensor;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector shapes every kernel of this package uses, chosen once: the float species {@link #FS} and the byte,
 * short and int species of the same lane count, the unaligned little-endian layouts of stored weights, and the
 * fixed-order lane sum {@link #hsum} (the same bits in the interpreter and in JIT-compiled code).
 */
final class Simd {
    private Simd() {
    }

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /**
     * The float species, chosen once: the CPU's preferred one when it holds 8 or 16 floats (AVX2, AVX-512);
     * 256-bit otherwise (on 128-bit NEON/SSE the Vector API then emulates it: correct, not fast), capped at 512.
     */
    static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED.length() < 8 ? FloatVector.SPECIES_256
            : FloatVector.SPECIES_PREFERRED.length() > 16 ? FloatVector.SPECIES_512 : FloatVector.SPECIES_PREFERRED;
    static final int L = FS.length();
    static final VectorSpecies<Integer> IS = VectorSpecies.of(int.class, FS.vectorShape());
    static final VectorSpecies<Short> SS = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));
    static final VectorSpecies<Byte> BS = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));

    private static final VectorShuffle<Float> XOR8 = VectorShuffle.fromOp(FS, i -> (i ^ 8) & (L - 1));
    private static final VectorShuffle<Float> XOR4 = VectorShuffle.fromOp(FS, i -> i ^ 4);
    private static final VectorShuffle<Float> XOR2 = VectorShuffle.fromOp(FS, i -> i ^ 2);
    private static final VectorShuffle<Float> XOR1 = VectorShuffle.fromOp(FS, i -> i ^ 1);

    // Σ lanes as a fixed butterfly (reduceLanes(ADD) may reassociate, and differs between interpreter and JIT)
    static float hsum(FloatVector v) {
        if (L == 16) {
            v = v.add(v.rearrange(XOR8));
        }
        v = v.add(v.rearrange(XOR4));
        v = v.add(v.rearrange(XOR2));
        return v.add(v.rearrange(XOR1)).lane(0);
    }
}
