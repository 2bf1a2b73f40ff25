package dev.sparsa.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.DoubleAdder;

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

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import dev.sparsa.tensor.Parallel;

/**
 * STREAM-style memory bandwidth probe over off-heap segments, split in contiguous chunks over {@code threads}
 * (Sparsa's own pool). {@code read}: vector sum over 1 GiB (bytes = 1 GiB); {@code copy}: b = a over 512 MiB
 * arrays (bytes = 2 × 512 MiB, STREAM convention: no write-allocate traffic counted); {@code triad}:
 * a = b + s·c over 512 MiB arrays (bytes = 3 × 512 MiB).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class StreamBench {
    static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final long READ_BYTES = 1L << 30;
    static final long ARRAY_BYTES = 1L << 29;

    @Param({"1", "2"})
    public int threads;

    Parallel par;
    Arena arena;
    MemorySegment big;
    MemorySegment a;
    MemorySegment b;
    MemorySegment c;

    @Setup(Level.Trial)
    public void setup() {
        par = new Parallel(threads);
        arena = Arena.ofShared();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        par.close();
        arena.close();
    }

    MemorySegment filled(long bytes) {
        MemorySegment s = arena.allocate(bytes, 4096);
        s.fill((byte) 1); // touch every page
        return s;
    }

    /** Chunks of 1 MiB, contiguous per thread. */
    static int chunks(long bytes) {
        return (int) (bytes >>> 20);
    }

    @Benchmark
    public double read() {
        if (big == null) {
            big = filled(READ_BYTES);
        }
        DoubleAdder total = new DoubleAdder();
        par.forRange(chunks(READ_BYTES), chunks(READ_BYTES) / threads / 4, (from, to) -> {
            FloatVector s0 = FloatVector.zero(FS), s1 = s0, s2 = s0, s3 = s0;
            long step = FS.vectorByteSize();
            for (long o = (long) from << 20, end = (long) to << 20; o < end; o += 4 * step) {
                s0 = s0.add(FloatVector.fromMemorySegment(FS, big, o, LE));
                s1 = s1.add(FloatVector.fromMemorySegment(FS, big, o + step, LE));
                s2 = s2.add(FloatVector.fromMemorySegment(FS, big, o + 2 * step, LE));
                s3 = s3.add(FloatVector.fromMemorySegment(FS, big, o + 3 * step, LE));
            }
            total.add(s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD));
        });
        return total.sum();
    }

    @Benchmark
    public MemorySegment copy() {
        if (a == null) {
            a = filled(ARRAY_BYTES);
            b = filled(ARRAY_BYTES);
        }
        par.forRange(chunks(ARRAY_BYTES), chunks(ARRAY_BYTES) / threads / 4, (from, to) -> {
            long o = (long) from << 20;
            MemorySegment.copy(a, o, b, o, (long) (to - from) << 20);
        });
        return b;
    }

    @Benchmark
    public MemorySegment triad() {
        if (c == null) {
            a = filled(ARRAY_BYTES);
            b = filled(ARRAY_BYTES);
            c = filled(ARRAY_BYTES);
        }
        par.forRange(chunks(ARRAY_BYTES), chunks(ARRAY_BYTES) / threads / 4, (from, to) -> {
            long step = FS.vectorByteSize();
            for (long o = (long) from << 20, end = (long) to << 20; o < end; o += step) {
                FloatVector.fromMemorySegment(FS, c, o, LE).fma(FloatVector.broadcast(FS, 3f), FloatVector.fromMemorySegment(FS, b, o, LE))
                        .intoMemorySegment(a, o, LE);
            }
        });
        return a;
    }
}
