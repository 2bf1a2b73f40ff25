package dev.sparsa.profile;

import dev.sparsa.model.ActivationTap;
import dev.sparsa.profile.metric.LowRankPredictor;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLongArray;

/** The taps the profiler puts on a model. */
final class Taps {
    private Taps() {
    }

    /** Copies x and h of every layer and position of one window. Each (layer, position) slot is its own. */
    static final class Capture implements ActivationTap {
        final int layers;
        final int d;
        final int f;
        float[][] x;
        float[][] h;
        final int[] positions;

        Capture(int layers, int d, int f, int capacity) {
            this.layers = layers;
            this.d = d;
            this.f = f;
            x = new float[layers][capacity * d];
            h = new float[layers][capacity * f];
            positions = new int[layers];
        }

        void reset() {
            Arrays.fill(positions, 0);
        }

        @Override
        public synchronized void onFfn(int layer, int position, float[] xin, int xOff, float[] gate, float[] act,
                                       float[] hin, int off) {
            if ((position + 1) * f > h[layer].length) {
                int cap = Math.max(position + 1, h[layer].length / f * 2);
                for (int l = 0; l < layers; l++) {
                    x[l] = Arrays.copyOf(x[l], cap * d);
                    h[l] = Arrays.copyOf(h[l], cap * f);
                }
            }
            System.arraycopy(xin, xOff, x[layer], position * d, d);
            System.arraycopy(hin, off, h[layer], position * f, f);
            positions[layer] = Math.max(positions[layer], position + 1);
        }
    }

    /** Zeroes h_i where m_i = |h_i|·‖d_i‖ &lt; ε_ℓ, counting what it zeroes per layer. */
    static final class Threshold implements ActivationTap {
        private final double[] eps;
        private final float[][] norms;
        final AtomicLongArray zeroed;
        final AtomicLongArray total;

        Threshold(double[] eps, float[][] norms) {
            this.eps = eps;
            this.norms = norms;
            zeroed = new AtomicLongArray(eps.length);
            total = new AtomicLongArray(eps.length);
        }

        @Override
        public void onFfn(int layer, int position, float[] x, int xOff, float[] gate, float[] act, float[] h,
                          int off) {
            float[] n = norms[layer];
            double e = eps[layer];
            int z = 0;
            for (int i = 0; i < n.length; i++) {
                if (Math.abs(h[off + i]) * n[i] < e) {
                    h[off + i] = 0f;
                    z++;
                }
            }
            zeroed.addAndGet(layer, z);
            total.addAndGet(layer, n.length);
        }

        double sparsity() {
            return ratio(zeroed, total);
        }
    }

    /** Computes only the neurons each layer's predictor selects: h_i = 0 elsewhere. */
    static final class Predicted implements ActivationTap {
        private final LowRankPredictor[] predictors;
        private final int f;
        final AtomicLongArray kept;
        final AtomicLongArray total;

        Predicted(LowRankPredictor[] predictors, int f) {
            this.predictors = predictors;
            this.f = f;
            kept = new AtomicLongArray(predictors.length);
            total = new AtomicLongArray(predictors.length);
        }

        @Override
        public void onFfn(int layer, int position, float[] x, int xOff, float[] gate, float[] act, float[] h,
                          int off) {
            LowRankPredictor p = predictors[layer];
            if (p == null) {
                kept.addAndGet(layer, f);
                total.addAndGet(layer, f);
                return;
            }
            boolean[] mask = new boolean[f];
            p.predict(x, xOff, mask);
            int k = 0;
            for (int i = 0; i < f; i++) {
                if (mask[i]) {
                    k++;
                } else {
                    h[off + i] = 0f;
                }
            }
            kept.addAndGet(layer, k);
            total.addAndGet(layer, f);
        }

        double computedFraction() {
            return ratio(kept, total);
        }
    }

    /** Σ_ℓ part[ℓ] / Σ_ℓ whole[ℓ] over the layers; NaN when nothing was counted. */
    private static double ratio(AtomicLongArray part, AtomicLongArray whole) {
        long p = 0;
        long w = 0;
        for (int l = 0; l < whole.length(); l++) {
            p += part.get(l);
            w += whole.get(l);
        }
        return w == 0 ? Double.NaN : (double) p / w;
    }
}
