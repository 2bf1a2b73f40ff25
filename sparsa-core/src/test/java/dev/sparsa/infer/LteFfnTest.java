package dev.sparsa.infer;

import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static dev.sparsa.infer.SparseKernelsTest.D;
import static dev.sparsa.infer.SparseKernelsTest.F;
import static dev.sparsa.infer.SparseKernelsTest.close;
import static dev.sparsa.infer.SparseKernelsTest.gaussian;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link LteFfn} against a scalar reference: the dense FFN ({@link DenseFfn}) with the h of every expert the router
 * drops set to 0, the selection computed here in double ({@code σ(x·W_r,e) > τ}; the test asserts no score lies
 * within 1e-6 of τ (float σ is good to ~1e-7), so float and double agree). Every dtype, SiLU and ReLU, batch 1..16, 1, 2 and 3 threads (same
 * bits), the tapped path against the untapped one (same bits). With F32 down columns the kernel equals the reference
 * to float rounding (1e-5 of max|y|); with the default Q8_0 columns of quantized sources within their rounding (1e-2).
 * The batch path (the union of the tokens' experts read once) against the one-token path run token by token: the
 * same gate, act and h bits per token, y within float rounding, with a tap that edits h too.
 */
class LteFfnTest {
    static final int S = 8;
    static final int N = F / S;

    static float[] run(LteFfn k, float[] x, int batch, int threads, ActivationTap tap) {
        float[] y = new float[batch * D];
        try (Parallel par = new Parallel(threads)) {
            k.forward(x, batch, 0, y, k.newActivations(batch), tap, par);
        }
        return y;
    }

    /** y of the dense FFN with the unselected experts' h set to 0; counts selected experts into {@code count[0]}. */
    static float[] reference(FfnWeights w, Activation act, float[] router, float tau, float[] x, int batch,
                             long[] count, double[] margin) {
        DenseFfn dense = new DenseFfn(w, act);
        float[] y = new float[batch * D];
        try (Parallel par = Parallel.serial()) {
            dense.forward(x, batch, 0, y, dense.newActivations(batch), (layer, pos, xx, xo, gate, a, h, off) -> {
                for (int e = 0; e < N; e++) {
                    double z = 0;
                    for (int j = 0; j < D; j++) {
                        z += (double) router[e * D + j] * xx[xo + j];
                    }
                    double g = 1 / (1 + Math.exp(-z));
                    margin[0] = Math.min(margin[0], Math.abs(g - tau));
                    if (g > tau) {
                        count[0]++;
                    } else {
                        for (int i = e * S; i < (e + 1) * S; i++) {
                            h[off + i] = 0f;
                        }
                    }
                }
            }, par);
        }
        return y;
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void followsTheRouterOnEveryDtypeBatchAndThreadCount(DType dtype) {
        FfnWeights w = SparseKernelsTest.ffn(dtype, 41);
        Random rnd = new Random(43);
        float[] router = gaussian(rnd, N * D, 1 / Math.sqrt(D));
        float tau = 0.5f;
        boolean quantized = dtype.quantized();
        for (Activation act : new Activation[] {Activation.of("silu", 0f), Activation.of("relu", 0f)}) {
            LteFfn exactDown = new LteFfn(w, act, router, S, tau, DType.F32);
            LteFfn stored = new LteFfn(w, act, router, S, tau, SparseFfnBase.downTypeFor(w));
            long[] count = {0};
            double[] margin = {Double.POSITIVE_INFINITY};
            long tokens = 0;
            for (int batch = 1; batch <= 16; batch++) {
                float[] x = gaussian(rnd, batch * D, 1);
                String what = dtype + " " + act.kind() + " batch " + batch;
                float[] want = reference(w, act, router, tau, x, batch, count, margin);
                tokens += batch;
                float[] got = run(exactDown, x, batch, 2, ActivationTap.NONE);
                close(got, want, 1e-5, what);
                float[] y = run(stored, x, batch, 1, ActivationTap.NONE);
                close(y, want, quantized ? 1e-2 : 1e-5, what + " stored down");
                for (int threads : new int[] {2, 3}) {
                    assertThat(run(stored, x, batch, threads, ActivationTap.NONE)).as(what + ", " + threads
                            + " threads").isEqualTo(y);
                }
                assertThat(run(stored, x, batch, 2, BundledSparseFfnTest.WATCH)).as(what + " tapped").isEqualTo(y);
            }
            assertThat(margin[0]).as("closest score to τ").isGreaterThan(1e-6);
            double share = (double) count[0] / (tokens * N);
            assertThat(share).as("share of experts selected").isBetween(0.2, 0.8);
        }
    }

    /** Records each position's gate, act and h; zeroes h of neuron 3 and sets h of neuron 5 (a tap that edits h). */
    static final class Editing implements ActivationTap {
        final java.util.Map<Integer, float[]> seen = new java.util.HashMap<>();

        @Override
        public void onFfn(int layer, int pos, float[] x, int xo, float[] gate, float[] act, float[] h, int off) {
            h[off + 3] = 0f;
            h[off + 5] = 0.25f;
            float[] rec = new float[3 * F];
            System.arraycopy(gate, off, rec, 0, F);
            System.arraycopy(act, off, rec, F, F);
            System.arraycopy(h, off, rec, 2 * F, F);
            seen.put(pos, rec);
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void batchOfUnionExpertsEqualsTheOneTokenPath(DType dtype) {
        FfnWeights w = SparseKernelsTest.ffn(dtype, 47);
        Random rnd = new Random(53);
        float[] router = gaussian(rnd, N * D, 1 / Math.sqrt(D));
        Activation act = Activation.of("silu", 0f);
        LteFfn k = new LteFfn(w, act, router, S, 0.5f, SparseFfnBase.downTypeFor(w));
        for (int batch = 1; batch <= 16; batch++) {
            float[] x = gaussian(rnd, batch * D, 1);
            float[] want = new float[batch * D];
            Editing one = new Editing();
            for (int b = 0; b < batch; b++) {
                float[] yb = run1(k, java.util.Arrays.copyOfRange(x, b * D, (b + 1) * D), b, one);
                System.arraycopy(yb, 0, want, b * D, D);
            }
            for (int threads = 1; threads <= 3; threads++) {
                String what = dtype + " batch " + batch + ", " + threads + " threads";
                Editing many = new Editing();
                float[] y = new float[batch * D];
                try (Parallel par = new Parallel(threads)) {
                    k.forward(x, batch, 0, y, k.newActivations(batch), many, par);
                }
                close(y, want, 1e-5, what + " tapped");
                for (int b = 0; b < batch; b++) {
                    assertThat(many.seen.get(b)).as(what + " token " + b + " gate, act, h").isEqualTo(one.seen.get(b));
                }
                float[] untapped = run(k, x, batch, threads, ActivationTap.NONE);
                float[] wantUntapped = new float[batch * D];
                for (int b = 0; b < batch; b++) {
                    float[] yb = run1(k, java.util.Arrays.copyOfRange(x, b * D, (b + 1) * D), b, ActivationTap.NONE);
                    System.arraycopy(yb, 0, wantUntapped, b * D, D);
                }
                close(untapped, wantUntapped, 1e-5, what);
            }
        }
    }

    static float[] run1(LteFfn k, float[] x, int pos, ActivationTap tap) {
        float[] y = new float[D];
        try (Parallel par = Parallel.serial()) {
            k.forward(x, 1, pos, y, k.newActivations(1), tap, par);
        }
        return y;
    }

    /** A replayed selection ({@link LteFfn.Selection}) replaces the router's: dense with the other experts masked. */
    @org.junit.jupiter.api.Test
    void replayedSelectionReplacesTheRouters() {
        FfnWeights w = SparseKernelsTest.ffn(DType.F32, 59);
        Random rnd = new Random(61);
        float[] router = gaussian(rnd, N * D, 1 / Math.sqrt(D));
        Activation act = Activation.of("silu", 0f);
        LteFfn.Selection sel = (pos, e) -> (pos + 2 * e) % 3 == 0;
        LteFfn k = new LteFfn(w, act, router, S, 0.5f, DType.F32, sel);
        DenseFfn dense = new DenseFfn(w, act);
        for (int batch = 1; batch <= 6; batch++) {
            float[] x = gaussian(rnd, batch * D, 1);
            int pos0 = 5;
            float[] want = new float[batch * D];
            try (Parallel par = Parallel.serial()) {
                dense.forward(x, batch, pos0, want, dense.newActivations(batch), (layer, pos, xx, xo, gate, a, h, off)
                        -> {
                    for (int e = 0; e < N; e++) {
                        if (!sel.selected(pos, e)) {
                            java.util.Arrays.fill(h, off + e * S, off + (e + 1) * S, 0f);
                        }
                    }
                }, par);
            }
            float[] y = new float[batch * D];
            try (Parallel par = new Parallel(2)) {
                k.forward(x, batch, pos0, y, k.newActivations(batch), ActivationTap.NONE, par);
            }
            close(y, want, 1e-5, "replayed batch " + batch);
        }
    }
}
