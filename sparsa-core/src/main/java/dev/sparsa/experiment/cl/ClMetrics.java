package dev.sparsa.experiment.cl;

/**
 * The continual-learning summary of an accuracy matrix R[i][j] = task j's validation bits/byte after training stage i
 * (lower is better), as Lopez-Paz &amp; Ranzato (2017, GEM) and Chaudhry et al. (2018) define them with accuracy a =
 * −bits/byte, signs chosen so that each reads as in that literature:
 * <pre>
 *   average final   (1/T) Σ_j R[T−1][j]                               (bits/byte; lower is better)
 *   forgetting f_j  R[T−1][j] − min_{j ≤ i &lt; T−1} R[i][j]   (j &lt; T−1)  (bits/byte lost since the best; ≥ 0 forgot)
 *   BWT             (1/(T−1)) Σ_{j&lt;T−1} (R[j][j] − R[T−1][j])        (negative: forgetting, positive: later tasks help)
 *   FWT             (1/(T−1)) Σ_{j≥1} (b_j − R[j−1][j])               (positive: earlier tasks help before j is seen)
 * </pre>
 * with b_j task j's bits/byte of the starting weights. A single row (joint training) has no forgetting, BWT or FWT
 * (null).
 *
 * @param forgetting f_j for j &lt; T−1 (empty for one row)
 */
public record ClMetrics(double averageFinal, double[] forgetting, Double averageForgetting, Double bwt, Double fwt) {

    /** @param start b_j, the starting weights' bits/byte per task (null: no FWT) */
    public static ClMetrics of(double[][] r, double[] start) {
        int stages = r.length;
        int tasks = r[stages - 1].length;
        double avg = 0;
        for (double v : r[stages - 1]) {
            avg += v;
        }
        avg /= tasks;
        if (stages != tasks) {
            if (stages != 1) {
                throw new IllegalArgumentException(stages + " stages for " + tasks + " tasks");
            }
            return new ClMetrics(avg, new double[0], null, null, null);
        }
        int t = tasks;
        double[] f = new double[t - 1];
        double bwt = 0;
        for (int j = 0; j < t - 1; j++) {
            double best = Double.POSITIVE_INFINITY;
            for (int i = j; i < t - 1; i++) {
                best = Math.min(best, r[i][j]);
            }
            f[j] = r[t - 1][j] - best;                                     // f_j = R[T−1][j] − min_i R[i][j]
            bwt += r[j][j] - r[t - 1][j];                                  // R[j][j] − R[T−1][j]
        }
        double mf = 0;
        for (double v : f) {
            mf += v;
        }
        Double fwt = null;
        if (start != null) {
            double s = 0;
            for (int j = 1; j < t; j++) {
                s += start[j] - r[j - 1][j];                               // b_j − R[j−1][j]
            }
            fwt = s / (t - 1);
        }
        return new ClMetrics(avg, f, mf / (t - 1), bwt / (t - 1), fwt);
    }
}
