package dev.sparsa.profile.metric;

/**
 * One layer's FFN activations over one window of consecutive positions, handed to every {@link LayerMetric}.
 *
 * @param layer    layer index ℓ
 * @param tokens   T, positions in the window (consecutive in one sequence)
 * @param f        F
 * @param d        D
 * @param x        FFN inputs, T × D row-major
 * @param h        FFN intermediates, T × F row-major (dense, unmodified)
 * @param mags     m_i = |h_i|·‖d_i‖₂, T × F row-major
 * @param active   whether neuron i is active at token t, T × F row-major (definition: {@link LayerContext})
 * @param window   index of the window in the run (used to split predictor train / eval)
 */
public record LayerWindow(int layer, int tokens, int f, int d, float[] x, float[] h, float[] mags, boolean[] active,
                          int window) {
}
