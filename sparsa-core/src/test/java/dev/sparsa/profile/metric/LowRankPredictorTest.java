package dev.sparsa.profile.metric;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class LowRankPredictorTest {

    @Test
    void backwardMatchesFiniteDifferences() {
        int d = 5;
        int r = 3;
        int f = 4;
        int n = 6;
        Random rnd = new Random(2);
        float[] x = new float[n * d];
        boolean[] y = new boolean[n * f];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        for (int i = 0; i < y.length; i++) {
            y[i] = rnd.nextBoolean();
        }
        LowRankPredictor p = new LowRankPredictor(d, r, f, 9);
        p.fitStatistics(x, y, n);
        for (int i = 0; i < p.b.length; i++) {
            p.b[i] = rnd.nextGaussian(); // make every path matter
        }
        double[] gA = new double[d * r];
        double[] gB = new double[r * f];
        double[] gBias = new double[f];
        double loss = p.gradient(x, y, 0, n, gA, gB, gBias);
        assertThat(loss).isCloseTo(p.loss(x, y, 0, n), within(1e-12));
        check(p, p.a, gA, x, y, n);
        check(p, p.b, gB, x, y, n);
        check(p, p.bias, gBias, x, y, n);
    }

    private static void check(LowRankPredictor p, double[] param, double[] grad, float[] x, boolean[] y, int n) {
        double h = 1e-6;
        for (int i = 0; i < param.length; i++) {
            double keep = param[i];
            param[i] = keep + h;
            double up = p.loss(x, y, 0, n);
            param[i] = keep - h;
            double dn = p.loss(x, y, 0, n);
            param[i] = keep;
            assertThat(grad[i]).as("param %d", i).isCloseTo((up - dn) / (2 * h), within(1e-7));
        }
    }

    @Test
    void learnsALowRankRuleAndGeneralizes() {
        // Neuron i is active iff u_i·x > 0 for u_i in a 2-D subspace: learnable at rank 4.
        int d = 16;
        int f = 24;
        int n = 1200;
        Random rnd = new Random(4);
        double[][] basis = new double[2][d];
        for (double[] b : basis) {
            for (int j = 0; j < d; j++) {
                b[j] = rnd.nextGaussian();
            }
        }
        double[][] u = new double[f][2];
        for (double[] ui : u) {
            ui[0] = rnd.nextGaussian();
            ui[1] = rnd.nextGaussian();
        }
        float[] x = new float[n * d];
        boolean[] y = new boolean[n * f];
        for (int t = 0; t < n; t++) {
            double[] c = new double[2];
            for (int j = 0; j < d; j++) {
                x[t * d + j] = (float) rnd.nextGaussian();
                c[0] += basis[0][j] * x[t * d + j];
                c[1] += basis[1][j] * x[t * d + j];
            }
            for (int i = 0; i < f; i++) {
                y[t * f + i] = u[i][0] * c[0] + u[i][1] * c[1] > 0;
            }
        }
        PredictorSamples s = new PredictorSamples(n / 2);
        s.accept(new LayerWindow(0, n / 2, f, d, java.util.Arrays.copyOf(x, n / 2 * d), new float[n / 2 * f],
                new float[n / 2 * f], java.util.Arrays.copyOf(y, n / 2 * f), 0));
        s.accept(new LayerWindow(0, n / 2, f, d, java.util.Arrays.copyOfRange(x, n / 2 * d, n * d),
                new float[n / 2 * f], new float[n / 2 * f], java.util.Arrays.copyOfRange(y, n / 2 * f, n * f), 1));
        PredictorSamples.Trained tr = s.train(4, 30, 5);
        PredictorSamples.Result r = tr.result();
        assertThat(r.trainTokens()).isEqualTo(n / 2);
        assertThat(r.evalTokens()).isEqualTo(n / 2);
        assertThat(r.evalLoss()).isLessThan(0.35); // chance is ln 2 = 0.69
        assertThat(r.recall()).isGreaterThan(0.85);
        assertThat(r.precision()).isGreaterThan(0.85);
    }
}
