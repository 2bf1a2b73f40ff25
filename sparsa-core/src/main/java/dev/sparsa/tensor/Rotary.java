package dev.sparsa.tensor;

/**
 * Rotary position embedding (RoFormer eq. 34), forward and backward, from a table of cos/sin per position. Pair i
 * (0 ≤ i &lt; headDim/2) of a head is rotated by θ = pos · invFreq[i]: {@code (x0, x1) → (x0·c − x1·s, x0·s + x1·c)};
 * the backward rotates the gradient by −θ: {@code (g0, g1) → (g0·c + g1·s, −g0·s + g1·c)}. Where the pair sits:
 * Hugging Face "rotate_half" ({@code interleaved = false}: x[i], x[i + d/2]) or adjacent dimensions
 * ({@code interleaved = true}: x[2i], x[2i+1], llama.cpp's layout of llama GGUF files). Angles are computed in
 * double and rounded to float once, so both layouts give bit-identical values at permuted positions.
 * {@link ScalarKernels#rotaryForward} / {@link ScalarKernels#rotaryBackward} are the scalar twins.
 */
public final class Rotary {
    private Rotary() {
    }

    /** cos θ and sin θ for positions [0, positions) and pairs [0, half), row-major {@code [pos, half]}. */
    public record Table(float[] cos, float[] sin, int half, int positions) {

        public static Table of(float[] invFreq, int positions) {
            int half = invFreq.length;
            float[] c = new float[positions * half];
            float[] s = new float[positions * half];
            for (int p = 0; p < positions; p++) {
                for (int i = 0; i < half; i++) {
                    double angle = p * (double) invFreq[i];
                    c[p * half + i] = (float) Math.cos(angle);
                    s[p * half + i] = (float) Math.sin(angle);
                }
            }
            return new Table(c, s, half, positions);
        }
    }

    /** Rotates {@code heads} consecutive heads of {@code headDim} at {@code off} to position {@code pos}, in place. */
    public static void forward(Table tb, boolean interleaved, float[] x, int off, int heads, int headDim, int pos) {
        rotate(tb, interleaved, x, off, heads, headDim, pos, 1f);
    }

    /** The backward of {@link #forward}: the gradient at {@code off} rotated back by −θ, in place. */
    public static void backward(Table tb, boolean interleaved, float[] g, int off, int heads, int headDim, int pos) {
        rotate(tb, interleaved, g, off, heads, headDim, pos, -1f);
    }

    // sign = +1: (x0·c − x1·s, x0·s + x1·c); sign = −1: the same with s → −s (exact: negation is exact)
    private static void rotate(Table tb, boolean interleaved, float[] x, int off, int heads, int headDim, int pos,
                               float sign) {
        int half = headDim / 2;
        if (half != tb.half() || pos < 0 || pos >= tb.positions()) {
            throw new IllegalArgumentException("rotary table of " + tb.positions() + " x " + tb.half()
                    + " cannot rotate head dim " + headDim + " at position " + pos);
        }
        float[] cs = tb.cos();
        float[] sn = tb.sin();
        int t = pos * half;
        int stride = interleaved ? 2 : 1;
        int second = interleaved ? 1 : half;
        for (int h = 0; h < heads; h++) {
            int b = off + h * headDim;
            for (int i = 0; i < half; i++) {
                int i0 = b + i * stride;
                int i1 = i0 + second;
                float c = cs[t + i];
                float s = sign * sn[t + i];
                float x0 = x[i0];
                float x1 = x[i1];
                x[i0] = x0 * c - x1 * s;
                x[i1] = x0 * s + x1 * c;
            }
        }
    }
}
