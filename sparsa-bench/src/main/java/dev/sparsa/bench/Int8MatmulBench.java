package dev.sparsa.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
import dev.sparsa.tensor.Int8Gemm;
import dev.sparsa.tensor.Int8Matrix;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;

/**
 * A dynamic-int8 BERT linear layer ({@code DynamicQuantizeLinear → MatMulInteger → Mul}, {@link Int8Gemm}) against
 * the F32 one ({@link Kernels#matmul}) at MiniLM-L6's shapes (hidden 384, FFN 1536) for {@code tokens} tokens (e.g.
 * 32 sentences × 4, or 1 × 128): {@code f32} is Y = X·W^T on an F32 W, {@code int8} the same product on the int8
 * codes of W with x's codes, {@code int8Quantize} adds DynamicQuantizeLinear of x. Average time per call.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class Int8MatmulBench {
    /** W = [out, in]: the Q/K/V/output projection, FFN up, FFN down. */
    @Param({"384x384", "1536x384", "384x1536"})
    public String shape;
    @Param({"16", "128"})
    public int tokens;
    @Param({"1", "2"})
    public int threads;

    Arena arena;
    Tensor w;
    Int8Matrix q;
    float[] x;
    int[] codes;
    float[] sx;
    float[] y;
    Parallel par;

    @Setup(Level.Trial)
    public void setup() {
        String[] s = shape.split("x");
        int out = Integer.parseInt(s[0]);
        int in = Integer.parseInt(s[1]);
        arena = Arena.ofShared();
        w = RandomWeights.matrix("w", DType.F32, out, in, 9, arena);
        Random rnd = new Random(3);
        byte[] b = new byte[out * in];
        rnd.nextBytes(b);
        float[] scale = new float[out];
        int[] zero = new int[out];
        for (int r = 0; r < out; r++) {
            scale[r] = 1e-3f;
            zero[r] = rnd.nextInt(256) - 128;
        }
        q = new Int8Matrix("w", out, in, MemorySegment.ofArray(b), scale, zero);
        x = Inputs.gaussian(tokens * in, 1);
        codes = new int[tokens * in];
        sx = new float[tokens];
        quantize();
        y = new float[tokens * out];
        par = new Parallel(threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        par.close();
        arena.close();
    }

    private void quantize() {
        Int8Gemm.Range r = Int8Gemm.range(x, 0, x.length);
        Int8Gemm.quantize(x, 0, x.length, r, codes);
        java.util.Arrays.fill(sx, r.scale());
    }

    @Benchmark
    public float[] f32() {
        Kernels.matmul(w, x, tokens, y, par);
        return y;
    }

    @Benchmark
    public float[] int8() {
        Int8Gemm.matmul(q, codes, sx, tokens, y, par);
        return y;
    }

    @Benchmark
    public float[] int8Quantize() {
        quantize();
        Int8Gemm.matmul(q, codes, sx, tokens, y, par);
        return y;
    }
}
