package dev.sparsa.experiment;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.NextTokenLoss;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.llama.KvCache;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.profile.metric.Attribution;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.FfnGradients;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Attribution-based sparse activation (Song et al. 2024) against magnitude on a dense decoder: for every validation
 * window, one forward and backward gives each layer's FFN intermediate h and ∂L/∂h ({@link FfnGradients}, L the
 * cross-entropy against the dense model's own greedy predictions); each {@link Attribution.Score} ranks the neurons
 * of every token and layer, the ⌊s·F⌋ lowest are deactivated in all layers at once (one shot, from the dense pass)
 * and the window is run again with those entries of h set to 0 (an {@link ActivationTap}); the next-token loss of
 * the protocol gives bits/byte per score and sparsity.
 */
public final class AttributionExperiment {

    /** The paper's sparsities. */
    public static final double[] SPARSITIES = {0.5, 0.7, 0.8, 0.9};

    private AttributionExperiment() {
    }

    /** A usage error unless every s is in [0, 1). */
    public static void checkSparsities(double[] s) {
        if (s.length == 0) {
            throw new SparsaException.UsageException("--sparsities: give at least one");
        }
        for (double v : s) {
            if (!(v >= 0 && v < 1)) {
                throw new SparsaException.UsageException("--sparsities: a sparsity must be in [0, 1), got " + v);
            }
        }
    }

    /** The sweep over {@code val}; {@code progress} gets a line per few windows. */
    public static AttributionResults.Sweep llama(LlamaWeights w, EvalWindows val, List<Attribution.Score> scores,
                                                 double[] sparsities, Parallel par, Consumer<String> progress) {
        checkSparsities(sparsities);
        long t0 = System.nanoTime();
        int layers = w.config().numLayers();
        int f = w.config().intermediateSize();
        int vocab = w.config().vocabSize();
        LlamaModel model = LlamaModel.of(w, DenseFfn::new);
        KvCache cache = model.newCache(val.contextLength());
        double[] nll = new double[val.contextLength()];
        double denseNats = 0;
        double[][] nats = new double[scores.size()][sparsities.length];
        long bytes = 0;
        float[][] h = new float[layers][];
        float[][] g = new float[layers][];
        try (FfnGradients fg = new FfnGradients(w)) {
            for (int win = 0; win < val.count(); win++) {
                int len = val.length(win);
                if (len < 2) {
                    continue;
                }
                int[] ids = val.ids(win);
                int rows = len - 1;
                fg.run(ids, len, FfnGradients.Labels.GREEDY, par, (l, hh, gg, r, ff) -> {
                    h[l] = Arrays.copyOf(hh, r * ff);
                    g[l] = Arrays.copyOf(gg, r * ff);
                });
                denseNats += windowNats(model, cache, ids, len, ActivationTap.NONE, nll, vocab, par);
                float[] score = new float[rows * f];
                for (int si = 0; si < scores.size(); si++) {
                    boolean[][][] keep = new boolean[sparsities.length][layers][rows * f];
                    for (int l = 0; l < layers; l++) {
                        for (int r = 0; r < rows; r++) {
                            Attribution.scores(scores.get(si), h[l], g[l], r * f, f, score, r * f);
                        }
                        for (int k = 0; k < sparsities.length; k++) {
                            for (int r = 0; r < rows; r++) {
                                Attribution.keepTop(score, r * f, f, sparsities[k], keep[k][l]);
                            }
                        }
                    }
                    for (int k = 0; k < sparsities.length; k++) {
                        nats[si][k] += windowNats(model, cache, ids, len, mask(keep[k], rows, f), nll, vocab, par);
                    }
                }
                bytes += val.predictedBytes(win);
                if ((win + 1) % 8 == 0 || win + 1 == val.count()) {
                    progress.accept(String.format(Locale.ROOT, "attribution: window %d/%d", win + 1, val.count()));
                }
            }
        }
        double ln2b = Math.log(2) * bytes;
        double dense = denseNats / ln2b;
        double[][] q = new double[scores.size()][sparsities.length];
        double[][] d = new double[scores.size()][sparsities.length];
        for (int si = 0; si < q.length; si++) {
            for (int k = 0; k < sparsities.length; k++) {
                q[si][k] = nats[si][k] / ln2b;
                d[si][k] = q[si][k] / dense - 1;
            }
        }
        double[] deact = new double[sparsities.length];
        for (int k = 0; k < deact.length; k++) {
            deact[k] = Math.floor(sparsities[k] * f) / f;
        }
        return new AttributionResults.Sweep("bits/byte", dense, q, d, deact, (System.nanoTime() - t0) / 1e9);
    }

    /** Zeroes h where {@code keep[layer]} is false, for the predicting positions (0 .. rows−1). */
    static ActivationTap mask(boolean[][] keep, int rows, int f) {
        return (layer, position, x, xOff, gate, act, h, off) -> {
            if (position >= rows) {
                return;
            }
            boolean[] k = keep[layer];
            int base = position * f;
            for (int i = 0; i < f; i++) {
                if (!k[base + i]) {
                    h[off + i] = 0f;
                    act[off + i] = 0f;
                }
            }
        };
    }

    /** Σ next-token nll of one window (nats) under {@code tap}. */
    static double windowNats(LlamaModel model, KvCache cache, int[] ids, int len, ActivationTap tap, double[] nll,
                             int vocab, Parallel par) {
        int[] x = ids.length == len ? ids : Arrays.copyOf(ids, len);
        cache.clear();
        float[] logits = model.forward(cache, x, true, tap, par);
        NextTokenLoss.nll(logits, vocab, x, len, nll, par);
        double s = 0;
        for (int t = 0; t + 1 < len; t++) {
            s += nll[t];
        }
        if (!Double.isFinite(s)) {
            throw new SparsaException.UsageException("the model gives non-finite logits under sparse activation");
        }
        return s;
    }
}
