package dev.sparsa.bench;

import java.util.Random;

/** Random activation inputs for the kernel benchmarks (weights come from {@link dev.sparsa.io.RandomWeights}). */
final class Inputs {
    private Inputs() {
    }

    /** {@code n} values ~ N(0, 1). */
    static float[] gaussian(int n, long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }
}
