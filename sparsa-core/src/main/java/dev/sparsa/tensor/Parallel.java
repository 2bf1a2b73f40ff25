package dev.sparsa.tensor;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed pool of worker threads for row-parallel kernels. Passed explicitly to whatever needs it (no global
 * state); {@code threads == 1} runs everything on the calling thread, which gives bit-identical results to any
 * other thread count for kernels that split only over independent output rows.
 *
 * <p>Built for many short calls (decode runs ~150 matvecs per token): the caller publishes one job, works on it
 * itself, and {@code threads − 1} workers take chunks from a shared counter. Idle workers spin for
 * {@link #SPIN_NANOS} before parking, so back-to-back calls cost well under a microsecond of hand-off; a parked
 * worker is woken with {@code unpark}. Which thread runs which chunk varies, but chunk boundaries depend only on
 * {@code n}, {@code grain} and the thread count, and kernels write disjoint outputs per index.
 *
 * <p>Nested or concurrent calls (a body calling {@code forRange}, or two threads sharing one pool) run on the
 * calling thread instead of waiting.
 */
public final class Parallel implements AutoCloseable {

    /** Body of a parallel loop over the half-open range [from, to). */
    @FunctionalInterface
    public interface Range {
        void run(int from, int to);
    }

    /** How long an idle worker spins before parking. */
    static final long SPIN_NANOS = 50_000;

    private final int threads;
    private final Worker[] workers;
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile Job job;
    private volatile boolean closed;

    public Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker();
            Thread t = Thread.ofPlatform().daemon().name("sparsa-parallel-" + (i + 1)).unstarted(workers[i]);
            workers[i].thread = t;
            t.start();
        }
    }

    /** One thread per available processor. */
    public static Parallel ofAvailableProcessors() {
        return new Parallel(Runtime.getRuntime().availableProcessors());
    }

    /** A pool that runs everything on the caller. */
    public static Parallel serial() {
        return new Parallel(1);
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs {@code body} over [0, n) split into contiguous chunks of at least {@code grain} items, one or more per
     * thread. Returns when all are done; rethrows the first exception a chunk threw.
     */
    public void forRange(int n, int grain, Range body) {
        if (n <= 0) {
            return;
        }
        int chunks = Math.min(threads * 4, Math.max(1, n / Math.max(1, grain)));
        if (workers.length == 0 || chunks <= 1 || closed || !busy.compareAndSet(false, true)) {
            body.run(0, n);
            return;
        }
        try {
            Job j = new Job(body, n, (n + chunks - 1) / chunks, Thread.currentThread());
            job = j;
            for (Worker w : workers) {
                if (w.parked) {
                    LockSupport.unpark(w.thread);
                }
            }
            j.work();
            long spins = 0;
            while (j.done.get() < j.chunks) {
                if (++spins < 20_000) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(j, 200_000);
                }
            }
            if (j.error != null) {
                if (j.error instanceof RuntimeException e) {
                    throw e;
                }
                if (j.error instanceof Error e) {
                    throw e;
                }
                throw new RuntimeException(j.error);
            }
        } finally {
            busy.set(false);
        }
    }

    private static final class Job {
        final Range body;
        final int n;
        final int chunk;
        final int chunks;
        final Thread caller;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable error;

        Job(Range body, int n, int chunk, Thread caller) {
            this.body = body;
            this.n = n;
            this.chunk = chunk;
            this.chunks = (n + chunk - 1) / chunk;
            this.caller = caller;
        }

        /** Takes chunks until none are left. */
        void work() {
            int c;
            while ((c = next.getAndIncrement()) < chunks) {
                if (error == null) {
                    try {
                        body.run(c * chunk, Math.min(n, (c + 1) * chunk));
                    } catch (Throwable t) {
                        error = t;
                    }
                }
                if (done.incrementAndGet() == chunks) {
                    LockSupport.unpark(caller);
                }
            }
        }
    }

    private final class Worker implements Runnable {
        Thread thread;
        volatile boolean parked;

        @Override
        public void run() {
            Job last = null;
            while (!closed) {
                Job j = job;
                if (j != last) {
                    last = j;
                    j.work();
                    continue;
                }
                long start = System.nanoTime();
                int spins = 0;
                while ((j = job) == last && !closed) {
                    Thread.onSpinWait();
                    if ((++spins & 255) == 0 && System.nanoTime() - start > SPIN_NANOS) {
                        parked = true;
                        if (job == last && !closed) {
                            LockSupport.park(this);
                        }
                        parked = false;
                        start = System.nanoTime();
                    }
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Worker w : workers) {
            LockSupport.unpark(w.thread);
        }
    }
}
