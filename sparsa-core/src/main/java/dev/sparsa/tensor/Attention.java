package dev.sparsa.tensor;

import java.util.Arrays;

/**
 * Causal scaled dot-product attention (Vaswani et al. eq. 1) with grouped-query heads, over one sequence, forward
 * and backward side by side. Query head h of the token at position p attends to positions 0..p of kv head
 * {@code h / (heads / kvHeads)}: {@code s_j = q·k_j / √d}, {@code P = softmax(s)}, {@code o = Σ_j P_j v_j}.
 *
 * <p>Layouts (row-major): queries and outputs {@code [t, heads·headDim]} (heads concatenated), keys and values
 * {@code [positions, kvHeads·headDim]}; the t queries are at positions {@code pos0 .. pos0+t-1} and keys/values
 * 0..pos0+t-1 are present (a KV cache in inference, the sequence itself in training with pos0 = 0). The
 * probabilities, when kept for the backward, are {@code [heads, t, pos0+t]} (row i holds positions 0..pos0+i, zeros
 * after). Work is split over (query, head) pairs, each computed by one thread in a fixed order: results do not
 * depend on the thread count.
 */
public final class Attention {
    private Attention() {
    }

    /** Shape of one attention call. */
    public record Shape(int heads, int kvHeads, int headDim) {
        public Shape {
            if (heads < 1 || kvHeads < 1 || headDim < 1 || heads % kvHeads != 0) {
                throw new IllegalArgumentException("attention shape: heads " + heads + ", kv heads " + kvHeads
                        + ", head dim " + headDim);
            }
        }

        int qDim() {
            return heads * headDim;
        }

        int kvDim() {
            return kvHeads * headDim;
        }

        int group() {
            return heads / kvHeads;
        }
    }

    /**
     * Forward. {@code probs} may be null (inference); else it receives P as described in the class comment, from
     * {@code probsOff}.
     */
    public static void forward(Shape sh, float[] q, int qOff, float[] k, float[] v, int kvOff, float[] out, int outOff,
                               int t, int pos0, float[] probs, int probsOff, Parallel par) {
        int heads = sh.heads();
        int hd = sh.headDim();
        int qDim = sh.qDim();
        int kvDim = sh.kvDim();
        int group = sh.group();
        int ctx = pos0 + t;
        float scale = (float) (1.0 / Math.sqrt(hd));
        par.forRange(t * heads, 1, (from, to) -> {
            float[] scores = probs == null ? new float[ctx] : null;
            for (int job = from; job < to; job++) {
                int i = job / heads;
                int h = job % heads;
                int pos = pos0 + i;
                int qo = qOff + i * qDim + h * hd;
                int kvo = kvOff + (h / group) * hd;
                float[] sc = scores;
                int so = 0;
                if (probs != null) {
                    sc = probs;
                    so = probsOff + (h * t + i) * ctx;
                }
                for (int s = 0; s <= pos; s++) {
                    sc[so + s] = Kernels.dot(q, qo, k, kvo + s * kvDim, hd) * scale;     // s_j = q·k_j / √d
                }
                Kernels.softmax(sc, so, pos + 1);                                        // P = softmax(s)
                if (probs != null && pos + 1 < ctx) {
                    Arrays.fill(sc, so + pos + 1, so + ctx, 0f);
                }
                int oo = outOff + i * qDim + h * hd;
                Arrays.fill(out, oo, oo + hd, 0f);
                for (int s = 0; s <= pos; s++) {                                          // o = Σ_j P_j v_j
                    float p = sc[so + s];
                    int vo = kvo + s * kvDim;
                    for (int j = 0; j < hd; j++) {
                        out[oo + j] += p * v[vo + j];
                    }
                }
            }
        });
    }
}
