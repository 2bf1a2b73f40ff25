package dev.sparsa.infer;

import dev.sparsa.SparsaException;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits: greedy (argmax) at temperature 0, else a draw from
 * {@code softmax(logits / T)} restricted to the top-p nucleus (Holtzman et al. 2020: the smallest set of most likely
 * tokens whose probability mass reaches p). Seeded, so a run is reproducible. Not thread-safe (one per sequence).
 */
public final class Sampler {
    private final float temperature;
    private final float topP;
    private final SplittableRandom rng;

    public Sampler(float temperature, float topP, long seed) {
        if (!(temperature >= 0f) || Float.isInfinite(temperature)) {
            throw new SparsaException.UsageException("--temperature must be a finite number >= 0, got " + temperature);
        }
        if (!(topP > 0f && topP <= 1f)) {
            throw new SparsaException.UsageException("--top-p must be in (0, 1], got " + topP);
        }
        this.temperature = temperature;
        this.topP = topP;
        this.rng = new SplittableRandom(seed);
    }

    /** Greedy decoding. */
    public static Sampler greedy() {
        return new Sampler(0f, 1f, 0L);
    }

    public int sample(float[] logits) {
        if (temperature == 0f) {
            return argmax(logits);
        }
        int n = logits.length;
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp((logits[i] - max) / temperature);      // p_i ∝ exp(l_i / T)
            sum += p[i];
        }
        if (topP >= 1f) {
            double r = rng.nextDouble() * sum;
            for (int i = 0; i < n; i++) {
                r -= p[i];
                if (r < 0) {
                    return i;
                }
            }
            return argmax(logits);   // r landed on the rounding error at the end
        }
        // nucleus: most likely first, keep tokens until the mass before them reaches p
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
        double target = topP * sum;
        double kept = 0;
        int k = 0;
        while (k < n && (k == 0 || kept < target)) {
            kept += p[order[k++]];
        }
        double r = rng.nextDouble() * kept;
        for (int j = 0; j < k; j++) {
            r -= p[order[j]];
            if (r < 0) {
                return order[j];
            }
        }
        return order[0];
    }

    /** Index of the largest logit (the first one on ties). */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }
}
