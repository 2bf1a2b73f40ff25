package dev.sparsa.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.function.ToDoubleFunction;

/**
 * Central finite differences in double precision, the check every backward is held to. The function is a
 * double-precision reference forward written in the test (independent of the float kernels), contracted with a
 * fixed random cotangent to a scalar. With step h = 1e-6·max(1, |x|) the truncation error h²·|f'''|/6 is ~1e-13 and
 * the rounding error ~2⁻⁵²·|f|/h ~1e-10·|f| for the O(1)-scaled functions the tests build, so the difference to a
 * float backward measures the float backward's own error (~1e-6 of the gradient's scale), not the check's.
 */
public final class FiniteDiff {
    private FiniteDiff() {
    }

    /** Relative step. */
    public static final double STEP = 1e-6;

    /** ∂f/∂x_j at x by central differences; x[j] is restored. */
    public static double partial(ToDoubleFunction<double[]> f, double[] x, int j) {
        double x0 = x[j];
        double h = STEP * Math.max(1, Math.abs(x0));
        double hi = x0 + h;
        double lo = x0 - h;
        x[j] = hi;
        double fp = f.applyAsDouble(x);
        x[j] = lo;
        double fm = f.applyAsDouble(x);
        x[j] = x0;
        return (fp - fm) / (hi - lo);                 // the step actually taken (x0 ± h rounded)
    }

    /** ∂f/∂x_j for every j. */
    public static double[] gradient(ToDoubleFunction<double[]> f, double[] x) {
        double[] g = new double[x.length];
        for (int j = 0; j < x.length; j++) {
            g[j] = partial(f, x, j);
        }
        return g;
    }

    /**
     * Asserts {@code max_j |fd_j − got_j| ≤ rel·max_j |got_j| + abs} over the entries listed in {@code idx} (all when
     * null) and that the gradient is not identically zero there unless {@code mayBeZero}; returns the error relative
     * to max|got| (for the report).
     */
    public static double assertMatches(String what, double[] fd, float[] got, int[] idx, double rel, double abs,
                                       boolean mayBeZero) {
        int n = idx == null ? got.length : idx.length;
        double scale = 0;
        double err = 0;
        int worst = -1;
        for (int k = 0; k < n; k++) {
            int j = idx == null ? k : idx[k];
            scale = Math.max(scale, Math.abs(got[j]));
            double e = Math.abs(fd[k] - got[j]);
            if (e > err) {
                err = e;
                worst = j;
            }
        }
        if (!mayBeZero) {
            assertThat(scale).as(what + ": gradient identically zero (the check could not fail)").isGreaterThan(0);
        }
        double tol = rel * scale + abs;
        int w = worst;
        int wk = idx == null ? w : indexOf(idx, w);
        assertThat(err).as("%s: max |fd − grad| at [%d]: fd %.9g grad %.9g (max |grad| %.3g, tol %.3g)", what, w,
                w < 0 ? 0 : fd[wk], w < 0 ? 0 : got[w], scale, tol).isLessThanOrEqualTo(tol);
        return scale == 0 ? 0 : err / scale;
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        return -1;
    }

    public static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }
}
