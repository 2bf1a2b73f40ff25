package dev.sparsa.tensor;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link Permutation}: a permutation, fixed by its seed, uniform over the n! orders. */
class PermutationTest {
    @Test
    void isAPermutationFixedByItsSeed() {
        int[] p = Permutation.random(1000, 42);
        assertThat(Arrays.stream(p).sorted().toArray()).isEqualTo(java.util.stream.IntStream.range(0, 1000).toArray());
        assertThat(Permutation.random(1000, 42)).isEqualTo(p);
        assertThat(Permutation.random(1000, new SplittableRandom(42))).isEqualTo(p);
        assertThat(Permutation.random(1000, 43)).isNotEqualTo(p);
        assertThat(Permutation.random(0, 1)).isEmpty();
        assertThat(Permutation.random(1, 1)).containsExactly(0);
        assertThatThrownBy(() -> Permutation.random(-1, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    /** Each of the 24 orders of 4 elements within 5 sigma of 1/24 over 48,000 draws of one generator. */
    @Test
    void everyOrderIsEquallyLikely() {
        SplittableRandom rnd = new SplittableRandom(7);
        Map<String, Integer> counts = new HashMap<>();
        int draws = 48_000;
        for (int k = 0; k < draws; k++) {
            counts.merge(Arrays.toString(Permutation.random(4, rnd)), 1, Integer::sum);
        }
        assertThat(counts).hasSize(24);
        double mean = draws / 24.0;
        double sigma = Math.sqrt(draws * (1 / 24.0) * (23 / 24.0));
        assertThat(counts.values()).allSatisfy(c -> assertThat(Math.abs(c - mean)).isLessThan(5 * sigma));
    }
}
