package dev.sparsa.io.tokenizer;

import java.util.Arrays;

/** Open-addressing long → long map (no boxing) for BPE merge ranks: key = (left id, right id). Read-only after build. */
final class LongLongMap {
    private static final long EMPTY = Long.MIN_VALUE;
    private final long[] keys;
    private final long[] vals;
    private final int mask;

    LongLongMap(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[cap];
        vals = new long[cap];
        mask = cap - 1;
        Arrays.fill(keys, EMPTY);
    }

    private static int hash(long k) {
        long h = k * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29));
    }

    /** Stores v for k, replacing an earlier value (HF collects its merge map so: a repeated pair's last rank wins). */
    void put(long k, long v) {
        int i = hash(k) & mask;
        while (keys[i] != EMPTY && keys[i] != k) {
            i = (i + 1) & mask;
        }
        keys[i] = k;
        vals[i] = v;
    }

    /** The value for k, or {@code missing}. */
    long get(long k, long missing) {
        int i = hash(k) & mask;
        while (keys[i] != EMPTY) {
            if (keys[i] == k) {
                return vals[i];
            }
            i = (i + 1) & mask;
        }
        return missing;
    }

    static long pair(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }
}
