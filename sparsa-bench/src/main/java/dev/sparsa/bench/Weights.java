package dev.sparsa.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Quant;
import dev.sparsa.tensor.Tensor;

/** Random off-heap weights for benchmarks (values ~ N(0, 0.02²)-ish, quantized with {@link Quant}). */
final class Weights {
    private Weights() {
    }

    static Tensor random(String name, DType type, int rows, int cols, Arena arena, long seed) {
        MemorySegment seg = arena.allocate(type.bytesFor((long) rows * cols), 64);
        long rb = type.bytesFor(cols);
        float[] row = new float[cols];
        long s = seed | 1;
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < cols; i++) {
                s ^= s << 13;
                s ^= s >>> 7;
                s ^= s << 17;
                row[i] = ((s >>> 40) / (float) (1 << 24) - 0.5f) * 0.05f;
            }
            Quant.quantize(type, row, 0, cols, seg, r * rb);
        }
        return new Tensor(name, type, new int[] {rows, cols}, seg);
    }

    static float[] vector(int n, long seed) {
        java.util.Random rnd = new java.util.Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }
}
