package dev.sparsa.io;

import dev.sparsa.SparsaException;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Quant;
import dev.sparsa.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The one random-weight maker: value statistics, determinism per (seed, name), every dtype, a whole decoder. */
class RandomWeightsTest {

    @Test
    void valuesAreUniformWithStd002AndDependOnlyOnSeedAndName() {
        try (Arena arena = Arena.ofConfined()) {
            float[] v = Kernels.toFloats(RandomWeights.matrix("a", DType.F32, 200, 500, 1, arena));
            double s = 0;
            double ss = 0;
            float bound = (float) (0.02 * Math.sqrt(3));
            for (float x : v) {
                assertThat(Math.abs(x)).isLessThanOrEqualTo(bound);
                s += x;
                ss += (double) x * x;
            }
            double mean = s / v.length;
            double std = Math.sqrt(ss / v.length - mean * mean);
            assertThat(mean).isBetween(-2e-4, 2e-4);
            assertThat(std).isBetween(0.0198, 0.0202);

            float[] again = Kernels.toFloats(RandomWeights.matrix("a", DType.F32, 200, 500, 1, arena));
            float[] otherName = Kernels.toFloats(RandomWeights.matrix("b", DType.F32, 200, 500, 1, arena));
            float[] otherSeed = Kernels.toFloats(RandomWeights.matrix("a", DType.F32, 200, 500, 2, arena));
            assertThat(again).isEqualTo(v);
            assertThat(otherName).isNotEqualTo(v);
            assertThat(otherSeed).isNotEqualTo(v);
        }
    }

    @Test
    void everyDtypeHoldsTheF32ValuesAsQuantQuantizesThem() {
        try (Arena arena = Arena.ofConfined()) {
            int rows = 3;
            int cols = 64;
            float[] f = Kernels.toFloats(RandomWeights.matrix("w", DType.F32, rows, cols, 5, arena));
            for (DType dt : DType.values()) {
                Tensor t = RandomWeights.matrix("w", dt, rows, cols, 5, arena);
                MemorySegment want = arena.allocate(dt.bytesFor((long) rows * cols));
                for (int r = 0; r < rows; r++) {
                    Quant.quantize(dt, f, r * cols, cols, want, r * dt.bytesFor(cols));
                }
                assertThat(t.shape()).containsExactly(rows, cols);
                assertThat(t.data().mismatch(want)).as(dt.name()).isEqualTo(-1L);
            }
            assertThatThrownBy(() -> RandomWeights.matrix("w", DType.Q8_0, 2, 48, 1, arena))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multiple of the Q8_0 block");
        }
    }

    @Test
    void aDecoderHasEveryTensorTheConfigNamesWithNormsOne() {
        ModelConfig cfg = new ModelConfig("qwen2", 64, 96, 2, 4, 2, 16, 40, 128, 1e-6f, 1e6f, null, "silu", 0f, true,
                true, 0, -1, 3);
        try (Arena arena = Arena.ofConfined()) {
            MapWeights w = RandomWeights.decoder(cfg, DType.BF16, 9, arena);
            assertThat(w.names()).containsExactlyElementsOf(ModelFiles.decoderTensors(cfg).keySet());
            for (var e : ModelFiles.decoderTensors(cfg).entrySet()) {
                Tensor t = w.tensor(e.getKey());
                assertThat(t.shape()).as(e.getKey()).isEqualTo(e.getValue());
                assertThat(t.dtype()).isEqualTo(DType.BF16);
            }
            assertThat(Kernels.toFloats(w.tensor("model.norm.weight"))).containsOnly(1f);
            float[] bias = Kernels.toFloats(w.tensor("model.layers.0.self_attn.q_proj.bias"));
            assertThat(bias).doesNotContain(1f).hasSize(64);
            assertThatThrownBy(() -> w.tensor("lm_head.weight")).isInstanceOf(SparsaException.FormatException.class)
                    .hasMessageContaining("missing tensor lm_head.weight");
        }
    }
}
