package dev.sparsa.io;

import dev.sparsa.SparsaException;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Half;
import dev.sparsa.tensor.Quant;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Encoding and decoding of rows in every Sparsa dtype for the format code. Encoding delegates to
 * {@link Quant} (the one quantizer of the project); GgufGoldenTest checks its bytes against gguf-py. Q8_0 and Q4_0
 * are quantized exactly as ggml's reference
 * quantizers (ggml-quants.c {@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref}), which are what
 * llama.cpp's converter and {@code llama-quantize} produce for these types:
 * <ul>
 *   <li>Q8_0, per block of 32: amax = max|x|; d = amax / 127; id = d ≠ 0 ? 1/d : 0; q = roundf(x·id) (half away
 *   from zero); stored as fp16(d) then 32 int8.</li>
 *   <li>Q4_0, per block of 32: max = the x with the largest |x| (first one on ties, sign kept); d = max / −8;
 *   id = d ≠ 0 ? 1/d : 0; q = min(15, (int)(x·id + 8.5f)); stored as fp16(d) then 16 bytes, byte j = q[j] |
 *   q[j+16] ≪ 4.</li>
 * </ul>
 * All arithmetic is in float, as in C.
 */
public final class Quantize {
    private static final ValueLayout.OfShort S16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int QK = 32;

    private Quantize() {
    }

    /** Quantizes {@code n} values (a multiple of 32) of {@code x} from {@code xOff} into Q8_0 blocks at dst+off. */
    public static void q8_0(float[] x, int xOff, int n, MemorySegment dst, long off) {
        checkBlocks(n);
        Quant.quantizeQ8_0(x, xOff, n, dst, off);
    }

    /** Quantizes {@code n} values (a multiple of 32) of {@code x} from {@code xOff} into Q4_0 blocks at dst+off. */
    public static void q4_0(float[] x, int xOff, int n, MemorySegment dst, long off) {
        checkBlocks(n);
        Quant.quantizeQ4_0(x, xOff, n, dst, off);
    }

    private static void checkBlocks(int n) {
        if (n % QK != 0) {
            throw new SparsaException.UsageException("quantize: " + n + " values is not a multiple of " + QK);
        }
    }

    /** Encodes {@code n} floats into {@code type} at dst+off (n a multiple of the block size). */
    public static void encode(float[] x, int xOff, int n, DType type, MemorySegment dst, long off) {
        if (n % type.blockSize() != 0) {
            checkBlocks(n);
        }
        Quant.quantize(type, x, xOff, n, dst, off);
    }

    /** Decodes {@code n} values of {@code type} at src+off into {@code out[outOff..]}. */
    public static void decode(MemorySegment src, long off, DType type, int n, float[] out, int outOff) {
        switch (type) {
            case F32 -> MemorySegment.copy(src, F32, off, out, outOff, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out[outOff + i] = Half.f16ToFloat(src.get(S16, off + 2L * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out[outOff + i] = Half.bf16ToFloat(src.get(S16, off + 2L * i));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < n / QK; b++) {
                    long o = off + (long) b * DType.Q8_0.blockBytes();
                    float d = Half.f16ToFloat(src.get(S16, o));
                    for (int j = 0; j < QK; j++) {
                        out[outOff + b * QK + j] = src.get(ValueLayout.JAVA_BYTE, o + 2 + j) * d;
                    }
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < n / QK; b++) {
                    long o = off + (long) b * DType.Q4_0.blockBytes();
                    float d = Half.f16ToFloat(src.get(S16, o));
                    for (int j = 0; j < QK / 2; j++) {
                        int q = src.get(ValueLayout.JAVA_BYTE, o + 2 + j) & 0xff;
                        out[outOff + b * QK + j] = ((q & 0x0f) - 8) * d;
                        out[outOff + b * QK + j + QK / 2] = ((q >>> 4) - 8) * d;
                    }
                }
            }
        }
    }

    /** Row {@code row} of a tensor as floats. */
    public static float[] row(Tensor t, int row) {
        float[] out = new float[t.cols()];
        decode(t.data(), row * t.rowBytes(), t.dtype(), t.cols(), out, 0);
        return out;
    }

    /**
     * {@code t} converted to {@code type} in a segment of {@code arena} (a copy even when the type is the same).
     * The row length must be a multiple of the target's block size.
     */
    public static Tensor convert(Tensor t, DType type, Arena arena) {
        int cols = t.cols();
        int rows = cols == 0 ? 0 : t.rows();
        if (cols % type.blockSize() != 0) {
            throw new SparsaException.UsageException("quantize: tensor " + t.name() + " row length " + cols
                    + " is not a multiple of the " + type + " block size " + type.blockSize());
        }
        long outRow = type.bytesFor(cols);
        MemorySegment dst = arena.allocate(Math.max(1, outRow * rows), 64).asSlice(0, outRow * rows);
        float[] buf = new float[cols];
        for (int r = 0; r < rows; r++) {
            decode(t.data(), r * t.rowBytes(), t.dtype(), cols, buf, 0);
            encode(buf, 0, cols, type, dst, r * outRow);
        }
        return new Tensor(t.name(), type, t.shape().clone(), dst);
    }
}
