package dev.sparsa.profile.metric;

import java.util.Arrays;

/**
 * Collects (x, active set) pairs of one layer for the predictivity metric: tokens of even windows go to the training
 * half, tokens of odd windows to the evaluation half, each up to {@code capacity} tokens.
 */
public final class PredictorSamples implements LayerMetric<PredictorSamples> {
    private final int capacity;
    private int d;
    private int f;
    float[] trainX = new float[0];
    boolean[] trainY = new boolean[0];
    int trainN;
    float[] evalX = new float[0];
    boolean[] evalY = new boolean[0];
    int evalN;

    public PredictorSamples(int capacity) {
        this.capacity = capacity;
    }

    @Override
    public void accept(LayerWindow w) {
        d = w.d();
        f = w.f();
        boolean train = w.window() % 2 == 0;
        for (int t = 0; t < w.tokens(); t++) {
            if (train && trainN < capacity) {
                trainX = grow(trainX, (trainN + 1) * d);
                trainY = grow(trainY, (trainN + 1) * f);
                System.arraycopy(w.x(), t * d, trainX, trainN * d, d);
                System.arraycopy(w.active(), t * f, trainY, trainN * f, f);
                trainN++;
            } else if (!train && evalN < capacity) {
                evalX = grow(evalX, (evalN + 1) * d);
                evalY = grow(evalY, (evalN + 1) * f);
                System.arraycopy(w.x(), t * d, evalX, evalN * d, d);
                System.arraycopy(w.active(), t * f, evalY, evalN * f, f);
                evalN++;
            }
        }
    }

    private static float[] grow(float[] a, int need) {
        return need <= a.length ? a : Arrays.copyOf(a, Math.max(need, a.length * 2));
    }

    private static boolean[] grow(boolean[] a, int need) {
        return need <= a.length ? a : Arrays.copyOf(a, Math.max(need, a.length * 2));
    }

    /** The samples themselves (train with {@link #train}). */
    @Override
    public PredictorSamples result() {
        return this;
    }

    public int trainTokens() {
        return trainN;
    }

    public int evalTokens() {
        return evalN;
    }

    /**
     * Per-layer predictor quality.
     *
     * @param rank             r
     * @param trainTokens      training half
     * @param evalTokens       held-out half
     * @param trainLoss        final-epoch BCE on the training half
     * @param evalLoss         BCE on the held-out half
     * @param recall           TP / (TP + FN) on the held-out half
     * @param precision        TP / (TP + FP)
     * @param actualDensity    fraction of active neurons (held-out)
     * @param predictedDensity fraction predicted active (held-out): the share of neurons a predicted FFN computes
     */
    public record Result(int rank, int trainTokens, int evalTokens, double trainLoss, double evalLoss, double recall,
                         double precision, double actualDensity, double predictedDensity) {
    }

    /** Trains a predictor on the training half and evaluates it on the other. */
    public Trained train(int rank, int epochs, long seed) {
        if (trainN == 0 || evalN == 0) {
            return null;
        }
        LowRankPredictor p = new LowRankPredictor(d, rank, f, seed);
        p.fitStatistics(trainX, trainY, trainN);
        double trainLoss = p.train(trainX, trainY, trainN, epochs, 32, 3e-3, seed + 1);
        double evalLoss = p.loss(evalX, evalY, 0, evalN);
        long tp = 0;
        long fp = 0;
        long fn = 0;
        long pos = 0;
        long pred = 0;
        boolean[] mask = new boolean[f];
        for (int t = 0; t < evalN; t++) {
            p.predict(evalX, t * d, mask);
            for (int i = 0; i < f; i++) {
                boolean y = evalY[t * f + i];
                if (y) {
                    pos++;
                }
                if (mask[i]) {
                    pred++;
                }
                if (y && mask[i]) {
                    tp++;
                } else if (mask[i]) {
                    fp++;
                } else if (y) {
                    fn++;
                }
            }
        }
        double total = (double) evalN * f;
        return new Trained(p, new Result(rank, trainN, evalN, trainLoss, evalLoss,
                tp + fn == 0 ? Double.NaN : (double) tp / (tp + fn),
                tp + fp == 0 ? Double.NaN : (double) tp / (tp + fp), pos / total, pred / total));
    }

    public record Trained(LowRankPredictor predictor, Result result) {
    }
}
