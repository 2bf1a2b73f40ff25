package dev.sparsa.io;

import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Quant;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Random weights, the one maker for everything that needs a model's bytes but not its values: synthetic models for
 * end-to-end benchmarks ({@code sparsa synth}), throughput benchmarks of the profiler and JMH kernel benchmarks.
 *
 * <p>Values: uniform in ±0.02·√3 (standard deviation 0.02, like the usual N(0, 0.02²) init); norm weights 1, so
 * activations stay finite through any depth (every block input is RMS-normalised). Each tensor has its own generator
 * seeded from (seed, name), so the same seed gives the same values whatever else changes (activation, other
 * tensors, order). Stored in any {@link DType} through {@link Quant} (block types need rows of a multiple of 32).
 */
public final class RandomWeights {
    /** Standard deviation of every random value. */
    public static final double STD = 0.02;

    private RandomWeights() {
    }

    /** A {@code rows × cols} matrix of random values (see the class comment) in {@code arena}. */
    public static Tensor matrix(String name, DType dt, int rows, int cols, long seed, Arena arena) {
        if (dt.quantized() && cols % dt.blockSize() != 0) {
            throw new IllegalArgumentException(name + ": " + cols + " columns is not a multiple of the " + dt
                    + " block size " + dt.blockSize());
        }
        MemorySegment seg = arena.allocate(dt.bytesFor((long) rows * cols), 64);
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ name.hashCode());
        float scale = (float) (STD * Math.sqrt(3)) / (1 << 23);      // uniform(±a) has std a/√3
        long rowBytes = dt.bytesFor(cols);
        float[] row = new float[cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                row[j] = (r.nextInt() >> 8) * scale;                  // uniform in [-2^23, 2^23) · scale
            }
            Quant.quantize(dt, row, 0, cols, seg, i * rowBytes);
        }
        return new Tensor(name, dt, new int[] {rows, cols}, seg);
    }

    /** {@code n} ones (a norm weight). */
    public static Tensor ones(String name, DType dt, int n, Arena arena) {
        float[] v = new float[n];
        Arrays.fill(v, 1f);
        MemorySegment seg = arena.allocate(dt.bytesFor(n), 64);
        Quant.quantize(dt, v, 0, n, seg, 0);
        return new Tensor(name, dt, new int[] {n}, seg);
    }

    /** Every tensor of a Llama-family decoder with config {@code cfg}, without progress lines. */
    public static MapWeights decoder(ModelConfig cfg, DType dt, long seed, Arena arena) {
        return decoder(cfg, dt, seed, arena, line -> {
        });
    }

    /**
     * Every tensor {@link ModelFiles#decoderTensors} names for {@code cfg}, in that order: norm weights ones, matrices
     * and biases random, stored as {@code dt} (norms and biases too) in {@code arena}. One line per generated layer
     * goes to {@code log}.
     */
    public static MapWeights decoder(ModelConfig cfg, DType dt, long seed, Arena arena, Consumer<String> log) {
        MapWeights w = new MapWeights("random " + cfg.architecture() + " weights (seed " + seed + ")");
        for (Map.Entry<String, int[]> e : ModelFiles.decoderTensors(cfg).entrySet()) {
            String name = e.getKey();
            int[] shape = e.getValue();
            if (shape.length == 1) {
                w.put(name.endsWith("norm.weight") ? ones(name, dt, shape[0], arena) : vector(name, dt, shape[0], seed,
                        arena));
            } else {
                w.put(matrix(name, dt, shape[0], shape[1], seed, arena));
            }
            if (name.endsWith("mlp.down_proj.weight")) {
                int layer = Integer.parseInt(name.split("\\.")[2]);
                log.accept("generated layer " + (layer + 1) + "/" + cfg.numLayers());
            }
        }
        return w;
    }

    // a 1-D random tensor [n] (a bias): the values of a 1 × n matrix
    private static Tensor vector(String name, DType dt, int n, long seed, Arena arena) {
        Tensor m = matrix(name, dt, 1, n, seed, arena);
        return new Tensor(name, dt, new int[] {n}, m.data());
    }
}
