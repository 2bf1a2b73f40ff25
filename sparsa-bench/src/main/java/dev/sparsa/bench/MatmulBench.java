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

/** Batched matmul (prefill / BERT / training) on W [4096, 4096]: GFLOP/s = 2 · 4096² · batch / time. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class MatmulBench {
    @Param({"F32", "BF16", "Q8_0"})
    public String dtype;
    @Param({"64"})
    public int batch;
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
        w = RandomWeights.matrix("w", DType.valueOf(dtype), 4096, 4096, 9, arena);
        x = Inputs.gaussian(batch * 4096, 1);
        y = new float[batch * 4096];
        par = new Parallel(threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        par.close();
        arena.close();
    }

    @Benchmark
    public float[] matmul() {
        Kernels.matmul(w, x, batch, y, par);
        return y;
    }
}
