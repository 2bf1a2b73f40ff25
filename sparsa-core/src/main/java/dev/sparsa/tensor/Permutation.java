package dev.sparsa.tensor;

import java.util.SplittableRandom;

/**
 * Seeded uniform random permutations of [0, n) (Fisher–Yates): the row orders that reorder neurons, shuffle
 * training windows or sample a task's data. One implementation, so that every caller with the same seed gets the
 * same order.
 */
public final class Permutation {
    private Permutation() {
    }

    /** A uniform random permutation of [0, n) drawn from {@code rnd} (Fisher–Yates, from the last index down). */
    public static int[] random(int n, SplittableRandom rnd) {
        if (n < 0) {
            throw new IllegalArgumentException("permutation of " + n + " elements");
        }
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** {@link #random(int, SplittableRandom)} with a generator seeded by {@code seed}. */
    public static int[] random(int n, long seed) {
        return random(n, new SplittableRandom(seed));
    }
}
