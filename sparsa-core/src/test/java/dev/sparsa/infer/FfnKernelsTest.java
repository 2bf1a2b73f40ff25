package dev.sparsa.infer;

import dev.sparsa.SparsaException;
import dev.sparsa.model.Activation;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The one lookup of FFN kernels by their --ffn name. */
class FfnKernelsTest {

    static Tensor random(String name, int rows, int cols, long seed) {
        Random r = new Random(seed);
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return Tensor.f32(name, v, rows, cols);
    }

    @Test
    void everyNameBuildsItsKernelAndOthersAreAUsageError() {
        FfnWeights w = new FfnWeights(0, random("g", 128, 64, 1), random("u", 128, 64, 2), random("d", 64, 128, 3));
        Activation relu = Activation.of("relu", 0f);
        assertThat(FfnKernels.NAMES).containsExactly("dense", "exact-sparse", "exact-sparse-split",
                "predicted-sparse");
        assertThat(FfnKernels.byName("dense").create(w, relu)).isInstanceOf(DenseFfn.class);
        assertThat(FfnKernels.byName("exact-sparse").create(w, relu)).isInstanceOf(ExactSparseFfn.class);
        assertThat(((ExactSparseFfn) FfnKernels.byName("exact-sparse").create(w, relu)).layout())
                .isEqualTo(FfnLayout.BUNDLED);
        assertThat(((ExactSparseFfn) FfnKernels.byName("exact-sparse-split").create(w, relu)).layout())
                .isEqualTo(FfnLayout.SPLIT);
        assertThat(FfnKernels.byName("predicted-sparse").create(w, relu)).isInstanceOf(PredictedSparseFfn.class);
        assertThatThrownBy(() -> FfnKernels.byName("magic")).isInstanceOf(SparsaException.UsageException.class)
                .hasMessage("--ffn must be one of dense, exact-sparse, exact-sparse-split, predicted-sparse, got magic");
    }
}
