package dev.sparsa.bench;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;
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

import dev.sparsa.tensor.Parallel;

/**
 * Fixed cost of one {@code forRange} call with a near-empty body (64 items): Sparsa's pool vs the
 * ForkJoinPool-based splitter it replaced. Decode makes ~150 such calls per token.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class ParallelBench {
    @Param({"2"})
    public int threads;

    Parallel par;
    ForkJoinPool fj;
    final float[] out = new float[64];

    @Setup(Level.Trial)
    public void setup() {
        par = new Parallel(threads);
        fj = new ForkJoinPool(threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        par.close();
        fj.shutdown();
    }

    @Benchmark
    public float[] sparsaPool() {
        par.forRange(64, 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                out[i] += 1f;
            }
        });
        return out;
    }

    @Benchmark
    public float[] forkJoin() {
        int chunks = Math.min(threads * 4, 64);
        fj.invoke(new Split(0, 64, (64 + chunks - 1) / chunks));
        return out;
    }

    final class Split extends RecursiveAction {
        final int from;
        final int to;
        final int chunk;

        Split(int from, int to, int chunk) {
            this.from = from;
            this.to = to;
            this.chunk = chunk;
        }

        @Override
        protected void compute() {
            if (to - from <= chunk) {
                for (int i = from; i < to; i++) {
                    out[i] += 1f;
                }
                return;
            }
            int mid = from + Math.max(1, (to - from) / chunk / 2) * chunk;
            invokeAll(new Split(from, mid, chunk), new Split(mid, to, chunk));
        }
    }
}
