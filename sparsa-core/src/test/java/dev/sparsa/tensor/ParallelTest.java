package dev.sparsa.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicIntegerArray;

import org.junit.jupiter.api.Test;

class ParallelTest {

    @Test
    void everyIndexRunsExactlyOnceOverManyCalls() {
        try (Parallel p = new Parallel(3)) {
            for (int call = 0; call < 20_000; call++) {
                int n = 1 + call % 97;
                AtomicIntegerArray seen = new AtomicIntegerArray(n);
                p.forRange(n, 1 + call % 5, (from, to) -> {
                    for (int i = from; i < to; i++) {
                        seen.incrementAndGet(i);
                    }
                });
                for (int i = 0; i < n; i++) {
                    assertThat(seen.get(i)).as("call %d index %d", call, i).isEqualTo(1);
                }
            }
        }
    }

    @Test
    void chunksRespectGrainAndUseWorkers() {
        try (Parallel p = new Parallel(2)) {
            java.util.Set<String> names = java.util.concurrent.ConcurrentHashMap.newKeySet();
            for (int k = 0; k < 200 && names.size() < 2; k++) {
                p.forRange(1000, 10, (from, to) -> {
                    assertThat(to - from).isGreaterThanOrEqualTo(10);
                    names.add(Thread.currentThread().getName());
                    long t0 = System.nanoTime();
                    while (System.nanoTime() - t0 < 50_000) {
                        Thread.onSpinWait();
                    }
                });
            }
            assertThat(names).hasSize(2);
        }
    }

    @Test
    void exceptionsReachTheCallerAndThePoolStaysUsable() {
        try (Parallel p = new Parallel(2)) {
            assertThatThrownBy(() -> p.forRange(100, 1, (from, to) -> {
                if (from <= 50 && 50 < to) {
                    throw new IllegalStateException("boom");
                }
            })).isInstanceOf(IllegalStateException.class).hasMessage("boom");
            int[] hits = new int[100];
            p.forRange(100, 1, (from, to) -> {
                for (int i = from; i < to; i++) {
                    hits[i]++;
                }
            });
            assertThat(hits).containsOnly(1);
        }
    }

    @Test
    void nestedCallsRunInline() {
        try (Parallel p = new Parallel(2)) {
            AtomicIntegerArray seen = new AtomicIntegerArray(64 * 64);
            p.forRange(64, 1, (from, to) -> {
                for (int i = from; i < to; i++) {
                    int row = i;
                    p.forRange(64, 1, (f2, t2) -> {
                        for (int j = f2; j < t2; j++) {
                            seen.incrementAndGet(row * 64 + j);
                        }
                    });
                }
            });
            for (int i = 0; i < 64 * 64; i++) {
                assertThat(seen.get(i)).isEqualTo(1);
            }
        }
    }

    @Test
    void closedPoolRunsOnCaller() {
        Parallel p = new Parallel(2);
        p.close();
        int[] hits = new int[10];
        p.forRange(10, 1, (from, to) -> hits[from] += to - from);
        assertThat(hits[0]).isEqualTo(10);
    }
}
