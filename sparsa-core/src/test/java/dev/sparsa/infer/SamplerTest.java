package dev.sparsa.infer;

import dev.sparsa.SparsaException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

class SamplerTest {
    // probabilities 1/7, 2/7, 4/7 at temperature 1
    static final float[] LOGITS = {0f, (float) Math.log(2), (float) Math.log(4)};

    static double[] frequencies(Sampler s, float[] logits, int draws) {
        double[] f = new double[logits.length];
        for (int i = 0; i < draws; i++) {
            f[s.sample(logits)] += 1.0 / draws;
        }
        return f;
    }

    @Test
    void greedyIsArgmaxFirstOnTies() {
        assertThat(Sampler.greedy().sample(new float[] {1f, 3f, 3f, -2f})).isEqualTo(1);
        assertThat(new Sampler(0f, 0.5f, 7).sample(LOGITS)).isEqualTo(2);
    }

    @Test
    void temperatureOneFollowsSoftmax() {
        double[] f = frequencies(new Sampler(1f, 1f, 42), LOGITS, 70_000);
        assertThat(f[0]).isCloseTo(1 / 7.0, offset(0.01));
        assertThat(f[1]).isCloseTo(2 / 7.0, offset(0.01));
        assertThat(f[2]).isCloseTo(4 / 7.0, offset(0.01));
    }

    @Test
    void temperatureTwoFlattens() {
        // p ∝ exp(l / 2) = 1, √2, 2
        double z = 1 + Math.sqrt(2) + 2;
        double[] f = frequencies(new Sampler(2f, 1f, 1), LOGITS, 70_000);
        assertThat(f[0]).isCloseTo(1 / z, offset(0.01));
        assertThat(f[2]).isCloseTo(2 / z, offset(0.01));
    }

    @Test
    void topPKeepsTheSmallestNucleus() {
        // 4/7 = 0.571 ≥ 0.5: only token 2
        double[] only2 = frequencies(new Sampler(1f, 0.5f, 3), LOGITS, 2000);
        assertThat(only2[0]).isZero();
        assertThat(only2[1]).isZero();
        // 0.6 > 4/7: tokens 2 and 1, renormalized to 1/3, 2/3
        double[] f = frequencies(new Sampler(1f, 0.6f, 3), LOGITS, 60_000);
        assertThat(f[0]).isZero();
        assertThat(f[1]).isCloseTo(1 / 3.0, offset(0.01));
        assertThat(f[2]).isCloseTo(2 / 3.0, offset(0.01));
    }

    @Test
    void sameSeedSameTokens() {
        Sampler a = new Sampler(0.8f, 0.95f, 99);
        Sampler b = new Sampler(0.8f, 0.95f, 99);
        for (int i = 0; i < 100; i++) {
            assertThat(a.sample(LOGITS)).isEqualTo(b.sample(LOGITS));
        }
    }

    @Test
    void badArguments() {
        assertThatThrownBy(() -> new Sampler(-1f, 1f, 0)).isInstanceOf(SparsaException.UsageException.class)
                .hasMessageContaining("--temperature");
        assertThatThrownBy(() -> new Sampler(1f, 0f, 0)).hasMessageContaining("--top-p must be in (0, 1], got 0.0");
        assertThatThrownBy(() -> new Sampler(1f, 1.5f, 0)).hasMessageContaining("--top-p");
    }
}
