package dev.sparsa.infer;

import dev.sparsa.SparsaException;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;

/**
 * An activation predictor of one FFN layer: from the FFN input x, one logit per neuron saying how likely it is to be
 * active. Two published forms:
 * <ul>
 *   <li>{@link Kind#LOW_RANK} (Deja Vu, Liu et al. 2023, its MLP sparse predictor): two linear layers without bias
 *   or non-linearity, {@code s = W2·(W1·x)}, W1 {@code [r, D]}, W2 {@code [F, r]};</li>
 *   <li>{@link Kind#MLP} (PowerInfer, Song et al. 2023): a two-layer MLP, {@code s = W2·ReLU(W1·x + b1) + b2}.</li>
 * </ul>
 * Neuron i is a candidate when {@code s_i ≥ τ} (τ chosen for a recall, see {@link PredictorFfn}).
 *
 * @param w1 {@code [r, D]} F32
 * @param b1 length r ({@link Kind#MLP}) or null
 * @param w2 {@code [F, r]} F32
 * @param b2 length F ({@link Kind#MLP}) or null
 */
public record Predictor(Kind kind, Tensor w1, float[] b1, Tensor w2, float[] b2) {

    public enum Kind {
        LOW_RANK, MLP;

        /** The name used in files and options: {@code lowrank} or {@code mlp}. */
        public String key() {
            return this == LOW_RANK ? "lowrank" : "mlp";
        }

        public static Kind of(String key) {
            return switch (key) {
                case "lowrank" -> LOW_RANK;
                case "mlp" -> MLP;
                default -> throw new SparsaException.UsageException("predictor kind must be lowrank or mlp, got "
                        + key);
            };
        }
    }

    public Predictor {
        if (w1.rank() != 2 || w2.rank() != 2 || w2.cols() != w1.rows()) {
            throw new IllegalArgumentException("predictor: W1 " + w1.describe() + " and W2 " + w2.describe()
                    + " do not chain");
        }
        boolean mlp = kind == Kind.MLP;
        if (mlp != (b1 != null) || mlp != (b2 != null) || (mlp && (b1.length != w1.rows() || b2.length != w2.rows()))) {
            throw new IllegalArgumentException("predictor: " + kind.key() + " biases do not fit its shapes");
        }
    }

    public int rank() {
        return w1.rows();
    }

    public int inputs() {
        return w1.cols();
    }

    public int neurons() {
        return w2.rows();
    }

    /** Bytes of the predictor read per token. */
    public long bytes() {
        return w1.data().byteSize() + w2.data().byteSize()
                + 4L * ((b1 == null ? 0 : b1.length) + (b2 == null ? 0 : b2.length));
    }

    /** Scratch of length {@link #rank()} for {@link #scores}. */
    public float[] newHidden() {
        return new float[rank()];
    }

    /** {@code s = P(x[xOff .. xOff+D))} into {@code s[0 .. F)}; {@code z} (length r) is the hidden layer. */
    public void scores(float[] x, int xOff, float[] z, float[] s, Parallel par) {
        int r = rank();
        par.forRange(r, 16, (from, to) -> {
            for (int j = from; j < to; j++) {
                z[j] = Kernels.dotRow(w1, j, x, xOff);                    // z = W1 x
            }
        });
        if (kind == Kind.MLP) {
            for (int j = 0; j < r; j++) {
                z[j] = Math.max(0f, z[j] + b1[j]);                        // z = ReLU(W1 x + b1)
            }
        }
        Kernels.matvec(w2, z, s, par);                                    // s = W2 z
        if (kind == Kind.MLP) {
            for (int i = 0; i < b2.length; i++) {
                s[i] += b2[i];                                            // (+ b2)
            }
        }
    }
}
