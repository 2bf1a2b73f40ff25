package dev.sparsa.infer;

import dev.sparsa.SparsaException;
import dev.sparsa.io.ConfigJson;
import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.model.llama.GoldenWeights;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Quant;
import dev.sparsa.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ExactSparseFfnTest {

    @Test
    void equalsDenseOnAReluModelAndSkipsNeurons() {
        GoldenWeights.Golden g = GoldenWeights.load("llama_relu");
        ModelConfig cfg = ConfigJson.parse("golden", g.config());
        LlamaModel dense = LlamaModel.load(cfg, g.weights(), DenseFfn::new);
        LlamaModel sparse = LlamaModel.load(cfg, g.weights(), ExactSparseFfn::new);
        assertThat(sparse.ffn(0)).isInstanceOf(ExactSparseFfn.class);
        int[] ids = g.allIds();
        int[] active = new int[2];
        int[] total = new int[2];
        List<float[]> hDense = new ArrayList<>();
        List<float[]> hSparse = new ArrayList<>();
        int f = cfg.intermediateSize();
        ActivationTap count = (layer, pos, x, xo, gate, act, h, o) -> {
            for (int i = o; i < o + f; i++) {
                total[0]++;
                if (h[i] != 0f) {
                    active[0]++;
                }
            }
            hSparse.add(java.util.Arrays.copyOfRange(h, o, o + f));
        };
        try (Parallel par = new Parallel(2)) {
            float[] a = dense.forward(dense.newCache(ids.length), ids, true,
                    (layer, pos, x, xo, gate, act, h, o) -> hDense.add(java.util.Arrays.copyOfRange(h, o, o + f)), par);
            float[] b = sparse.forward(sparse.newCache(ids.length), ids, true, count, par);
            float maxD = 0f;
            for (int i = 0; i < a.length; i++) {
                maxD = Math.max(maxD, Math.abs(a[i] - b[i]));
            }
            System.out.printf("exact-sparse vs dense: max |Δlogit| = %.3g, active neurons %.1f%%%n", maxD,
                    100.0 * active[0] / total[0]);
            assertThat(maxD).isLessThanOrEqualTo(1e-5f);
            // the comparison is meaningful: about half the neurons are off and were skipped
            assertThat((double) active[0] / total[0]).isBetween(0.2, 0.8);
            // the tap saw the same intermediates
            assertThat(hSparse).hasSameSizeAs(hDense);
            for (int k = 0; k < hDense.size(); k++) {
                for (int i = 0; i < hDense.get(k).length; i++) {
                    assertThat(hSparse.get(k)[i] == 0f).isEqualTo(hDense.get(k)[i] == 0f);
                }
            }
            // decode path (batch 1) too
            var c1 = dense.newCache(ids.length);
            var c2 = sparse.newCache(ids.length);
            for (int id : ids) {
                float[] d1 = dense.decode(c1, id, ActivationTap.NONE, par);
                float[] d2 = sparse.decode(c2, id, ActivationTap.NONE, par);
                for (int i = 0; i < d1.length; i++) {
                    assertThat(Math.abs(d1[i] - d2[i])).isLessThanOrEqualTo(1e-5f);
                }
            }
        }
        assertThat(sparse.downColumnNorms(1)).containsExactly(dense.downColumnNorms(1));
    }

    @Test
    void tapThatZeroesHIsHonoured() {
        GoldenWeights.Golden g = GoldenWeights.load("llama_relu");
        ModelConfig cfg = ConfigJson.parse("golden", g.config());
        LlamaModel dense = LlamaModel.load(cfg, g.weights(), DenseFfn::new);
        LlamaModel sparse = LlamaModel.load(cfg, g.weights(), ExactSparseFfn::new);
        int f = cfg.intermediateSize();
        ActivationTap keepFirstHalf = (layer, pos, x, xo, gate, act, h, o) -> java.util.Arrays.fill(h, o + f / 2, o + f, 0f);
        int[] ids = g.promptIds();
        try (Parallel par = Parallel.serial()) {
            float[] a = dense.forward(dense.newCache(ids.length), ids, true, keepFirstHalf, par);
            float[] b = sparse.forward(sparse.newCache(ids.length), ids, true, keepFirstHalf, par);
            for (int i = 0; i < a.length; i++) {
                assertThat(Math.abs(a[i] - b[i])).isLessThanOrEqualTo(1e-5f);
            }
        }
    }

    /** Quantized weights: down^T is re-quantized to Q8_0; the error stays within the stated bound. */
    @Test
    void quantizedDownTransposeIsQ8_0WithinItsRoundingBound() {
        int d = 64;
        int f = 128;
        java.util.Random rnd = new java.util.Random(7);
        float[] down = new float[d * f];
        for (int i = 0; i < down.length; i++) {
            down[i] = (float) rnd.nextGaussian() * 0.05f;
        }
        FfnWeights w = new FfnWeights(0, q8("gate", rnd, f, d), q8("up", rnd, f, d), q8("down", down, d, f));
        Activation relu = Activation.of("relu", 0f);
        ExactSparseFfn sparse = new ExactSparseFfn(w, relu);
        ExactSparseFfn exact = new ExactSparseFfn(w, relu, DType.F32);
        DenseFfn dense = new DenseFfn(w, relu);
        assertThat(sparse.downType()).isEqualTo(DType.Q8_0);
        float maxAbs = 0f;
        for (float v : Kernels.toFloats(w.down())) {
            maxAbs = Math.max(maxAbs, Math.abs(v));
        }
        try (Parallel par = new Parallel(2)) {
            for (int t = 0; t < 5; t++) {
                float[] x = new float[d];
                for (int i = 0; i < d; i++) {
                    x[i] = (float) rnd.nextGaussian();
                }
                float[] yd = new float[d];
                float[] ys = new float[d];
                float[] ye = new float[d];
                float[][] h = new float[1][];
                dense.forward(x, 1, t, yd, dense.newActivations(1),
                        (layer, pos, xx, xo, gate, act, hh, o) -> h[0] = java.util.Arrays.copyOfRange(hh, o, o + f), par);
                sparse.forward(x, 1, t, ys, sparse.newActivations(1), ActivationTap.NONE, par);
                exact.forward(x, 1, t, ye, exact.newActivations(1), ActivationTap.NONE, par);
                double sumH = 0;
                for (float v : h[0]) {
                    sumH += Math.abs(v);
                }
                double bound = sumH * maxAbs / 254 + 1e-5; // half a Q8_0 step of the largest block, per weight
                for (int i = 0; i < d; i++) {
                    assertThat((double) Math.abs(ys[i] - yd[i])).as("Q8_0 down^T, y[" + i + "]").isLessThanOrEqualTo(bound);
                    assertThat(Math.abs(ye[i] - yd[i])).as("F32 down^T, y[" + i + "]").isLessThanOrEqualTo(1e-5f);
                }
            }
        }
    }

    /**
     * Split layout (the §1 kernel): the fused one-token path gives the same bits as the batched path (batch 3:
     * row-wise dots) for 1 and 2 threads. (The bundled layout sums the down projection per neuron slice at decode and
     * per output column in a batch: equal within rounding, each bit-identical across thread counts; see
     * BundledSparseFfnTest.)
     */
    @Test
    void oneTokenPathIsBitIdenticalToBatchedPathForAnyThreadCount() {
        int d = 64;
        int f = 256;
        int batch = 3;
        java.util.Random rnd = new java.util.Random(11);
        FfnWeights w = new FfnWeights(0, q8("gate", rnd, f, d), q8("up", rnd, f, d), q8("down", rnd, d, f));
        ExactSparseFfn sparse = new ExactSparseFfn(w, Activation.of("relu", 0f), DType.Q8_0, FfnLayout.SPLIT);
        float[] x = new float[batch * d];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        float[] want = new float[batch * d];
        try (Parallel serial = Parallel.serial()) {
            sparse.forward(x, batch, 0, want, sparse.newActivations(batch), ActivationTap.NONE, serial);
        }
        for (int threads : new int[] {1, 2}) {
            try (Parallel par = new Parallel(threads)) {
                for (int b = 0; b < batch; b++) {
                    float[] y = new float[d];
                    sparse.forward(java.util.Arrays.copyOfRange(x, b * d, (b + 1) * d), 1, b, y,
                            sparse.newActivations(1), ActivationTap.NONE, par);
                    assertThat(y).as("token " + b + ", " + threads + " threads")
                            .isEqualTo(java.util.Arrays.copyOfRange(want, b * d, (b + 1) * d));
                }
            }
        }
    }

    static Tensor q8(String name, java.util.Random rnd, int rows, int cols) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextGaussian() * 0.2f;
        }
        return q8(name, v, rows, cols);
    }

    static Tensor q8(String name, float[] v, int rows, int cols) {
        long rb = DType.Q8_0.bytesFor(cols);
        java.lang.foreign.MemorySegment seg = java.lang.foreign.MemorySegment.ofArray(new byte[(int) (rb * rows)]);
        for (int r = 0; r < rows; r++) {
            Quant.quantize(DType.Q8_0, v, r * cols, cols, seg, r * rb);
        }
        return new Tensor(name, DType.Q8_0, new int[] {rows, cols}, seg);
    }

    @Test
    void refusesNonReluActivations() {
        GoldenWeights.Golden g = GoldenWeights.load("llama_gqa_rope3");
        ModelConfig cfg = ConfigJson.parse("golden", g.config());
        assertThatThrownBy(() -> LlamaModel.load(cfg, g.weights(), ExactSparseFfn::new))
                .isInstanceOf(SparsaException.UnsupportedException.class)
                .hasMessage("layer 0: the exact-sparse FFN needs a ReLU-family activation (relu, relu2, fatrelu), "
                        + "the model uses silu");
    }
}
