package dev.sparsa.train;

import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

/**
 * {@link FfnGradients}: the h and ∂L/∂h it hands out, for both label kinds, against central finite differences of
 * the loss recomputed in double by {@link DoubleLlama} with h perturbed in place (an independent forward), on a tiny
 * random ReLU model (2 layers, FFN 24, one window of 7 tokens). The tolerance is the whole-model backward test's.
 */
class FfnGradientsTest {
    static final int T = 6;

    @ParameterizedTest
    @EnumSource(FfnGradients.Labels.class)
    void gradientsOfHAreThoseOfTheDoubleLoss(FfnGradients.Labels labels) {
        ModelConfig cfg = BackpropFiniteDifferenceTest.config("llama", "relu", 0f, false);
        try (Arena arena = Arena.ofShared(); Parallel par = new Parallel(2)) {
            LlamaParams p = BackpropFiniteDifferenceTest.randomModel(cfg, 11, arena);
            int[] ids = new SplittableRandom(12).ints(T + 1, 0, cfg.vocabSize()).toArray();
            int f = cfg.intermediateSize();
            float[][] h = new float[cfg.numLayers()][];
            float[][] g = new float[cfg.numLayers()][];
            double ce;
            try (FfnGradients fg = new FfnGradients(p.weights())) {
                ce = fg.run(ids, ids.length, labels, par, (layer, hh, gg, rows, ff) -> {
                    assertThat(rows).isEqualTo(T);
                    assertThat(ff).isEqualTo(f);
                    h[layer] = java.util.Arrays.copyOf(hh, rows * ff);
                    g[layer] = java.util.Arrays.copyOf(gg, rows * ff);
                });
            }
            DoubleLlama ref = new DoubleLlama(p);
            if (labels == FfnGradients.Labels.GREEDY) {
                ref.targets = greedy(p, ids, par);
            }
            double base = ref.loss(ids, 1, T, null, 0, 0);
            assertThat(ce).isCloseTo(base, offset(1e-5));
            if (labels == FfnGradients.Labels.GREEDY) {
                assertThat(ce).as("CE against the model's own argmax is below CE of random text").isLessThan(3.0);
            }
            SplittableRandom rnd = new SplittableRandom(13);
            for (int l = 0; l < cfg.numLayers(); l++) {
                int best = 0;
                double scale = 0;
                for (int k = 0; k < g[l].length; k++) {
                    if (Math.abs(g[l][k]) > Math.abs(g[l][best])) {
                        best = k;
                    }
                    scale = Math.max(scale, Math.abs(g[l][k]));
                }
                assertThat(scale).as("layer " + l + " gradient").isGreaterThan(1e-4);
                int[] picks = {best, rnd.nextInt(T * f), rnd.nextInt(T * f), rnd.nextInt(T * f), rnd.nextInt(T * f)};
                for (int k : picks) {
                    ref.hLayer = l;
                    ref.hRow = k / f;
                    ref.hNeuron = k % f;
                    double d = 1e-6;
                    ref.delta = d;
                    double up = ref.loss(ids, 1, T, null, 0, 0);
                    ref.delta = -d;
                    double down = ref.loss(ids, 1, T, null, 0, 0);
                    double fd = (up - down) / (2 * d);
                    assertThat((double) g[l][k]).as("∂L/∂h layer %d row %d neuron %d", l, k / f, k % f)
                            .isCloseTo(fd, offset(1e-4 * scale + 1e-8));
                }
                ref.hLayer = -1;
            }
            // h is the forward's: at the unperturbed point both forwards agree on the loss, and ReLU zeros are exact
            long zeros = 0;
            for (float[] hl : h) {
                for (float v : hl) {
                    zeros += v == 0f ? 1 : 0;
                }
            }
            assertThat(zeros).as("ReLU model: some h are exactly 0").isPositive();
        }
    }

    // the float model's argmax at each of the T positions
    static int[] greedy(LlamaParams p, int[] ids, Parallel par) {
        float[] logits = new Backprop(p, 1, T).forward(ids, 0, par);
        int v = p.config().vocabSize();
        int[] out = new int[T];
        for (int r = 0; r < T; r++) {
            int b = 0;
            for (int c = 1; c < v; c++) {
                if (logits[r * v + c] > logits[r * v + b]) {
                    b = c;
                }
            }
            out[r] = b;
        }
        return out;
    }
}
