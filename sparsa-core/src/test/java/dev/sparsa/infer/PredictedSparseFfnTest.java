package dev.sparsa.infer;

import dev.sparsa.SparsaException;
import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PredictedSparseFfnTest {
    static final int D = 64;
    static final int F = 96;

    static FfnWeights weights(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        return new FfnWeights(0, Tensor.f32("gate", rand(r, F * D), F, D), Tensor.f32("up", rand(r, F * D), F, D),
                Tensor.f32("down", rand(r, D * F), D, F));
    }

    static float[] rand(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1) * 0.2f;
        }
        return a;
    }

    @Test
    void fullRankPredictorEqualsDense() {
        FfnWeights w = weights(1);
        Activation act = Activation.of("fatrelu", 0.5f);
        PredictedSparseFfn p = new PredictedSparseFfn(w, act, D, 0.5, 3);
        DenseFfn dense = new DenseFfn(w, act);
        assertThat(p.calibrationRecall()).isGreaterThan(0.99);
        float[] x = rand(new SplittableRandom(9), 3 * D);
        for (int i = 0; i < x.length; i++) {
            x[i] *= 5;                                      // RMS ~ 0.6
        }
        float[] a = new float[3 * D];
        float[] b = new float[3 * D];
        try (Parallel par = new Parallel(2)) {
            dense.forward(x, 3, 0, a, dense.newActivations(3), ActivationTap.NONE, par);
            p.forward(x, 3, 0, b, p.newActivations(3), ActivationTap.NONE, par);
        }
        for (int i = 0; i < a.length; i++) {
            assertThat(b[i]).isCloseTo(a[i], org.assertj.core.data.Offset.offset(1e-4f));
        }
    }

    @Test
    void lowRankKeepsOnlyTrueActiveNeurons() {
        FfnWeights w = weights(2);
        Activation act = Activation.of("fatrelu", 0.5f);
        PredictedSparseFfn p = new PredictedSparseFfn(w, act, 4, 0.3, 3);
        float[] x = rand(new SplittableRandom(5), D);
        for (int i = 0; i < x.length; i++) {
            x[i] *= 5;
        }
        float[] gate = new float[F];
        dev.sparsa.tensor.Kernels.matvec(w.gate(), x, gate, Parallel.serial());
        ActivationTap check = (layer, pos, xx, xo, g, a, h, o) -> {
            for (int i = 0; i < F; i++) {
                if (a[o + i] != 0f) {                       // precision is exact: kept ⇒ truly active, same value
                    assertThat(a[o + i]).isCloseTo(act.apply(gate[i]), org.assertj.core.data.Offset.offset(1e-5f));
                }
            }
        };
        p.forward(x, 1, 0, new float[D], p.newActivations(1), check, Parallel.serial());
        assertThat(p.calibrationRecall()).isBetween(0.0, 1.0);
    }

    @Test
    void refusesSilu() {
        assertThatThrownBy(() -> new PredictedSparseFfn(weights(1), Activation.of("silu", 0f), 4, 0.3, 1))
                .isInstanceOf(SparsaException.UnsupportedException.class);
    }
}
