package dev.sparsa.bench;

import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import dev.sparsa.io.RandomWeights;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;

/**
 * Dense matvec at LLaMA-7B FFN shapes, weights off-heap: {@code up} = W_up [11008, 4096], {@code down} = W_down
 * [4096, 11008]. Achieved bandwidth = weight bytes / time (F32 180 MB, F16/BF16 90 MB, Q8_0 47.9 MB, Q4_0 25.4 MB).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class MatvecBench {
    @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0"})
    public String dtype;
    @Param({"up", "down"})
    public String shape;
    @Param({"1", "2"})
    public int threads;

    Arena arena;
    Tensor w;
    float[] x;
    float[] y;
    Parallel par;

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        int rows = shape.equals("up") ? 11008 : 4096;
        int cols = shape.equals("up") ? 4096 : 11008;
        w = RandomWeights.matrix("w", DType.valueOf(dtype), rows, cols, 42, arena);
        x = Inputs.gaussian(cols, 1);
        y = new float[rows];
        par = new Parallel(threads);
        System.out.printf("%n# %s: %.1f MB of weights%n", w, w.data().byteSize() / 1e6);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        par.close();
        arena.close();
    }

    @Benchmark
    public float[] matvec() {
        Kernels.matvec(w, x, y, par);
        return y;
    }
}
