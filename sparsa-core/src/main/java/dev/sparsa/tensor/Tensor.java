package dev.sparsa.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A named, row-major tensor over a {@link MemorySegment} (usually mmap'd straight from the model file).
 * {@code shape[shape.length-1]} is the contiguous dimension; a 2-D weight {@code [rows, cols]} of a linear layer
 * is {@code [out, in]} so that {@code y = W·x} is a matvec over rows. GGUF's reversed dims are turned into this
 * order by its reader.
 */
public record Tensor(String name, DType dtype, int[] shape, MemorySegment data) {

    public Tensor {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(name + ": negative dimension in " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        long need = dtype.bytesFor(n);
        if (data.byteSize() != need) {
            throw new IllegalArgumentException(name + ": " + dtype + Arrays.toString(shape) + " needs " + need
                    + " bytes, segment has " + data.byteSize());
        }
        data = plainNative(data);
    }

    private static final boolean NATIVE_ACCESS = Tensor.class.getModule().isNativeAccessEnabled();

    /**
     * An off-heap segment re-viewed as a plain native segment over the same memory and scope (same liveness checks,
     * same read-only flag). A file mapping and an arena allocation are two implementation classes inside the JDK; a
     * kernel that sees both (mmap'd weights next to weights computed at load time) gets a bimorphic type profile in
     * the Vector API's load path, which C2 compiles about 3x slower than the monomorphic loop. Viewing every off-heap
     * tensor through one class keeps the kernels monomorphic. Needs native access ({@code reinterpret} is
     * restricted); without it the segment is kept as it is (correct, possibly slower).
     */
    static MemorySegment plainNative(MemorySegment s) {
        return NATIVE_ACCESS && s.isNative() ? s.reinterpret(s.byteSize()) : s;
    }

    public long numel() {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    public int rank() {
        return shape.length;
    }

    /** Rows of a matrix (product of all but the last dimension). */
    public int rows() {
        return (int) (numel() / cols());
    }

    /** Length of a row: the last dimension. */
    public int cols() {
        return shape.length == 0 ? 1 : shape[shape.length - 1];
    }

    /** Bytes of one row. */
    public long rowBytes() {
        return dtype.bytesFor(cols());
    }

    /** A new F32 tensor in its own heap-backed segment, for tests and small computed weights. */
    public static Tensor f32(String name, float[] values, int... shape) {
        MemorySegment seg = MemorySegment.ofArray(new byte[values.length * 4]);
        MemorySegment.copy(values, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, values.length);
        return new Tensor(name, DType.F32, shape.clone(), seg);
    }

    /** A copy of this tensor's bytes in {@code arena}, e.g. to outlive a closed file. */
    public Tensor copyTo(Arena arena) {
        MemorySegment seg = arena.allocate(data.byteSize(), 64);
        seg.copyFrom(data);
        return new Tensor(name, dtype, shape, seg);
    }

    public String describe() {
        return name + " " + dtype + Arrays.toString(shape);
    }

    @Override
    public String toString() {
        return describe();
    }

    @Override
    public boolean equals(Object o) {
        return this == o;
    }

    @Override
    public int hashCode() {
        return System.identityHashCode(this);
    }
}
