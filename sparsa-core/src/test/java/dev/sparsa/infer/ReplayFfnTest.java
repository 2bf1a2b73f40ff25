package dev.sparsa.infer;

import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static dev.sparsa.infer.SparseKernelsTest.close;
import static dev.sparsa.infer.SparseKernelsTest.gaussian;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link ReplayFfn}: recorded neurons map to blocks of this width (shares kept), or to the permuted blocks (shares
 * and reuse kept), the output is the scalar
 * y = Σ_{i∈K} g_i·up_i·d_i over the mapped kept set of the token's position (wrapping), the tap sees h ≠ 0 exactly
 * there and g ≠ 0 on the candidates only, a batch equals its tokens one by one, and 1 and 3 threads give the same
 * bits.
 */
class ReplayFfnTest {
    static final int D = SparseKernelsTest.D;
    static final int F = SparseKernelsTest.F;

    @Test
    void mapKeepsSharesAndOrder() {
        assertThat(ReplayFfn.map(new int[] {0, 2}, 4, 10)).containsExactly(0, 1, 5, 6);
        assertThat(ReplayFfn.map(new int[] {0, 1, 2, 3}, 4, 10)).hasSize(10);
        assertThat(ReplayFfn.map(new int[] {1}, 2, 2)).containsExactly(1);
    }

    @Test
    void scatteredMapIsThePermutedBlocks() {
        int[] perm = dev.sparsa.tensor.Permutation.random(10, 3);
        assertThat(perm).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        assertThat(perm).isNotEqualTo(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
        int[] got = ReplayFfn.map(new int[] {0, 2}, 4, 10, perm);  // blocks {0, 1} and {5, 6}
        assertThat(got).containsExactly(java.util.stream.IntStream.of(perm[0], perm[1], perm[5], perm[6]).sorted()
                .toArray());
    }

    /** The scattered spread reads as many neurons per token as the blocks and shares as many between tokens. */
    @Test
    void scatteredSpreadKeepsSharesAndReuse() {
        FfnWeights w = SparseKernelsTest.ffn(DType.F32, 71);
        int f0 = F / 4;
        List<int[]> cand = List.of(new int[] {0, 1, 2, 5, 7}, new int[] {1, 2, 3, 5});
        List<int[]> kept = List.of(new int[] {1, 5}, new int[] {2, 5});
        ReplayFfn.Trace trace = new ReplayFfn.Trace(f0, cand, kept);
        List<boolean[]> blocks = keptSeen(new ReplayFfn(w, Activation.of("relu", 0f), trace, Predictor.Kind.MLP, 8,
                DType.F32, ReplayFfn.Spread.BLOCKS, 5));
        List<boolean[]> scattered = keptSeen(new ReplayFfn(w, Activation.of("relu", 0f), trace, Predictor.Kind.MLP,
                8, DType.F32, ReplayFfn.Spread.SCATTERED, 5));
        for (int p = 0; p < 2; p++) {
            assertThat(count(scattered.get(p), null)).isEqualTo(count(blocks.get(p), null)).isEqualTo(8);
        }
        assertThat(count(scattered.get(0), scattered.get(1))).isEqualTo(count(blocks.get(0), blocks.get(1)))
                .isEqualTo(4);                                     // recorded neuron 5 in both: 4 neurons here
        assertThat(scattered.get(0)).isNotEqualTo(blocks.get(0));
    }

    private static List<boolean[]> keptSeen(ReplayFfn r) {
        List<boolean[]> seen = new ArrayList<>();
        ActivationTap tap = (layer, pos, xx, xo, g, a, h, off) -> {
            boolean[] k = new boolean[F];
            for (int i = 0; i < F; i++) {
                k[i] = h[off + i] != 0f;
            }
            seen.add(k);
        };
        float[] x = gaussian(new Random(73), 2 * D, 1);
        run(r, x, 2, 0, 1, tap);
        return seen;
    }

    private static int count(boolean[] a, boolean[] b) {
        int n = 0;
        for (int i = 0; i < a.length; i++) {
            n += a[i] && (b == null || b[i]) ? 1 : 0;
        }
        return n;
    }

    @Test
    void replaysTheRecordedReadsOnTheseWeights() {
        FfnWeights w = SparseKernelsTest.ffn(DType.F32, 61);
        Random rnd = new Random(67);
        int f0 = F / 2;
        List<int[]> cand = new ArrayList<>();
        List<int[]> kept = new ArrayList<>();
        for (int p = 0; p < 3; p++) {
            List<Integer> c = new ArrayList<>();
            List<Integer> k = new ArrayList<>();
            for (int i = 0; i < f0; i++) {
                if (rnd.nextDouble() < 0.4) {
                    c.add(i);
                    if (rnd.nextBoolean()) {
                        k.add(i);
                    }
                }
            }
            cand.add(c.stream().mapToInt(Integer::intValue).toArray());
            kept.add(k.stream().mapToInt(Integer::intValue).toArray());
        }
        ReplayFfn.Trace trace = new ReplayFfn.Trace(f0, cand, kept);
        ReplayFfn r = new ReplayFfn(w, Activation.of("relu", 0f), trace, Predictor.Kind.MLP, 8, 5);
        assertThat(r.candidateShare()).isCloseTo(trace.candidateShare(), org.assertj.core.api.Assertions.within(
                1e-9));
        float[] gate = Kernels.toFloats(w.gate());
        float[] up = Kernels.toFloats(w.up());
        float[] down = Kernels.toFloats(w.down());
        int batch = 5;                                             // positions 2..6 wrap around the 3 recorded
        int pos0 = 2;
        float[] x = gaussian(rnd, batch * D, 1);
        float[] want = new float[batch * D];
        for (int b = 0; b < batch; b++) {
            int[] k = ReplayFfn.map(kept.get((pos0 + b) % 3), f0, F);
            for (int i : k) {
                double g = 0;
                double u = 0;
                for (int j = 0; j < D; j++) {
                    g += gate[i * D + j] * x[b * D + j];
                    u += up[i * D + j] * x[b * D + j];
                }
                for (int c = 0; c < D; c++) {
                    want[b * D + c] += (float) (g * u * down[c * F + i]);
                }
            }
        }
        boolean[][] seenH = new boolean[batch][F];
        boolean[][] seenG = new boolean[batch][F];
        ActivationTap tap = (layer, pos, xx, xo, g, a, h, off) -> {
            for (int i = 0; i < F; i++) {
                seenH[pos - pos0][i] = h[off + i] != 0f;
                seenG[pos - pos0][i] = g[off + i] != 0f;
            }
        };
        float[] y = run(r, x, batch, pos0, 2, tap);
        close(y, want, 1e-5, "replay vs scalar");
        for (int b = 0; b < batch; b++) {
            boolean[] k = new boolean[F];
            for (int i : ReplayFfn.map(kept.get((pos0 + b) % 3), f0, F)) {
                k[i] = true;
            }
            boolean[] c = new boolean[F];
            for (int i : ReplayFfn.map(cand.get((pos0 + b) % 3), f0, F)) {
                c[i] = true;
            }
            assertThat(seenH[b]).as("h ≠ 0 on the kept set, token " + b).isEqualTo(k);
            assertThat(seenG[b]).as("g ≠ 0 on the candidates, token " + b).isEqualTo(c);
        }
        assertThat(run(r, x, batch, pos0, 1, ActivationTap.NONE)).isEqualTo(y);
        assertThat(run(r, x, batch, pos0, 3, ActivationTap.NONE)).isEqualTo(y);
        float[] one = new float[batch * D];
        for (int b = 0; b < batch; b++) {
            float[] xb = java.util.Arrays.copyOfRange(x, b * D, (b + 1) * D);
            System.arraycopy(run(r, xb, 1, pos0 + b, 2, ActivationTap.NONE), 0, one, b * D, D);
        }
        assertThat(one).isEqualTo(y);
    }

    static float[] run(ReplayFfn k, float[] x, int batch, int pos0, int threads, ActivationTap tap) {
        float[] y = new float[batch * D];
        try (Parallel par = new Parallel(threads)) {
            k.forward(x, batch, pos0, y, k.newActivations(batch), tap, par);
        }
        return y;
    }
}
