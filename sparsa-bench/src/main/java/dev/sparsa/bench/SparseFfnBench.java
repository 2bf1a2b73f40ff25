package dev.sparsa.bench;

import java.lang.foreign.Arena;
import java.util.Random;
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
 * Exact-sparse FFN kernels at LLaMA-7B shape, {@code density} of the 11008 neurons active (random, sorted):
 * {@code matvecRows} on W_up [11008, 4096] and {@code axpyRows} on W_down stored transposed [11008, 4096].
 * Bytes touched = density × dense bytes.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class SparseFfnBench {
    @Param({"BF16", "Q8_0", "Q4_0"})
    public String dtype;
    @Param({"0.1"})
    public double density;
    @Param({"1", "2"})
    public int threads;

    Arena arena;
    Tensor w;
    int[] rows;
    int count;
    float[] coef;
    float[] x;
    float[] yUp;
    float[] yDown;
    Parallel par;

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        w = RandomWeights.matrix("w", DType.valueOf(dtype), 11008, 4096, 7, arena);
        Random rnd = new Random(3);
        rows = new int[11008];
        for (int i = 0; i < 11008; i++) {
            if (rnd.nextDouble() < density) {
                rows[count++] = i;
            }
        }
        coef = Inputs.gaussian(count, 5);
        x = Inputs.gaussian(4096, 1);
        yUp = new float[11008];
        yDown = new float[4096];
        par = new Parallel(threads);
        System.out.printf("%n# %s, %d active rows: %.1f MB touched%n", w, count,
                count * w.rowBytes() / 1e6);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        par.close();
        arena.close();
    }

    @Benchmark
    public float[] matvecRows() {
        Kernels.matvecRows(w, rows, count, x, yUp, par);
        return yUp;
    }

    @Benchmark
    public float[] axpyRows() {
        java.util.Arrays.fill(yDown, 0f);
        Kernels.axpyRows(w, rows, coef, count, yDown, par);
        return yDown;
    }
}
