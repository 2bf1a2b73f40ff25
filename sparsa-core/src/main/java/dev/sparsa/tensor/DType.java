package dev.sparsa.tensor;

/**
 * Element types of weight tensors. Block-quantized types store {@link #blockSize()} values in
 * {@link #blockBytes()} bytes; a row of a quantized matrix is a whole number of blocks.
 * <ul>
 *   <li>Q8_0: 32 values = fp16 scale d + 32 int8 q; value = q · d (ggml block_q8_0).</li>
 *   <li>Q4_0: 32 values = fp16 scale d + 16 bytes; byte j holds value j in its low nibble and value j+16 in its
 *   high nibble; value = (nibble − 8) · d (ggml block_q4_0).</li>
 * </ul>
 */
public enum DType {
    F32(1, 4, 0),
    F16(1, 2, 1),
    BF16(1, 2, 30),
    Q8_0(32, 34, 8),
    Q4_0(32, 18, 2);

    private final int blockSize;
    private final int blockBytes;
    private final int ggmlType;

    DType(int blockSize, int blockBytes, int ggmlType) {
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
        this.ggmlType = ggmlType;
    }

    /** Values per block (1 for plain floats). */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int blockBytes() {
        return blockBytes;
    }

    /** The type id GGUF uses for this dtype. */
    public int ggmlType() {
        return ggmlType;
    }

    public boolean quantized() {
        return blockSize > 1;
    }

    /** Bytes needed for {@code numel} values; numel must be a multiple of the block size. */
    public long bytesFor(long numel) {
        if (numel % blockSize != 0) {
            throw new IllegalArgumentException(this + " needs a multiple of " + blockSize + " values, got " + numel);
        }
        return Math.multiplyExact(numel / blockSize, (long) blockBytes);
    }

    /** The dtype with this GGUF type id, or null when Sparsa does not support it. */
    public static DType fromGgml(int type) {
        for (DType t : values()) {
            if (t.ggmlType == type) {
                return t;
            }
        }
        return null;
    }
}
