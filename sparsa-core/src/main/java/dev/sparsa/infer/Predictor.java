package dev.sparsa.infer;

import dev.sparsa.SparsaException;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.Arena;

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

    /**
     * This predictor with W1 and W2 stored as {@code dtype} ({@link Kernels#convert}; biases stay F32): the weights
     * it runs with. A predictor is read whole for every token, so at TinyLlama shape (D 2048, F 5632, r 128) its F32
     * weights are 3.9 MB a layer, as much as the candidate gate rows it saves; Q8_0 reads 1.04 MB. Calibration
     * chooses τ on the scores of the converted predictor, so the recall it reports is the one inference gets.
     */
    public Predictor as(DType dtype, Arena arena) {
        if (w1.dtype() == dtype && w2.dtype() == dtype) {
            return this;
        }
        return new Predictor(kind, Kernels.convert(w1, dtype, arena), b1, Kernels.convert(w2, dtype, arena), b2);
    }

    /** Whether W1 and W2 can be stored as {@code dtype} (block formats need D and r to be multiples of the block). */
    public boolean fits(DType dtype) {
        return !dtype.quantized() || (inputs() % dtype.blockSize() == 0 && rank() % dtype.blockSize() == 0);
    }

    /** The weights' dtype (W1's; {@link #as} converts both). */
    public DType dtype() {
        return w1.dtype();
    }

    /** Scratch of length {@link #rank()} for {@link #scores}. */
    public float[] newHidden() {
        return new float[rank()];
    }

    /** {@code s = P(x[xOff .. xOff+D))} into {@code s[0 .. F)}; {@code z} (length r) is the hidden layer. */
    public void scores(float[] x, int xOff, float[] z, float[] s, Parallel par) {
        hidden(x, xOff, z, par);
        Kernels.matvec(w2, z, s, par);                                    // s = W2 z
        if (kind == Kind.MLP) {
            for (int i = 0; i < b2.length; i++) {
                s[i] += b2[i];                                            // (+ b2)
            }
        }
    }

    /** The hidden layer {@code z = W1 x} (lowrank) or {@code ReLU(W1 x + b1)} (mlp) into {@code z[0 .. r)}. */
    public void hidden(float[] x, int xOff, float[] z, Parallel par) {
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
    }

    /**
     * The scores of neurons [from, to) from the hidden layer, {@code s_i = W2[i,:]·z (+ b2_i)}, serially: the same
     * float operations as {@link #scores}, so a kernel can score a slice of neurons where it uses them (one fork-join
     * and one pass over the scores fewer per token).
     */
    public void scoreRange(int from, int to, float[] z, float[] s) {
        Kernels.matvecRange(w2, from, to, z, s);                          // s = W2 z, rows [from, to)
        if (kind == Kind.MLP) {
            for (int i = from; i < to; i++) {
                s[i] += b2[i];                                            // (+ b2)
            }
        }
    }
}
