package dev.sparsa.tensor;

/**
 * The scalar twin of {@link Gemm}: the plain triple loop, same semantics (transposes, offsets, leading dimensions,
 * accumulate, weight tensors of any dtype dequantized by {@link ScalarKernels#toFloats}). Each
 * {@code C[i,j]} is one fused multiply-add chain in ascending p, the contract {@link Gemm} keeps bit for bit.
 * Slow; for tests.
 */
public final class ScalarGemm {
    private ScalarGemm() {
    }

    /** {@code C[m×n] = (accumulate ? C : 0) + op(A)[m×k] · op(B)[k×n]}, serially. */
    public static void multiply(int m, int n, int k, Gemm.Mat a, Gemm.Operand b, Gemm.Mat c, boolean accumulate) {
        Gemm.check(m, n, k, a, b, c);
        float[] w = b instanceof Gemm.Weight wt ? ScalarKernels.toFloats(wt.w()) : null;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                int ci = c.off() + i * c.ld() + j;
                float sum = accumulate ? c.data()[ci] : 0f;
                for (int p = 0; p < k; p++) {
                    float bv = b instanceof Gemm.Mat bm ? at(bm, p, j) : weight((Gemm.Weight) b, w, p, j);
                    sum = Math.fma(at(a, i, p), bv, sum);
                }
                c.data()[ci] = sum;
            }
        }
    }

    /** Element (i, j) of op(x). */
    static float at(Gemm.Mat x, int i, int j) {
        return x.trans() ? x.data()[x.off() + j * x.ld() + i] : x.data()[x.off() + i * x.ld() + j];
    }

    // element (p, j) of B = W (W[p, j]) or B = W^T (W[j, p]); w is W as floats, row-major
    private static float weight(Gemm.Weight b, float[] w, int p, int j) {
        int cols = b.w().cols();
        return b.trans() ? w[j * cols + p] : w[p * cols + j];
    }
}
