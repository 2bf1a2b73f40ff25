package dev.sparsa.calibrate;

import dev.sparsa.infer.Predictor;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The predictor's weighted-BCE backward against central finite differences of the loss computed independently in
 * double precision, and training on labels a predictor can learn: recall at the chosen τ meets the target on
 * held-out rows.
 */
class PredictorTrainerTest {
    static final int D = 6;
    static final int R = 4;
    static final int F = 5;

    /** Rows of x and labels y = [W x > 0] for a hidden W: learnable by both predictor forms. */
    static PredictorData.Layer data(int n, long seed) {
        Random rnd = new Random(seed);
        float[] wTrue = new float[F * D];
        for (int i = 0; i < wTrue.length; i++) {
            wTrue[i] = (float) rnd.nextGaussian();
        }
        float[] x = new float[n * D];
        long[] bits = new long[(n * F + 63) / 64];
        for (int t = 0; t < n; t++) {
            for (int j = 0; j < D; j++) {
                x[t * D + j] = (float) rnd.nextGaussian();
            }
            for (int i = 0; i < F; i++) {
                double s = 0.3;
                for (int j = 0; j < D; j++) {
                    s += wTrue[i * D + j] * x[t * D + j];
                }
                if (s > 0) {
                    long b = (long) t * F + i;
                    bits[(int) (b >>> 6)] |= 1L << (b & 63);
                }
            }
        }
        return new PredictorData.Layer(x, bits, n, F);
    }

    /** The loss of the rows {@code idx}, from scratch in double (Deja Vu's weighted BCE). */
    static double loss(PredictorTrainer.Params p, PredictorData.Layer d, int[] idx) {
        double n = (double) idx.length * F;
        long pos = 0;
        for (int t : idx) {
            for (int i = 0; i < F; i++) {
                pos += d.label(t, i) ? 1 : 0;
            }
        }
        double w = pos / n + 0.005;
        double sum = 0;
        for (int t : idx) {
            double[] z = new double[R];
            for (int k = 0; k < R; k++) {
                double s = p.mlp ? p.b1[k] : 0;
                for (int j = 0; j < D; j++) {
                    s += (double) p.w1[k * D + j] * d.x()[t * D + j];
                }
                z[k] = p.mlp ? Math.max(0, s) : s;
            }
            for (int i = 0; i < F; i++) {
                double s = p.mlp ? p.b2[i] : 0;
                for (int k = 0; k < R; k++) {
                    s += (double) p.w2[i * R + k] * z[k];
                }
                boolean y = d.label(t, i);
                double prob = 1 / (1 + Math.exp(-s));
                sum += -(y ? 1 : w) * (y ? Math.log(prob) : Math.log(1 - prob));
            }
        }
        return sum / n;
    }

    @ParameterizedTest
    @EnumSource(Predictor.Kind.class)
    void gradientMatchesFiniteDifferences(Predictor.Kind kind) {
        boolean mlp = kind == Predictor.Kind.MLP;
        PredictorData.Layer d = data(7, 3);
        int[] idx = {0, 2, 3, 5, 6};
        PredictorTrainer.Params p = new PredictorTrainer.Params(D, R, F, mlp);
        PredictorTrainer.Params g = new PredictorTrainer.Params(D, R, F, mlp);
        p.init(new java.util.SplittableRandom(11));
        for (int i = 0; i < p.b1.length; i++) {
            p.b1[i] += 0.3f;                                               // keep the ReLUs away from their kink
        }
        PredictorTrainer.Work w = new PredictorTrainer.Work(idx.length, p);
        double l;
        try (Parallel par = Parallel.serial()) {
            l = PredictorTrainer.lossAndGradient(p, g, w, d, idx, idx.length, par);
        }
        assertThat(l).isCloseTo(loss(p, d, idx), org.assertj.core.api.Assertions.within(1e-6));
        float[][] ps = p.all();
        float[][] gs = g.all();
        int checked = 0;
        for (int a = 0; a < ps.length; a++) {
            for (int i = 0; i < ps[a].length; i++) {
                float keep = ps[a][i];
                double h = 1e-3;
                ps[a][i] = (float) (keep + h);
                double up = loss(p, d, idx);
                ps[a][i] = (float) (keep - h);
                double down = loss(p, d, idx);
                ps[a][i] = keep;
                double fd = (up - down) / ((float) (keep + h) - (float) (keep - h));
                assertThat((double) gs[a][i]).as("param %d[%d]", a, i).isCloseTo(fd,
                        org.assertj.core.api.Assertions.within(1e-5 + 1e-3 * Math.abs(fd)));
                checked++;
            }
        }
        assertThat(checked).isEqualTo(R * D + F * R + (mlp ? R + F : 0));
    }

    @Test
    void trainedPredictorMeetsItsRecallOnHeldOutRows() {
        PredictorData.Layer d = data(1200, 5);
        PredictorTrainer.Options o = new PredictorTrainer.Options(Predictor.Kind.MLP, 16, 30, 1e-2, 64, 0.01, 1);
        try (Parallel par = new Parallel(2)) {
            PredictorTrainer.Result r = PredictorTrainer.train(d, 1000, o, par);
            PredictorTrainer.Eval e = PredictorTrainer.chooseThreshold(r.predictor(), d, 1000, 1200, 0.95, par);
            assertThat(e.recall()).isGreaterThanOrEqualTo(0.95);
            assertThat(e.precision()).isGreaterThan(0.8);                  // a linear rule is easy to learn
            assertThat(e.candidates()).isLessThan(e.activeShare() * 1.3);
            PredictorTrainer.Result again = PredictorTrainer.train(d, 1000, o, par);
            assertThat(again.loss()).as("same seed, same bits").isEqualTo(r.loss());
        }
    }
}
