package dev.sparsa.train.method;

import dev.sparsa.SparsaException;
import dev.sparsa.model.llama.LlamaState;
import dev.sparsa.train.Backprop;

import java.util.List;

/**
 * How a weight-pruning method ranks the kept weights of one FFN matrix (higher score keeps) and over which group it
 * compares them. Two criteria:
 * <ul>
 *   <li>{@code magnitude}: S_ij = |W_ij|, compared over the whole matrix (layer-wise magnitude pruning, Han et al.
 *   2015; SAP's and the lottery-ticket baselines' criterion);</li>
 *   <li>{@code wanda}: S_ij = |W_ij| · ‖X_j‖₂ (Sun et al. 2024, "A Simple and Effective Pruning Approach for Large
 *   Language Models", eq. 1), ‖X_j‖₂ the norm of input feature j over the calibration tokens, compared per output
 *   row (their per-output comparison group). The calibration tokens are the last micro-batch of training: the FFN
 *   input RMSNorm(x) for gate and up, h = act(gate) ⊙ up for down.</li>
 * </ul>
 */
public sealed interface Pruner permits Pruner.Magnitude, Pruner.Wanda {

    List<String> NAMES = List.of("magnitude", "wanda");

    String name();

    /** Whether weights are compared within each output row (else within the whole matrix). */
    boolean perRow();

    /** Scores of matrix {@code m}'s weights {@code w} ([rows, cols] row-major) into {@code out}. */
    void scores(FfnMasks.Matrix m, float[] w, InputStats in, float[] out);

    /** The pruner of this name; a usage error naming the choices otherwise. */
    static Pruner of(String name) {
        return switch (name) {
            case "magnitude" -> new Magnitude();
            case "wanda" -> new Wanda();
            default -> throw new SparsaException.UsageException("--pruner: unknown pruning method '" + name + "' ("
                    + String.join(", ", NAMES) + ")");
        };
    }

    /** S_ij = |W_ij| over the matrix. */
    record Magnitude() implements Pruner {
        @Override
        public String name() {
            return "magnitude";
        }

        @Override
        public boolean perRow() {
            return false;
        }

        @Override
        public void scores(FfnMasks.Matrix m, float[] w, InputStats in, float[] out) {
            for (int i = 0; i < w.length; i++) {
                out[i] = Math.abs(w[i]);
            }
        }
    }

    /** S_ij = |W_ij| · ‖X_j‖₂ per output row (Wanda eq. 1). */
    record Wanda() implements Pruner {
        @Override
        public String name() {
            return "wanda";
        }

        @Override
        public boolean perRow() {
            return true;
        }

        @Override
        public void scores(FfnMasks.Matrix m, float[] w, InputStats in, float[] out) {
            double[] sq = m.kind() == FfnMasks.Kind.DOWN ? in.hSq()[m.layer()] : in.xSq()[m.layer()];
            int c = m.cols();
            float[] norm = new float[c];
            for (int j = 0; j < c; j++) {
                norm[j] = (float) Math.sqrt(sq[j]);                 // ‖X_j‖₂
            }
            for (int r = 0; r < m.rows(); r++) {
                for (int j = 0; j < c; j++) {
                    out[r * c + j] = Math.abs(w[r * c + j]) * norm[j];
                }
            }
        }
    }

    /**
     * Per-layer statistics of the FFN inputs over calibration tokens: Σ_t x_tj² and the mean of x_tj for the FFN
     * input x = RMSNorm(x) (length D), and Σ_t h_tj² for the down projection's input h (length F).
     */
    record InputStats(double[][] xSq, double[][] xMean, double[][] hSq, long tokens) {

        /** From the activations the last forward of {@code bp} left in its workspace. */
        public static InputStats of(Backprop bp) {
            LlamaState st = bp.state();
            int layers = st.slots.length;
            int rows = bp.seqs() * bp.seqLen();
            double[][] xSq = new double[layers][];
            double[][] xMean = new double[layers][];
            double[][] hSq = new double[layers][];
            for (int l = 0; l < layers; l++) {
                float[] x = st.slot(l).xn2;
                float[] h = st.slot(l).ffn.h;
                int d = x.length / rows;
                int f = st.slot(l).ffn.width();
                xSq[l] = new double[d];
                xMean[l] = new double[d];
                hSq[l] = new double[f];
                for (int r = 0; r < rows; r++) {
                    for (int j = 0; j < d; j++) {
                        double v = x[r * d + j];
                        xSq[l][j] += v * v;
                        xMean[l][j] += v;
                    }
                    for (int j = 0; j < f; j++) {
                        double v = h[r * f + j];
                        hSq[l][j] += v * v;
                    }
                }
                for (int j = 0; j < d; j++) {
                    xMean[l][j] /= rows;
                }
            }
            return new InputStats(xSq, xMean, hSq, rows);
        }
    }
}
