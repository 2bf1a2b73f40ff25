package dev.sparsa.profile.metric;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Hand-built activations with known answers for the small per-layer metrics. */
class SmallMetricsTest {

    private static LayerWindow window(int t, int f, float[] h, boolean[] active) {
        return new LayerWindow(0, t, f, 1, new float[t], h, h, active, 0);
    }

    @Test
    void inverseNormalMatchesKnownQuantiles() {
        assertThat(InverseNormal.of(0.5)).isCloseTo(0, within(1e-15));
        assertThat(InverseNormal.of(0.975)).isCloseTo(1.959963984540054, within(1e-12));
        assertThat(InverseNormal.of(0.9)).isCloseTo(1.2815515655446004, within(1e-12));
        assertThat(InverseNormal.of(0.95)).isCloseTo(1.6448536269514722, within(1e-12));
        assertThat(InverseNormal.of(1e-6)).isCloseTo(-4.753424308822899, within(1e-10));
        assertThat(InverseNormal.of(0.01)).isCloseTo(-2.3263478740408408, within(1e-12));
        for (double p = 0.001; p < 1; p += 0.0137) {
            assertThat(InverseNormal.of(p)).isCloseTo(-InverseNormal.of(1 - p), within(1e-9));
            assertThat(InverseNormal.cdf(InverseNormal.of(p))).isCloseTo(p, within(1e-13));
        }
        assertThat(InverseNormal.of(0)).isEqualTo(Double.NEGATIVE_INFINITY);
        assertThat(InverseNormal.of(1.5)).isNaN();
    }

    @Test
    void cdfMatchesKnownValues() {
        assertThat(InverseNormal.cdf(0)).isEqualTo(0.5);
        assertThat(InverseNormal.cdf(1)).isCloseTo(0.8413447460685429, within(1e-15));
        assertThat(InverseNormal.cdf(-3)).isCloseTo(0.0013498980316300933, within(1e-17));
        assertThat(InverseNormal.cdf(5)).isCloseTo(0.9999997133484281, within(1e-15));
    }

    @Test
    void statisticalTopKOnHandBuiltAndGaussianVectors() {
        // h = (−1, 1): mean 0, std 1, k = 1 of 2 → θ = Φ⁻¹(0.5) = 0; selects {1}, the exact top-1.
        assertThat(StatTopK.threshold(new float[]{-1, 1}, 0, 2, 1)).isCloseTo(0, within(1e-12));
        // h = (0, 0, 0, 4): mean 1, std √3, k = 1 of 4 → θ = 1 + √3·Φ⁻¹(0.75).
        assertThat(StatTopK.threshold(new float[]{0, 0, 0, 4}, 0, 4, 1))
                .isCloseTo(1 + Math.sqrt(3) * 0.6744897501960817, within(1e-9));
        int f = 20000;
        float[] h = new float[f];
        Random r = new Random(1);
        for (int i = 0; i < f; i++) {
            h[i] = (float) (2 + 3 * r.nextGaussian());
        }
        StatTopK m = new StatTopK();
        m.accept(window(1, f, h, new boolean[f]));
        for (StatTopK.Result res : m.result()) {
            assertThat(res.agreement().mean()).isGreaterThan(0.95);
            assertThat(res.sizeRatio().mean()).isCloseTo(1, within(0.05));
        }
        // A one-hot vector is not Gaussian: θ lands below the spike and far above 0, so only the spike passes.
        float[] spike = new float[100];
        spike[7] = 10;
        StatTopK s = new StatTopK();
        s.accept(window(1, 100, spike, new boolean[100]));
        StatTopK.Result r5 = s.result().getFirst(); // k = 5
        assertThat(r5.k()).isEqualTo(5);
        assertThat(r5.agreement().mean()).isEqualTo(1.0 / 5);
        assertThat(r5.sizeRatio().mean()).isEqualTo(1.0 / 5);
    }

    @Test
    void pqIndexClosedForms() {
        int d = 64;
        float[] oneHot = new float[d];
        oneHot[5] = -3;
        assertThat(PqIndex.of(oneHot, 0, d, 0.5, 1)).isCloseTo(1 - 1.0 / d, within(1e-12));
        float[] constant = new float[d];
        java.util.Arrays.fill(constant, 2.5f);
        assertThat(PqIndex.of(constant, 0, d, 0.5, 1)).isCloseTo(0, within(1e-12));
        // Two equal non-zeros of four: ‖w‖_½ = (2√a)² = 4a, ‖w‖₁ = 2a → 1 − 4^{−1}·2 = 0.5.
        assertThat(PqIndex.of(new float[]{0, 1, 0, 1}, 0, 4, 0.5, 1)).isCloseTo(0.5, within(1e-12));
        assertThat(PqIndex.of(new float[4], 0, 4, 0.5, 1)).isNaN();
        // General p, q on the one-hot: 1 − d^{1/q − 1/p}.
        assertThat(PqIndex.of(oneHot, 0, d, 1, 2)).isCloseTo(1 - Math.pow(d, -0.5), within(1e-12));
        PqIndex m = new PqIndex();
        m.accept(window(2, 4, new float[]{0, 1, 0, 1, 0, 0, 0, 0}, new boolean[8]));
        assertThat(m.result().mean()).isCloseTo(0.5, within(1e-12));
        assertThat(m.result().skipped()).isEqualTo(1);
    }

    @Test
    void zeroSparsityCountsExactZeros() {
        ZeroSparsity z = new ZeroSparsity();
        z.accept(window(2, 4, new float[]{0, 1, 0, -0f, 1e-30f, 2, 3, 4}, new boolean[8]));
        Dist r = z.result();
        assertThat(r.count()).isEqualTo(2);
        assertThat(r.mean()).isEqualTo((0.75 + 0.0) / 2);
        assertThat(r.max()).isEqualTo(0.75);
    }

    private static final boolean[] MASKS = {
            true, true, false, false,
            true, false, true, false,
            true, true, false, false};

    @Test
    void deadNeuronsAndNeverActive() {
        DeadNeurons m = new DeadNeurons();
        m.accept(window(3, 4, new float[12], MASKS));
        DeadNeurons.Result r = m.result();
        assertThat(r.rate().mean()).isEqualTo(0.5);
        assertThat(r.neverActive()).isEqualTo(1);
        assertThat(r.neverActiveFraction()).isEqualTo(0.25);
    }

    @Test
    void affinityReuseAndCoverage() {
        Affinity a = new Affinity();
        a.accept(window(3, 4, new float[12], MASKS));
        Affinity.Result r = a.result();
        assertThat(r.density()).isEqualTo(0.5);
        assertThat(r.reuse().get(0).reuse()).isEqualTo(0.5);  // t1: {0} of {0,2}; t2: {0} of {0,1}
        assertThat(r.reuse().get(0).pairs()).isEqualTo(2);
        assertThat(r.reuse().get(1).reuse()).isEqualTo(1.0);  // lag 2: t2 vs t0 identical
        assertThat(r.reuse().get(2).pairs()).isZero();        // lag 4 does not fit in 3 tokens
        // counts (3, 2, 1, 0): the hottest neuron covers 3 of 6 events, the two hottest 5 of 6.
        assertThat(Affinity.coverage(new long[]{3, 2, 1, 0}, 0.25)).isEqualTo(0.5);
        assertThat(Affinity.coverage(new long[]{3, 2, 1, 0}, 0.5)).isEqualTo(5.0 / 6);
        assertThat(Affinity.coverage(new long[]{3, 2, 1, 0}, 1.0)).isEqualTo(1.0);
    }

    @Test
    void dormantRatio() {
        // Σ|h| per neuron (0, 1, 2, 3) → s = (0, 2/3, 4/3, 2).
        double[] s = Dormant.scores(new double[]{0, 1, 2, 3});
        assertThat(s[1]).isCloseTo(2.0 / 3, within(1e-12));
        Dormant m = new Dormant();
        m.accept(window(2, 4, new float[]{0, 1, -1, 0.01f, 0, 0, 3, 0.01f}, new boolean[8]));
        // sums (0, 1, 4, 0.02), mean 1.255: s = (0, 0.797, 3.19, 0.0159)
        List<Dormant.Result> r = m.result();
        assertThat(r.get(0).dormant()).isEqualTo(1);   // τ = 0
        assertThat(r.get(1).dormant()).isEqualTo(2);   // τ = 0.025
        assertThat(r.get(2).ratio()).isEqualTo(0.5);   // τ = 0.1
    }

    @Test
    void distQuantilesAndHistogram() {
        Dist.Acc a = new Dist.Acc(0, 1, 4);
        for (double v : new double[]{0.1, 0.2, 0.3, 0.9, Double.NaN, 1.0}) {
            a.add(v);
        }
        Dist d = a.build();
        assertThat(d.count()).isEqualTo(5);
        assertThat(d.skipped()).isEqualTo(1);
        assertThat(d.mean()).isCloseTo(0.5, within(1e-12));
        assertThat(d.quantiles()[2]).isCloseTo(0.3, within(1e-12));   // median
        assertThat(d.quantiles()[1]).isCloseTo(0.2, within(1e-12));   // numpy linear: pos 1.0
        assertThat(d.quantiles()[4]).isCloseTo(0.98, within(1e-12));  // pos 3.8 → 0.9 + 0.8·0.1
        assertThat(d.histogram().counts()).containsExactly(2, 1, 0, 2);
    }
}
