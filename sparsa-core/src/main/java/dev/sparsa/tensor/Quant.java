package dev.sparsa.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Reference quantizers to the ggml block formats, bit-compatible with ggml's {@code quantize_row_q8_0_ref} and
 * {@code quantize_row_q4_0_ref} (same float operations in the same order). The one place Sparsa quantizes: the
 * GGUF writer, {@link Kernels#transpose} and tests all call these.
 */
public final class Quant {
    private Quant() {
    }

    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    /**
     * Quantizes {@code src[off .. off+n)} (n a multiple of 32) to Q8_0 blocks at {@code dst[dstOff ..)}:
     * per block d = amax/127, q = round(x · (1/d)) (round half away from zero), d stored as fp16.
     */
    public static void quantizeQ8_0(float[] src, int off, int n, MemorySegment dst, long dstOff) {
        checkBlocks(n);
        for (int b = 0; b < n / 32; b++) {
            int o = off + 32 * b;
            long blk = dstOff + 34L * b;
            float amax = 0f;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(src[o + j]));
            }
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            dst.set(I16, blk, Float.floatToFloat16(d));
            for (int j = 0; j < 32; j++) {
                dst.set(ValueLayout.JAVA_BYTE, blk + 2 + j, (byte) roundAway(src[o + j] * id));
            }
        }
    }

    /**
     * Quantizes {@code src[off .. off+n)} (n a multiple of 32) to Q4_0 blocks: per block max = the value with the
     * largest |x| (first one on ties), d = max / −8, q = min(15, (int) (x · (1/d) + 8.5)); byte j holds element j
     * in its low nibble and element j+16 in its high nibble.
     */
    public static void quantizeQ4_0(float[] src, int off, int n, MemorySegment dst, long dstOff) {
        checkBlocks(n);
        for (int b = 0; b < n / 32; b++) {
            int o = off + 32 * b;
            long blk = dstOff + 18L * b;
            float amax = 0f;
            float max = 0f;
            for (int j = 0; j < 32; j++) {
                float v = src[o + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8f;
            float id = d != 0f ? 1f / d : 0f;
            dst.set(I16, blk, Float.floatToFloat16(d));
            for (int j = 0; j < 16; j++) {
                int q0 = Math.min(15, (byte) (src[o + j] * id + 8.5f));
                int q1 = Math.min(15, (byte) (src[o + j + 16] * id + 8.5f));
                dst.set(ValueLayout.JAVA_BYTE, blk + 2 + j, (byte) (q0 | (q1 << 4)));
            }
        }
    }

    /** Quantizes {@code n} floats to {@code type} (any dtype, F32/F16/BF16 included) at {@code dst[dstOff ..)}. */
    public static void quantize(DType type, float[] src, int off, int n, MemorySegment dst, long dstOff) {
        switch (type) {
            case F32 -> MemorySegment.copy(src, off, dst, ValueLayout.JAVA_FLOAT_UNALIGNED, dstOff, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst.set(I16, dstOff + 2L * i, Float.floatToFloat16(src[off + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    dst.set(I16, dstOff + 2L * i, Half.floatToBf16(src[off + i]));
                }
            }
            case Q8_0 -> quantizeQ8_0(src, off, n, dst, dstOff);
            case Q4_0 -> quantizeQ4_0(src, off, n, dst, dstOff);
        }
    }

    /** C's roundf: nearest integer, halves away from zero (exact: done in double). */
    static int roundAway(float v) {
        double a = Math.floor(Math.abs((double) v) + 0.5);
        return (int) Math.copySign(a, v);
    }

    private static void checkBlocks(int n) {
        if (n % 32 != 0) {
            throw new IllegalArgumentException("block quantization needs a multiple of 32 values, got " + n);
        }
    }
}
