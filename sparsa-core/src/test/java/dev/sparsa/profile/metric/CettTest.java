package dev.sparsa.profile.metric;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class CettTest {

    private static Cett.Scan scan(float[] h, float[] down, int d) {
        int f = h.length;
        float[] norms = LayerContext.columnNorms(down, f, d);
        float[] m = new float[f];
        Cett.magnitudes(h, 0, norms, m, 0, f);
        return Cett.scan(h, 0, m, 0, down, f, d);
    }

    @Test
    void orthonormalColumnsGiveHandComputedCett() {
        // d_i = e_i, h = (3, 4, 0.5): y = (3, 4, 0.5), ‖y‖ = √25.25; m = (3, 4, 0.5).
        float[] down = {1, 0, 0, 0, 1, 0, 0, 0, 1};
        Cett.Scan s = scan(new float[]{3, 4, 0.5f}, down, 3);
        assertThat(s.sortedM()).containsExactly(0.5f, 3f, 4f);
        double ny = Math.sqrt(25.25);
        assertThat(s.cett()[0]).isEqualTo(0f);
        assertThat((double) s.cett()[1]).isCloseTo(0.5 / ny, within(1e-6));
        assertThat((double) s.cett()[2]).isCloseTo(Math.sqrt(9.25) / ny, within(1e-6));
        assertThat(s.cett()[3]).isEqualTo(1f);
        assertThat(s.sparsity(0.05)).isEqualTo(0.0);
        assertThat(s.sparsity(0.1)).isEqualTo(1.0 / 3);   // 0.0995 ≤ 0.1
        assertThat(s.sparsity(0.6)).isEqualTo(1.0 / 3);   // 0.6053 > 0.6
        assertThat(s.sparsity(0.7)).isEqualTo(2.0 / 3);
        assertThat(s.cettAt(3.0)).isCloseTo(0.5 / ny, within(1e-6)); // m < 3 removes only 0.5
        assertThat(s.cettAt(3.0001)).isCloseTo(Math.sqrt(9.25) / ny, within(1e-6));
    }

    @Test
    void searchIsExhaustiveWhereCettIsNotMonotone() {
        // D = 1, d = (1, −1, 1), h = (1, 1.5, 2): terms 1, −1.5, 2, y = 1.5.
        // Removing the smallest 1, 2 terms leaves residuals 1 and −0.5: CETT 2/3 then 1/3.
        Cett.Scan s = scan(new float[]{1, 1.5f, 2}, new float[]{1, -1, 1}, 1);
        assertThat((double) s.cett()[1]).isCloseTo(2.0 / 3, within(1e-6));
        assertThat((double) s.cett()[2]).isCloseTo(1.0 / 3, within(1e-6));
        assertThat(s.sparsity(0.4)).isEqualTo(2.0 / 3);
        assertThat(s.sparsity(0.3)).isEqualTo(0.0);
    }

    @Test
    void tiedMagnitudesCannotBeSplit() {
        Cett.Scan s = scan(new float[]{1, 1, 1}, new float[]{1, 0, 0, 0, 1, 0, 0, 0, 1}, 3);
        assertThat(s.reachable(1)).isFalse();
        assertThat(s.reachable(2)).isFalse();
        assertThat(s.sparsity(0.9)).isEqualTo(0.0); // CETT after 2 would be 0.816 but no ε removes exactly 2
    }

    @Test
    void exactZerosCostNothingAndAZeroOutputIsFullySparse() {
        Cett.Scan s = scan(new float[]{0, 2, 0, 1}, new float[]{1, 1, 1, 1}, 1);
        assertThat(s.sparsity(0)).isEqualTo(0.5); // the two zeros go at CETT 0
        Cett.Scan cancel = scan(new float[]{1, 1}, new float[]{1, -1}, 1); // y = 0
        assertThat(cancel.sparsity(0.1)).isEqualTo(1.0);
    }

    @Test
    void scanMatchesBruteForceOnRandomData() {
        Random r = new Random(3);
        int f = 40;
        int d = 7;
        float[] down = new float[f * d];
        for (int i = 0; i < down.length; i++) {
            down[i] = (float) r.nextGaussian();
        }
        for (int trial = 0; trial < 20; trial++) {
            float[] h = new float[f];
            for (int i = 0; i < f; i++) {
                h[i] = r.nextDouble() < 0.3 ? 0 : (float) r.nextGaussian();
            }
            Cett.Scan s = scan(h, down, d);
            float[] norms = LayerContext.columnNorms(down, f, d);
            double[] y = new double[d];
            for (int i = 0; i < f; i++) {
                for (int j = 0; j < d; j++) {
                    y[j] += h[i] * down[i * d + j];
                }
            }
            for (int k = 1; k < f; k++) {
                if (!s.reachable(k)) {
                    continue;
                }
                double eps = s.sortedM()[k];
                double[] res = new double[d];
                int removed = 0;
                for (int i = 0; i < f; i++) {
                    if (Math.abs(h[i]) * norms[i] < eps) {
                        removed++;
                        for (int j = 0; j < d; j++) {
                            res[j] += h[i] * down[i * d + j];
                        }
                    }
                }
                assertThat(removed).isEqualTo(k);
                assertThat((double) s.cett()[k]).isCloseTo(norm(res) / norm(y), within(1e-5));
            }
        }
    }

    private static double norm(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x * x;
        }
        return Math.sqrt(s);
    }

    @Test
    void calibrationFindsTheLargestThresholdWithinTheTarget() {
        float[] down = {1, 0, 0, 0, 1, 0, 0, 0, 1};
        Cett.Scan a = scan(new float[]{3, 4, 0.5f}, down, 3);
        double eps = Cett.calibrate(List.of(a), 0.1);
        assertThat(eps).isGreaterThan(0.5).isLessThanOrEqualTo(3.0);
        assertThat(Cett.meanCett(List.of(a), eps)).isLessThanOrEqualTo(0.1);
        assertThat(Cett.meanCett(List.of(a), Math.nextUp(eps) * 1.000001)).isGreaterThan(0.1);
        // Two tokens: means of two step functions.
        Cett.Scan b = scan(new float[]{1, 1, 10}, down, 3);
        double e2 = Cett.calibrate(List.of(a, b), 0.2);
        assertThat(Cett.meanCett(List.of(a, b), e2)).isLessThanOrEqualTo(0.2);
        assertThat(Cett.meanCett(List.of(a, b), e2 * 1.0001)).isGreaterThan(0.2);
        assertThat(Cett.calibrate(List.of(a), 0)).isLessThanOrEqualTo(0.5);
    }

    @Test
    void calibrationIsExhaustiveWhereTheMeanIsNotMonotone() {
        // CETT after removing 0, 1, 2, 3 terms: 0, 2/3, 1/3, 1 at m = 1, 1.5, 2. The largest ε with CETT ≤ 0.4 is
        // 2 (removes m = 1 and 1.5); a bisection on ε would stop at 1.
        Cett.Scan s = scan(new float[]{1, 1.5f, 2}, new float[]{1, -1, 1}, 1);
        Cett.MeanCurve curve = Cett.meanCurve(List.of(s));
        assertThat(curve.values()).containsExactly(1f, 1.5f, 2f);
        assertThat(curve.mean()[1]).isCloseTo(2.0 / 3, within(1e-6));
        assertThat(curve.all()).isCloseTo(1.0, within(1e-6));
        assertThat(Cett.calibrate(List.of(s), 0.4)).isEqualTo(2.0);
        assertThat(Cett.calibrate(List.of(s), 0.7)).isEqualTo(2.0);
        assertThat(Cett.calibrate(List.of(s), 0.2)).isEqualTo(1.0);
        assertThat(Cett.calibrate(List.of(s), 0.99999)).isEqualTo(2.0);
    }

    @Test
    void metricReportsTargetsCalibrationAndAMonotoneCurve() {
        float[] down = {1, 0, 0, 0, 1, 0, 0, 0, 1};
        float[] norms = {1, 1, 1};
        LayerContext ctx = new LayerContext(0, 3, 3, Cett.toDouble(down), norms, new double[]{0.1}, new double[]{3.5}, false, 0);
        CettMetric m = new CettMetric(ctx);
        m.acceptScan(scan(new float[]{3, 4, 0.5f}, down, 3));
        CettMetric.Result r = m.result();
        assertThat(r.targets().getFirst().perToken().mean()).isEqualTo(1.0 / 3);
        assertThat(r.targets().getFirst().calibrated().mean()).isEqualTo(2.0 / 3); // m < 3.5: 0.5 and 3
        assertThat(r.targets().getFirst().calibratedCett().mean())
                .isCloseTo(Math.sqrt(9.25) / Math.sqrt(25.25), within(1e-6));
        double prev = -1;
        for (CettMetric.CurvePoint p : r.curve()) {
            assertThat(p.sparsity()).isGreaterThanOrEqualTo(prev);
            prev = p.sparsity();
        }
        assertThat(r.curve().getFirst().sparsity()).isEqualTo(0.0);
    }
}
