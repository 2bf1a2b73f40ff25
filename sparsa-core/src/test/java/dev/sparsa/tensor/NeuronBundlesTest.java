package dev.sparsa.tensor;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link NeuronBundles} against the row kernels on the original layouts: a record's gate and up dots are
 * bit-identical to {@link Kernels#dotRow} on W_gate / W_up, its down accumulation to {@link Kernels#axpyRow} on
 * {@link Kernels#transpose}(W_down) of the same dtype, {@code axpyDown4} to four {@code axpyDown}, {@code dotGate4} / {@code dotUp4}
 * to four one-token dots, {@code dotGateRows4} / {@code dotUpRows4} to the four records' own dots; every dtype.
 */
class NeuronBundlesTest {
    static final int D = 96;
    static final int F = 64;

    static Tensor tensor(String name, Random rnd, int rows, int cols, DType t) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        long rb = t.bytesFor(cols);
        MemorySegment seg = Arena.ofAuto().allocate(rb * rows, 64);
        for (int r = 0; r < rows; r++) {
            Quant.quantize(t, v, r * cols, cols, seg, r * rb);
        }
        return new Tensor(name, t, new int[] {rows, cols}, seg);
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void recordsReadLikeTheOriginalRows(DType t) {
        check(t, D);
        check(t, t.quantized() ? 4 * 32 : 120);                        // an even block count; BF16's two tails
    }

    // the assertions at hidden size D (a parameter: the loops' tails depend on it)
    private static void check(DType t, int D) {
        Random rnd = new Random(t.ordinal() + 1 + D);
        Tensor gate = tensor("gate", rnd, F, D, t);
        Tensor up = tensor("up", rnd, F, D, t);
        Tensor down = tensor("down", rnd, D, F, t);
        DType downType = t.quantized() ? DType.Q8_0 : t;
        Tensor downT = Kernels.transpose(down, downType, Arena.ofAuto());
        float[] x = new float[2 * D];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        for (boolean withGate : new boolean[] {false, true}) {
            NeuronBundles nb = NeuronBundles.of(withGate ? gate : null, up, down, downType, Arena.ofAuto());
            assertThat(nb.stride() % 64).isZero();
            assertThat(nb.hasGate()).isEqualTo(withGate);
            assertThat(nb.activeBytes(false)).isEqualTo(up.rowBytes() + downT.rowBytes());
            assertThat(nb.activeBytes(true)).isEqualTo((withGate ? gate.rowBytes() : 0) + up.rowBytes()
                    + downT.rowBytes());
            for (int i = 0; i < F; i++) {
                assertThat(nb.dotUp(i, x, D)).isEqualTo(Kernels.dotRow(up, i, x, D));
                if (withGate) {
                    assertThat(nb.dotGate(i, x, 0)).isEqualTo(Kernels.dotRow(gate, i, x, 0));
                }
                float[] want = new float[D];
                Kernels.axpyRow(downT, i, 0.7f, want);
                float[] got = new float[D + 5];
                nb.axpyDown(i, 0.7f, got, 5, 0, D);
                assertThat(java.util.Arrays.copyOfRange(got, 5, D + 5)).isEqualTo(want);
            }
            float[] want = x.clone();
            float[] got = x.clone();
            int[] ids = {3, 17, 17, 39};
            float[] a = {0.5f, -1.25f, 2f, 0.125f};
            for (int k = 0; k < 4; k++) {
                nb.axpyDown(ids[k], a[k], want, D, 32, D);
            }
            nb.axpyDown4(ids[0], ids[1], ids[2], ids[3], a[0], a[1], a[2], a[3], got, D, 32, D);
            assertThat(got).isEqualTo(want);
            // one neuron, four tokens: the same bits as one token at a time
            float[] xs = new float[4 * D];
            for (int k = 0; k < xs.length; k++) {
                xs[k] = (float) rnd.nextGaussian();
            }
            for (int i = 0; i < F; i += 7) {
                float[] out = new float[8];
                nb.dotUp4(i, xs, 3 * D, 0, 2 * D, D, out, 7, 1, 4, 0);
                assertThat(out[7]).isEqualTo(nb.dotUp(i, xs, 3 * D));
                assertThat(out[1]).isEqualTo(nb.dotUp(i, xs, 0));
                assertThat(out[4]).isEqualTo(nb.dotUp(i, xs, 2 * D));
                assertThat(out[0]).isEqualTo(nb.dotUp(i, xs, D));
                float[] y1 = xs.clone();
                float[] y4 = xs.clone();
                for (int k = 0; k < 4; k++) {
                    nb.axpyDown(i, a[k], y1, ((k + 1) % 4) * D, 0, D);
                }
                nb.axpyDownTo4(i, a[0], a[1], a[2], a[3], y4, D, 2 * D, 3 * D, 0, 0, D);
                assertThat(y4).isEqualTo(y1);
                if (withGate) {
                    assertThat(nb.dotGate(i, xs, D)).isEqualTo(Kernels.dotRow(gate, i, xs, D));
                    float[] og = new float[8];
                    nb.dotGate4(i, xs, D, 3 * D, 0, 2 * D, og, 2, 6, 3, 5);
                    assertThat(og[2]).isEqualTo(nb.dotGate(i, xs, D));
                    assertThat(og[6]).isEqualTo(nb.dotGate(i, xs, 3 * D));
                    assertThat(og[3]).isEqualTo(nb.dotGate(i, xs, 0));
                    assertThat(og[5]).isEqualTo(nb.dotGate(i, xs, 2 * D));
                }
                int j = (i * 5 + 3) % F;                               // four records anywhere, in any order
                int k = (i * 11 + 17) % F;
                int l = F - 1 - i;
                float[] or = new float[F];
                nb.dotUpRows4(i, j, k, l, xs, 2 * D, or, 0, 1, 2, 3);
                assertThat(or[0]).isEqualTo(nb.dotUp(i, xs, 2 * D));
                assertThat(or[1]).isEqualTo(nb.dotUp(j, xs, 2 * D));
                assertThat(or[2]).isEqualTo(nb.dotUp(k, xs, 2 * D));
                assertThat(or[3]).isEqualTo(nb.dotUp(l, xs, 2 * D));
                if (withGate) {
                    nb.dotGateRows4(l, k, j, i, xs, D, or, 7, 6, 5, 4);
                    assertThat(or[7]).isEqualTo(nb.dotGate(l, xs, D));
                    assertThat(or[6]).isEqualTo(nb.dotGate(k, xs, D));
                    assertThat(or[5]).isEqualTo(nb.dotGate(j, xs, D));
                    assertThat(or[4]).isEqualTo(nb.dotGate(i, xs, D));
                }
            }
        }
    }
}
