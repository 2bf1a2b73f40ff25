package dev.sparsa.infer;

import dev.sparsa.SparsaException;
import dev.sparsa.model.Activation;

/**
 * Which FFN neurons a token keeps, decided from its gate pre-activations {@code g = W_gate x}: the semantics of a
 * gate-first sparse mode (docs/sparse-modes.md). A kept neuron i contributes {@code h_i = act(g_i)·up'_i}; a dropped
 * one contributes nothing, so its up row and down column need not be read. {@link #select} is the reference: any
 * kernel of the mode ({@link GateSparseFfn} today, a faster layout later) must give the output of the dense FFN with
 * {@code h_i = 0} for the dropped neurons, and nothing else.
 */
public sealed interface NeuronRule {

    /** Exact (ReLU family): keep i iff {@code act(g_i) ≠ 0}; the output equals dense up to summation order. */
    record NonZero() implements NeuronRule {
    }

    /**
     * CATS (Lee et al. 2024): {@code CATS_t(a)_i = a_i} if {@code |a_i| ≥ t}, else 0, on {@code a = act(g)}, with
     * the cutoff {@code t = min{t' : F(t') ≥ k}} for the empirical CDF F of |a| over calibration tokens and the
     * target sparsity k (one t per layer).
     */
    record Magnitude(float threshold) implements NeuronRule {
        public Magnitude {
            if (!(threshold >= 0) || Float.isInfinite(threshold)) {
                throw new SparsaException.UsageException("CATS threshold must be finite and >= 0, got " + threshold);
            }
        }
    }

    /**
     * Statistical top-k (Spark Transformer, You et al. 2025): keep i iff {@code g_i > θ(g)} with
     * {@code θ(g) = mean(g) + std(g)·z} over the token's F pre-activations (linear time, no sort). The paper's
     * {@code z = Φ⁻¹(1 − k/F)} assumes g is Gaussian; Sparsa stores a calibrated z per layer (the standardized quantile
     * measured on calibration tokens) so that the kept share matches the target (see docs/sparse-modes.md). Kept
     * entries keep their value ({@code a_i = act(g_i)}): Spark's soft threshold {@code max(g − θ, 0)} is part of its
     * training and would change a pretrained model's function.
     */
    record StatTopK(double z) implements NeuronRule {
        public StatTopK {
            if (!Double.isFinite(z)) {
                throw new SparsaException.UsageException("statistical top-k z must be finite, got " + z);
            }
        }
    }

    /**
     * Attribution-based activation (Song et al. 2024, "Achieving Sparse Activation in Small Language Models"): the
     * paper deactivates, per token, the ⌊s·F⌋ neurons of lowest attribution (corrected GxO). That score needs
     * ∂F/∂x, which inference does not have, so the mode uses a calibrated importance per neuron instead: keep the
     * {@code keep} neurons of largest {@code weight[i]·|act(g_i)|} (ties: the lower index), with
     * {@code weight[i] = E[cor-GxO_i] / E[|act(g_i)|]} over the calibration tokens (docs/sparse-modes.md).
     */
    record Attributed(float[] weight, int keep) implements NeuronRule {
        public Attributed {
            if (keep < 0 || keep > weight.length) {
                throw new IllegalArgumentException("attribution: keep " + keep + " of " + weight.length + " neurons");
            }
        }
    }

    /**
     * Whether the rule decides each neuron from its own value alone (then {@link #magnitudeThreshold} is the whole
     * rule), so that gate, decision and up row fit in one pass over the neurons.
     */
    default boolean elementwise() {
        return !(this instanceof StatTopK) && !(this instanceof Attributed);
    }

    /**
     * For an elementwise rule: keep i iff {@code |act(g_i)| ≥} this value ({@link Float#MIN_VALUE} for
     * {@link NonZero}, so that exactly the non-zero entries pass).
     */
    default float magnitudeThreshold() {
        return switch (this) {
            case NonZero z -> Float.MIN_VALUE;
            case Magnitude m -> m.threshold();
            case StatTopK s -> throw new IllegalStateException("statistical top-k is not elementwise");
            case Attributed a -> throw new IllegalStateException("attribution is not elementwise");
        };
    }

    /** θ of {@link StatTopK} for the F values of {@code g} at {@code off}: mean + std·z (population std, in double). */
    static double statThreshold(float[] g, int off, int f, double z) {
        double s = 0;
        for (int i = 0; i < f; i++) {
            s += g[off + i];
        }
        double mean = s / f;
        double ss = 0;
        for (int i = 0; i < f; i++) {
            double d = g[off + i] - mean;
            ss += d * d;
        }
        return mean + Math.sqrt(ss / f) * z;                          // θ(x, k) = mean(x) + std(x)·Q(1 − k/d)
    }

    /**
     * The reference: for the F gate values at {@code off}, writes {@code a[off+i] = act(g_i)} for kept i and 0 for
     * dropped ones, and returns how many were kept.
     */
    default int select(Activation act, float[] gate, int off, int f, float[] a) {
        int n = 0;
        if (this instanceof StatTopK(double z)) {
            double theta = statThreshold(gate, off, f, z);
            for (int i = 0; i < f; i++) {
                float g = gate[off + i];
                float ai = g > theta ? act.apply(g) : 0f;
                a[off + i] = ai;
                n += ai != 0f ? 1 : 0;
            }
            return n;
        }
        if (this instanceof Attributed(float[] weight, int keep)) {
            long[] keys = new long[f];
            for (int i = 0; i < f; i++) {
                float ai = act.apply(gate[off + i]);
                a[off + i] = ai;
                int b = Float.floatToIntBits(-(weight[i] * Math.abs(ai)));   // score_i = w_i·|act(g_i)|, largest first
                keys[i] = (long) (b >= 0 ? b : b ^ 0x7FFFFFFF) << 32 | i;
            }
            java.util.Arrays.sort(keys);
            for (int j = keep; j < f; j++) {
                a[off + (int) keys[j]] = 0f;
            }
            for (int i = 0; i < f; i++) {
                n += a[off + i] != 0f ? 1 : 0;
            }
            return n;
        }
        float t = magnitudeThreshold();
        act.applyRange(gate, off, a, off, f);                         // a = act(g), the kernels' own values
        for (int i = 0; i < f; i++) {
            float ai = a[off + i];
            ai = Math.abs(ai) >= t ? ai : 0f;
            a[off + i] = ai;
            n += ai != 0f ? 1 : 0;
        }
        return n;
    }
}
