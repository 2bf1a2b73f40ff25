package dev.sparsa.tensor;

/**
 * The plain-loop twin of {@link Int8Gemm#matmul}: the same integer sum written as the definition
 * Σ_c (a − 0)·(q − z) in 64-bit, one token and one row at a time; {@code Int8GemmTest} requires the same bits.
 */
public final class ScalarInt8Gemm {
    private ScalarInt8Gemm() {
    }

    public static void matmul(Int8Matrix w, int[] a, float[] sx, int n, float[] y) {
        Int8Gemm.check(w, a, sx, n, y);
        int rows = w.rows();
        int cols = w.cols();
        for (int t = 0; t < n; t++) {
            for (int r = 0; r < rows; r++) {
                long s = 0;
                for (int c = 0; c < cols; c++) {
                    s += (long) a[t * cols + c] * (w.code(r, c) - w.zero()[r]);
                }
                y[t * rows + r] = (float) Math.toIntExact(s) * (sx[t] * w.scale()[r]);
            }
        }
    }
}
