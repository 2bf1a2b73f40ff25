package dev.sparsa.profile.metric;

import java.util.Random;

/**
 * Activation predictor of one layer (Deja Vu style; docs/ARCHITECTURE.md §6 "predictivity"): from the FFN input x predict which
 * neurons are active. A rank-r two-layer linear map on standardized x, logits = ((x − μ)/σ)·A·B + b, trained with
 * Adam on the mean logistic (binary cross-entropy) loss over all T × F labels. Neuron i is predicted active when its
 * logit &gt; 0. The backward is written out here and checked by finite differences in the tests.
 */
public final class LowRankPredictor {
    private final int d;
    private final int r;
    private final int f;
    final double[] a;   // D × r
    final double[] b;   // r × F
    final double[] bias; // F
    private final double[] mu;
    private final double[] sd;

    public LowRankPredictor(int d, int r, int f, long seed) {
        this.d = d;
        this.r = r;
        this.f = f;
        a = new double[d * r];
        b = new double[r * f];
        bias = new double[f];
        mu = new double[d];
        sd = new double[d];
        java.util.Arrays.fill(sd, 1);
        Random rnd = new Random(seed);
        for (int i = 0; i < a.length; i++) {
            a[i] = rnd.nextGaussian() / Math.sqrt(d);
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = rnd.nextGaussian() / Math.sqrt(r) * 0.1;
        }
    }

    public int rank() {
        return r;
    }

    /** Sets the standardization (μ, σ per input feature) and the bias to the log-odds of each neuron's rate. */
    public void fitStatistics(float[] x, boolean[] y, int n) {
        for (int j = 0; j < d; j++) {
            double s = 0;
            double ss = 0;
            for (int t = 0; t < n; t++) {
                double v = x[t * d + j];
                s += v;
                ss += v * v;
            }
            mu[j] = s / n;
            double var = ss / n - mu[j] * mu[j];
            sd[j] = var > 1e-12 ? Math.sqrt(var) : 1;
        }
        for (int i = 0; i < f; i++) {
            int on = 0;
            for (int t = 0; t < n; t++) {
                if (y[t * f + i]) {
                    on++;
                }
            }
            double p = (on + 0.5) / (n + 1.0);
            bias[i] = Math.log(p / (1 - p));
        }
    }

    /** Logits for one input {@code x[off .. off+D)}; {@code z} (length r) receives the hidden code. */
    public void logits(float[] x, int off, double[] z, double[] out) {
        java.util.Arrays.fill(z, 0);
        for (int j = 0; j < d; j++) {
            double v = (x[off + j] - mu[j]) / sd[j];
            if (v == 0) {
                continue;
            }
            int base = j * r;
            for (int k = 0; k < r; k++) {
                z[k] += v * a[base + k];
            }
        }
        System.arraycopy(bias, 0, out, 0, f);
        for (int k = 0; k < r; k++) {
            double zk = z[k];
            int base = k * f;
            for (int i = 0; i < f; i++) {
                out[i] += zk * b[base + i];
            }
        }
    }

    /** Predicted active set of one input into {@code mask}. */
    public void predict(float[] x, int off, boolean[] mask) {
        double[] z = new double[r];
        double[] l = new double[f];
        logits(x, off, z, l);
        for (int i = 0; i < f; i++) {
            mask[i] = l[i] > 0;
        }
    }

    /** Mean binary cross-entropy over tokens [from, to) × F. */
    public double loss(float[] x, boolean[] y, int from, int to) {
        double[] z = new double[r];
        double[] l = new double[f];
        double s = 0;
        for (int t = from; t < to; t++) {
            logits(x, t * d, z, l);
            for (int i = 0; i < f; i++) {
                s += bce(l[i], y[t * f + i]);
            }
        }
        return s / ((double) (to - from) * f);
    }

    static double bce(double logit, boolean y) {
        // −log σ(l) for y, −log(1 − σ(l)) otherwise, computed stably.
        double z = y ? -logit : logit;
        return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    }

    /**
     * Gradient of {@link #loss} over tokens [from, to) into gA, gB, gBias (same layouts as the parameters).
     * Returns the loss.
     */
    public double gradient(float[] x, boolean[] y, int from, int to, double[] gA, double[] gB, double[] gBias) {
        java.util.Arrays.fill(gA, 0);
        java.util.Arrays.fill(gB, 0);
        java.util.Arrays.fill(gBias, 0);
        double[] z = new double[r];
        double[] l = new double[f];
        double[] gz = new double[r];
        double[] xs = new double[d];
        double norm = 1.0 / ((double) (to - from) * f);
        double loss = 0;
        for (int t = from; t < to; t++) {
            logits(x, t * d, z, l);
            java.util.Arrays.fill(gz, 0);
            for (int i = 0; i < f; i++) {
                boolean yi = y[t * f + i];
                loss += bce(l[i], yi);
                double g = (sigmoid(l[i]) - (yi ? 1 : 0)) * norm;
                l[i] = g;
                gBias[i] += g;
            }
            for (int k = 0; k < r; k++) {
                int base = k * f;
                double zk = z[k];
                double acc = 0;
                for (int i = 0; i < f; i++) {
                    gB[base + i] += zk * l[i];
                    acc += b[base + i] * l[i];
                }
                gz[k] = acc;
            }
            for (int j = 0; j < d; j++) {
                xs[j] = (x[t * d + j] - mu[j]) / sd[j];
                int base = j * r;
                for (int k = 0; k < r; k++) {
                    gA[base + k] += xs[j] * gz[k];
                }
            }
        }
        return loss * norm;
    }

    static double sigmoid(double v) {
        return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
    }

    /** Adam over mini-batches in a fixed seeded order; returns the final epoch's mean training loss. */
    public double train(float[] x, boolean[] y, int n, int epochs, int batch, double lr, long seed) {
        double[] gA = new double[a.length];
        double[] gB = new double[b.length];
        double[] gBias = new double[bias.length];
        Adam adA = new Adam(a.length);
        Adam adB = new Adam(b.length);
        Adam adBias = new Adam(bias.length);
        int[] order = new int[(n + batch - 1) / batch];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Random rnd = new Random(seed);
        double last = Double.NaN;
        for (int e = 0; e < epochs; e++) {
            for (int i = order.length - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int tmp = order[i];
                order[i] = order[j];
                order[j] = tmp;
            }
            double sum = 0;
            for (int o : order) {
                int from = o * batch;
                int to = Math.min(n, from + batch);
                sum += gradient(x, y, from, to, gA, gB, gBias) * (to - from);
                adA.step(a, gA, lr);
                adB.step(b, gB, lr);
                adBias.step(bias, gBias, lr);
            }
            last = sum / n;
        }
        return last;
    }

    private static final class Adam {
        private final double[] m;
        private final double[] v;
        private int t;

        Adam(int n) {
            m = new double[n];
            v = new double[n];
        }

        void step(double[] p, double[] g, double lr) {
            t++;
            double b1 = 0.9;
            double b2 = 0.999;
            double c1 = 1 - Math.pow(b1, t);
            double c2 = 1 - Math.pow(b2, t);
            for (int i = 0; i < p.length; i++) {
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                p[i] -= lr * (m[i] / c1) / (Math.sqrt(v[i] / c2) + 1e-8);
            }
        }
    }
}
