package dev.sparsa.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A weight matrix {@code [rows, cols]} = {@code [out, in]} stored as int8 codes with one scale and one zero point
 * per row: w[r][c] = (q[r][c] − z[r]) · s[r] (ONNX {@code DequantizeLinear}; {@code MatMulInteger}'s B with its
 * per-column zero point, transposed into Sparsa's row-per-output layout). One byte per weight plus 8 bytes per row.
 * A uint8 source is stored as q − 128 with z − 128, which leaves every q − z, and so every product, unchanged.
 * {@link Int8Gemm} multiplies it by dynamically quantized activations in exact integer arithmetic.
 *
 * @param data  rows·cols signed bytes, row-major
 * @param scale s[r], one per row
 * @param zero  z[r] in [−128, 127], one per row
 */
public record Int8Matrix(String name, int rows, int cols, MemorySegment data, float[] scale, int[] zero) {

    /**
     * Largest row length: |q − z| ≤ 255 for the activations and the weights, so a dot of {@code cols} products
     * stays inside int32 (255·255·33025 &lt; 2³¹), as ONNX Runtime's int32 accumulator does.
     */
    public static final int MAX_COLS = 32768;

    public Int8Matrix {
        if (rows < 0 || cols < 0 || cols > MAX_COLS) {
            throw new IllegalArgumentException(name + ": [" + rows + ", " + cols + "] (at most " + MAX_COLS
                    + " columns)");
        }
        if (data.byteSize() != (long) rows * cols || scale.length != rows || zero.length != rows) {
            throw new IllegalArgumentException(name + ": [" + rows + ", " + cols + "] needs " + (long) rows * cols
                    + " bytes and " + rows + " scales and zero points, got " + data.byteSize() + ", "
                    + scale.length + " and " + zero.length);
        }
        for (int z : zero) {
            if (z < -128 || z > 127) {
                throw new IllegalArgumentException(name + ": zero point " + z + " outside [-128, 127]");
            }
        }
        data = Tensor.plainNative(data);
    }

    /** q[r][c], the stored code. */
    public int code(int r, int c) {
        return data.get(ValueLayout.JAVA_BYTE, (long) r * cols + c);
    }

    /** w[r][c] = (q[r][c] − z[r]) · s[r], as DequantizeLinear computes it in float. */
    public float value(int r, int c) {
        return (code(r, c) - zero[r]) * scale[r];
    }

    /** True when some row has a non-zero zero point (the product then needs the activations' row sums). */
    public boolean hasZeroPoints() {
        for (int z : zero) {
            if (z != 0) {
                return true;
            }
        }
        return false;
    }

    /** Every weight dequantized into a new F32 tensor in {@code arena} (4 bytes per weight). */
    public Tensor dequantized(Arena arena) {
        MemorySegment seg = arena.allocate(4L * rows * cols, 64);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                seg.setAtIndex(ValueLayout.JAVA_FLOAT, (long) r * cols + c, value(r, c));
            }
        }
        return new Tensor(name, DType.F32, new int[]{rows, cols}, seg);
    }

    /** Bytes held: the codes plus a scale and a zero point per row. */
    public long bytes() {
        return data.byteSize() + 8L * rows;
    }

    @Override
    public boolean equals(Object o) {
        return this == o;
    }

    @Override
    public int hashCode() {
        return System.identityHashCode(this);
    }

    @Override
    public String toString() {
        return name + " int8[" + rows + ", " + cols + "]";
    }
}
