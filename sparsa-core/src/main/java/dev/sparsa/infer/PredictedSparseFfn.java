package dev.sparsa.infer;

import dev.sparsa.SparsaException;
import dev.sparsa.model.Activation;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Predicted-sparse gated FFN (docs/ARCHITECTURE.md §7, Deja Vu / PowerInfer style) for ReLU-family activations: a rank-r
 * predictor {@code s = U (V x)} chooses candidate neurons <i>before</i> the gate, so the gate rows of the others are
 * never read; for the candidates the gate is computed exactly, the activation applied, and up rows / down columns are
 * read only for the neurons that fire. Precision is exact by construction (no neuron outside the true active set is
 * used); recall is not: an active neuron the predictor misses is dropped. Bytes per token ≈ predictor + c·gate +
 * active·(up + down) instead of gate + active·(up + down).
 *
 * <p>Predictor: U V is a randomized rank-r approximation of W_gate (range finder with one power iteration:
 * Y = W_gate Ω, Q = orth(Y), V = Qᵀ W_gate, U = Q), stored F32. Its threshold τ is calibrated on random inputs with the
 * statistics of an FFN input (RMS-normalised, norm weights of the layer applied as they come: isotropic Gaussian of
 * RMS 1) so that a fraction {@code candidates} of the neurons is chosen; the calibration also reports the recall on
 * those inputs. On a trained model (low-rank gate structure) recall is high at small r; on random weights the gate has
 * no low-rank structure and recall is low: measure it (the bench reports it on real tokens) before trusting speed.
 *
 * <p>The transposed down projection has the dtype {@link ExactSparseFfn} uses (Q8_0 for quantized weights). This is
 * {@link PredictorFfn} with a {@link Predictor.Kind#LOW_RANK} predictor (W1 = V, W2 = U) built from the weights
 * alone; the {@code predicted} mode trains its predictor on real activations instead ({@code sparsa calibrate}).
 */
public final class PredictedSparseFfn extends PredictorFfn {
    private final double candidates;
    private final double calibrationRecall;

    /** Rank and candidate fraction used by {@link #factory()}. */
    public static final int DEFAULT_RANK = 64;
    public static final double DEFAULT_CANDIDATES = 0.3;

    public static FfnKernel.Factory factory() {
        return factory(DEFAULT_RANK, DEFAULT_CANDIDATES);
    }

    public static FfnKernel.Factory factory(int rank, double candidates) {
        return (weights, act) -> new PredictedSparseFfn(weights, act, rank, candidates, 7);
    }

    public PredictedSparseFfn(FfnWeights weights, Activation act, int rank, double candidates, long seed) {
        this(weights, act, build(weights, act, rank, candidates, seed, Arena.ofAuto()), candidates);
    }

    private PredictedSparseFfn(FfnWeights weights, Activation act, Built b, double candidates) {
        super(weights, act, b.predictor(), b.tau(), new NeuronRule.NonZero(), null, b.arena());
        this.candidates = candidates;
        this.calibrationRecall = b.recall();
    }

    private record Built(Predictor predictor, float tau, double recall, Arena arena) {
    }

    private static Built build(FfnWeights weights, Activation act, int rank, double candidates, long seed,
                               Arena arena) {
        requireZeroBelow(weights, act, "predicted-sparse");
        int d = weights.hiddenSize();
        int f = weights.intermediateSize();
        if (rank < 1 || rank > Math.min(d, f) || !(candidates > 0 && candidates <= 1)) {
            throw new SparsaException.UsageException("predicted-sparse FFN: rank must be in [1, " + Math.min(d, f)
                    + "] and candidates in (0, 1], got " + rank + ", " + candidates);
        }
        Parallel par = Parallel.serial();
        Tensor gate = weights.gate();
        SplittableRandom rnd = new SplittableRandom(seed ^ weights.layer());

        // Y = W Ω (as r vectors of length F), one power iteration Y = W Wᵀ Y, then orthonormal rows Q (r × F)
        float[] omega = gaussian(rnd, rank * d);
        float[] y = new float[rank * f];
        Kernels.matmul(gate, omega, rank, y, par);                  // y[j·F + i] = W[i,:]·ω_j
        orthonormalize(y, rank, f);
        float[] z = new float[rank * d];
        transposeTimes(gate, y, rank, f, d, z);                     // z_j = Wᵀ q_j
        Kernels.matmul(gate, z, rank, y, par);                      // y_j = W Wᵀ q_j
        orthonormalize(y, rank, f);
        float[] vv = new float[rank * d];
        transposeTimes(gate, y, rank, f, d, vv);                    // V = Qᵀ W  (r × D)
        float[] uu = new float[f * rank];                           // U = Q     (F × r)
        for (int j = 0; j < rank; j++) {
            for (int i = 0; i < f; i++) {
                uu[i * rank + j] = y[j * f + i];
            }
        }
        Predictor p = new Predictor(Predictor.Kind.LOW_RANK, Tensor.f32("predictor.v", vv, rank, d).copyTo(arena),
                null, Tensor.f32("predictor.u", uu, f, rank).copyTo(arena), null);

        // calibrate τ on random FFN-like inputs; recall on the same inputs
        int samples = 32;
        float[] scores = new float[samples * f];
        float[] gates = new float[samples * f];
        float[] xs = gaussian(rnd, samples * d);
        float[] zz = p.newHidden();
        float[] s = new float[f];
        float[] g = new float[f];
        for (int k = 0; k < samples; k++) {
            float[] x = Arrays.copyOfRange(xs, k * d, (k + 1) * d);
            p.scores(x, 0, zz, s, par);
            Kernels.matvec(gate, x, g, par);
            System.arraycopy(s, 0, scores, k * f, f);
            System.arraycopy(g, 0, gates, k * f, f);
        }
        float[] sorted = scores.clone();
        Arrays.sort(sorted);
        float tau = sorted[(int) Math.min(sorted.length - 1, Math.floor((1 - candidates) * sorted.length))];
        long active = 0;
        long hit = 0;
        for (int i = 0; i < scores.length; i++) {
            if (act.apply(gates[i]) != 0f) {
                active++;
                if (scores[i] >= tau) {
                    hit++;
                }
            }
        }
        return new Built(p, tau, active == 0 ? 1 : (double) hit / active, arena);
    }

    private static float[] gaussian(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            double u1 = r.nextDouble(1e-12, 1);
            double u2 = r.nextDouble();
            a[i] = (float) (Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
        }
        return a;
    }

    /** Modified Gram-Schmidt over the {@code k} rows of length {@code n} of {@code a}. */
    private static void orthonormalize(float[] a, int k, int n) {
        for (int j = 0; j < k; j++) {
            for (int p = 0; p < j; p++) {
                double dot = 0;
                for (int i = 0; i < n; i++) {
                    dot += (double) a[j * n + i] * a[p * n + i];
                }
                float dd = (float) dot;
                for (int i = 0; i < n; i++) {
                    a[j * n + i] -= dd * a[p * n + i];
                }
            }
            double norm = 0;
            for (int i = 0; i < n; i++) {
                norm += (double) a[j * n + i] * a[j * n + i];
            }
            float inv = norm > 0 ? (float) (1 / Math.sqrt(norm)) : 0f;
            for (int i = 0; i < n; i++) {
                a[j * n + i] *= inv;
            }
        }
    }

    /** out_j = Wᵀ q_j for the k rows q_j (length F) of {@code q}; W is F × D. */
    private static void transposeTimes(Tensor wt, float[] q, int k, int f, int d, float[] out) {
        float[] row = new float[d];
        Arrays.fill(out, 0f);
        for (int i = 0; i < f; i++) {
            Kernels.getRow(wt, i, row, 0);
            for (int j = 0; j < k; j++) {
                float c = q[j * f + i];
                int o = j * d;
                for (int t = 0; t < d; t++) {
                    out[o + t] += c * row[t];
                }
            }
        }
    }

    /** Fraction of neurons chosen as candidates (by calibration). */
    public double candidateFraction() {
        return candidates;
    }

    /** Recall of the true active set on the calibration inputs. */
    public double calibrationRecall() {
        return calibrationRecall;
    }
}
