package dev.sparsa.perf;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

/** The benchmark's summary statistics and the bandwidth fill-in of a row. */
class StatsTest {

    @Test
    void medianAndRangeOfOddEvenAndEmptySamples() {
        assertThat(Stats.of(new double[] {3, 1, 2})).isEqualTo(new Stats(2, 1, 3, 3));
        assertThat(Stats.of(new double[] {4, 1, 3, 2})).isEqualTo(new Stats(2.5, 1, 4, 4));
        Stats none = Stats.of(new double[0]);
        assertThat(none.n()).isZero();
        assertThat(none.median()).isNaN();
        assertThat(Stats.of(new double[] {10, 12.5}).toString()).isEqualTo("11.25 [10.00–12.50]");
    }

    @Test
    void bandwidthFractionComesFromTheDecodeMedianAndTheBytesPerToken() {
        BenchRow r = new BenchRow("sparsa", "m", "BF16", "dense", 2, 8, 16, Stats.of(new double[] {100}),
                Stats.of(new double[] {40, 50, 60}), 2e8, null, null, null, null, null, "m");
        BenchRow b = r.withBandwidth(20);
        assertThat(b.gbPerSecond()).isCloseTo(10.0, offset(1e-12));       // 2e8 B × 50 tok/s
        assertThat(b.fractionOfBandwidth()).isCloseTo(0.5, offset(1e-12));
        BenchRow noBytes = new BenchRow("llama.cpp", "m", "Q8_0", "dense", 2, 8, 16, null, null, null, null, null,
                null, null, null, null);
        assertThat(noBytes.withBandwidth(20)).isSameAs(noBytes);
    }
}
