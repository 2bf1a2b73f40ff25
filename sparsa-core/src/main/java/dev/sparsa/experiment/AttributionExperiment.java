package dev.sparsa.experiment;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.NextTokenLoss;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.bert.BertBackward;
import dev.sparsa.model.bert.BertModel;
import dev.sparsa.model.llama.KvCache;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.profile.metric.Attribution;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.FfnGradients;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
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

    /** Windows per encoder batch (one forward, K backwards). */
    static final int ENCODER_BATCH = 8;

    /** The scores an encoder sweep runs of {@code scores}: all but gxo, which has no sign for a vector output. */
    public static List<Attribution.Score> encoderScores(List<Attribution.Score> scores) {
        return scores.stream().filter(s -> s != Attribution.Score.GXO).toList();
    }

    /**
     * The encoder sweep (a BERT sentence-embedding model, e.g. all-MiniLM-L6-v2): for each batch of {@code seqs}
     * (windows with their special tokens), the dense embeddings e_b, then {@code projections} backwards of
     * F_k = Σ_b q_{b,k}·e_b ({@link BertBackward}) with q_{b,1..K} orthonormal random directions per window, which
     * estimate ‖∂e/∂h_i‖² ≈ (D/K)·Σ_k (∂F_k/∂h_i)² for every token, layer and neuron (unbiased, the random-projection
     * estimate of the Jacobian's column norms: D backwards would give it exactly). Each score
     * ({@link Attribution#vectorScores}) ranks the neurons of every token and layer, the ⌊s·F⌋ lowest get h_i = 0 in
     * all layers at once (one shot), and the quality is the mean cosine between the sparse and the dense embedding of
     * each window (dense: 1).
     *
     * @param seed seeds the directions (window w of the run gets {@code seed + w})
     */
    public static AttributionResults.Sweep encoder(BertModel m, List<int[]> seqs, List<Attribution.Score> scores,
                                                   double[] sparsities, int projections, long seed, Parallel par,
                                                   Consumer<String> progress) {
        checkSparsities(sparsities);
        int d = m.config().hiddenSize();
        if (projections < 1 || projections > d) {
            throw new SparsaException.UsageException("--projections must be in [1, " + d + "] (the embedding size), "
                    + "got " + projections);
        }
        if (seqs.isEmpty()) {
            throw new SparsaException.UsageException("no encoder windows to run");
        }
        for (Attribution.Score s : scores) {
            if (s == Attribution.Score.GXO) {
                throw new SparsaException.UsageException("gxo is signed, and an embedding has no better direction: "
                        + "the encoder sweep runs magnitude, snip and cor-gxo");
            }
        }
        long t0 = System.nanoTime();
        int layers = m.config().numLayers();
        int f = m.config().intermediateSize();
        double[][] cosSum = new double[scores.size()][sparsities.length];
        BertBackward bb = new BertBackward(m);
        int done = 0;
        for (int from = 0; from < seqs.size(); from += ENCODER_BATCH) {
            List<int[]> batch = seqs.subList(from, Math.min(seqs.size(), from + ENCODER_BATCH));
            int nb = batch.size();
            float[][] dense = m.sentenceEmbeddings(BertModel.Batch.of(batch), par);
            bb.forward(batch, par);
            int n = bb.tokens();
            float[][] sq = new float[layers][n * f];
            double[][] jf = new double[layers][n];
            jacobianNorms(bb, from, projections, seed, sq, jf, par);
            float[] score = new float[n * f];
            for (int si = 0; si < scores.size(); si++) {
                boolean[][][] keep = new boolean[sparsities.length][layers][n * f];
                for (int l = 0; l < layers; l++) {
                    float[] h = bb.h(l);
                    for (int t = 0; t < n; t++) {
                        Attribution.vectorScores(scores.get(si), h, sq[l], t * f, f, jf[l][t], score, t * f);
                        for (int k = 0; k < sparsities.length; k++) {
                            Attribution.keepTop(score, t * f, f, sparsities[k], keep[k][l]);
                        }
                    }
                }
                for (int k = 0; k < sparsities.length; k++) {
                    boolean[][] kk = keep[k];
                    ActivationTap tap = (layer, position, x, xOff, gate, act, h, off) -> {
                        boolean[] kl = kk[layer];
                        for (int i = 0; i < f; i++) {
                            if (!kl[off + i]) {
                                h[off + i] = 0f;
                            }
                        }
                    };
                    float[][] hidden = m.forward(BertModel.Batch.of(batch), tap, par);
                    for (int b = 0; b < nb; b++) {
                        float[] e = BertModel.l2Normalize(BertModel.meanPool(hidden[b], null, d));
                        double c = 0;
                        for (int i = 0; i < d; i++) {
                            c += (double) e[i] * dense[b][i];
                        }
                        if (!Double.isFinite(c)) {
                            throw new SparsaException.UsageException("the encoder gives non-finite embeddings under "
                                    + "sparse activation");
                        }
                        cosSum[si][k] += c;
                    }
                }
            }
            done += nb;
            progress.accept(String.format(Locale.ROOT, "attribution (encoder): window %d/%d", done, seqs.size()));
        }
        double[][] q = new double[scores.size()][sparsities.length];
        double[][] delta = new double[scores.size()][sparsities.length];
        for (int si = 0; si < q.length; si++) {
            for (int k = 0; k < sparsities.length; k++) {
                q[si][k] = cosSum[si][k] / seqs.size();
                delta[si][k] = q[si][k] - 1;
            }
        }
        double[] deact = new double[sparsities.length];
        for (int k = 0; k < deact.length; k++) {
            deact[k] = Math.floor(sparsities[k] * f) / f;
        }
        return new AttributionResults.Sweep("embedding cosine", 1.0, q, delta, deact, (System.nanoTime() - t0) / 1e9);
    }

    /**
     * After {@code bb.forward}: {@code sq[ℓ][t·F + i]} ≈ ‖∂e_b/∂h_{ℓ,t,i}‖² and {@code jf[ℓ][t]} ≈ Σ_i of them (t a
     * token of window b), from K backwards of q_k·e with q_1..q_K orthonormal random directions per window (window
     * b of the batch seeded {@code seed + first + b}): E[(D/K)·Σ_k (q_k·a)²] = ‖a‖², exact at K = D.
     */
    static void jacobianNorms(BertBackward bb, int first, int projections, long seed, float[][] sq, double[][] jf,
                              Parallel par) {
        int d = bb.config().hiddenSize();
        int nb = bb.sequences();
        float[][][] dirs = new float[nb][][];
        for (int b = 0; b < nb; b++) {
            dirs[b] = orthonormal(projections, d, new Random(seed + first + b));
        }
        float scale = (float) d / projections;
        float[][] r = new float[nb][];
        for (int k = 0; k < projections; k++) {
            for (int b = 0; b < nb; b++) {
                r[b] = dirs[b][k];
            }
            bb.backward(r, (l, h, dh, rows, ff) -> {
                float[] acc = sq[l];
                for (int t = 0; t < rows; t++) {
                    double s = 0;
                    for (int i = t * ff; i < (t + 1) * ff; i++) {
                        float g2 = dh[i] * dh[i];
                        acc[i] += scale * g2;
                        s += g2;
                    }
                    jf[l][t] += scale * s;
                }
            }, par);
        }
    }

    /** k orthonormal directions in R^d (Gram–Schmidt of Gaussian vectors, in double). */
    static float[][] orthonormal(int k, int d, Random rnd) {
        double[][] v = new double[k][d];
        float[][] out = new float[k][d];
        for (int j = 0; j < k; j++) {
            while (true) {
                for (int i = 0; i < d; i++) {
                    v[j][i] = rnd.nextGaussian();
                }
                for (int p = 0; p < j; p++) {
                    double dot = 0;
                    for (int i = 0; i < d; i++) {
                        dot += v[j][i] * v[p][i];
                    }
                    for (int i = 0; i < d; i++) {
                        v[j][i] -= dot * v[p][i];
                    }
                }
                double norm = 0;
                for (int i = 0; i < d; i++) {
                    norm += v[j][i] * v[j][i];
                }
                norm = Math.sqrt(norm);
                if (norm > 1e-6) {
                    for (int i = 0; i < d; i++) {
                        v[j][i] /= norm;
                        out[j][i] = (float) v[j][i];
                    }
                    break;
                }
            }
        }
        return out;
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
