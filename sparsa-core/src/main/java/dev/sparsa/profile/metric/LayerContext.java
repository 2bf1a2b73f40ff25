package dev.sparsa.profile.metric;

/**
 * What metrics of one layer may know besides the activations: the down-projection columns and the per-layer
 * calibrated thresholds.
 *
 * @param layer          ℓ
 * @param f              F
 * @param d              D
 * @param down           F × D row-major, row i = d_i, in double precision (for {@link Cett#scan})
 * @param downNorms      ‖d_i‖₂
 * @param cettTargets    the CETT targets c calibrated for (ascending)
 * @param epsilons       calibrated ε_ℓ(c) for each target, same order
 * @param reluFamily     "active" means h_i ≠ 0; otherwise m_i ≥ ε_ℓ(activeCett)
 * @param activeEpsilon  the magnitude threshold that defines "active" (0 for ReLU family: any h_i ≠ 0)
 */
public record LayerContext(int layer, int f, int d, double[] down, float[] downNorms, double[] cettTargets,
                           double[] epsilons, boolean reluFamily, double activeEpsilon) {

    public static float[] columnNorms(float[] down, int f, int d) {
        float[] n = new float[f];
        for (int i = 0; i < f; i++) {
            double s = 0;
            for (int j = 0; j < d; j++) {
                double v = down[i * d + j];
                s += v * v;
            }
            n[i] = (float) Math.sqrt(s);
        }
        return n;
    }
}
