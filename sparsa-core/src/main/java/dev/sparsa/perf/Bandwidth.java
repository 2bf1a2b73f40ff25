package dev.sparsa.perf;

import dev.sparsa.tensor.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.DoubleAdder;

/** The memory read bandwidth a benchmark compares its GB/s with, measured in the same process. */
public final class Bandwidth {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;

    private Bandwidth() {
    }

    /**
     * STREAM-style read bandwidth in GB/s (1e9 bytes/s): a vector sum over {@code bytes} of off-heap memory, split
     * in contiguous 1 MiB chunks over the pool's threads; best of {@code reps} after one warm-up pass.
     */
    public static double measure(Parallel par, long bytes, int reps) {
        long mib = Math.max(1, bytes >>> 20);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment big = arena.allocate(mib << 20, 4096);
            big.fill((byte) 1);
            double best = 0;
            for (int r = 0; r <= reps; r++) {
                DoubleAdder total = new DoubleAdder();
                long t0 = System.nanoTime();
                par.forRange((int) mib, Math.max(1, (int) mib / par.threads() / 4), (from, to) -> {
                    FloatVector s0 = FloatVector.zero(FS), s1 = s0, s2 = s0, s3 = s0;
                    long step = FS.vectorByteSize();
                    for (long o = (long) from << 20, end = (long) to << 20; o < end; o += 4 * step) {
                        s0 = s0.add(FloatVector.fromMemorySegment(FS, big, o, ByteOrder.LITTLE_ENDIAN));
                        s1 = s1.add(FloatVector.fromMemorySegment(FS, big, o + step, ByteOrder.LITTLE_ENDIAN));
                        s2 = s2.add(FloatVector.fromMemorySegment(FS, big, o + 2 * step, ByteOrder.LITTLE_ENDIAN));
                        s3 = s3.add(FloatVector.fromMemorySegment(FS, big, o + 3 * step, ByteOrder.LITTLE_ENDIAN));
                    }
                    total.add(s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD));
                });
                double s = (System.nanoTime() - t0) / 1e9;
                if (total.sum() == 42) {
                    throw new AssertionError();                    // keep the sum alive
                }
                if (r > 0) {
                    best = Math.max(best, (mib << 20) / s / 1e9);
                }
            }
            return best;
        }
    }
}
