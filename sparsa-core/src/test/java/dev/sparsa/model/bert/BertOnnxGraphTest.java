package dev.sparsa.model.bert;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.sparsa.SparsaException.FormatException;
import dev.sparsa.io.onnx.OnnxModel;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The graph-walking mapper on exports that differ from MiniLM's (fused LayerNormalization and Gelu, scale on Q,
 * constant Reshape shapes, Gelu-tanh and ReLU), each checked against ONNX Runtime running the same bytes.
 */
class BertOnnxGraphTest {

    @ParameterizedTest
    @CsvSource({"gelu, gelu", "gelu_tanh, gelu_new", "relu, relu"})
    void fusedOpExportMatchesOnnxRuntime(String op, String hiddenAct) throws Exception {
        byte[] bytes = TinyBertOnnx.build(7, op, false);
        BertModel model = BertModel.fromOnnx(OnnxModel.parse("tiny-bert.onnx", bytes));
        ModelConfig c = model.config();
        assertThat(new int[]{c.hiddenSize(), c.numHeads(), c.headDim(), c.intermediateSize(), c.numLayers(),
                c.vocabSize(), c.maxPositions(), c.typeVocabSize()}).containsExactly(8, 2, 4, 16, 2, 20, 16, 2);
        assertThat(c.hiddenAct()).isEqualTo(hiddenAct);
        assertThat(c.normEps()).isEqualTo(1e-12f);
        assertThat(model.weights().attnScale()).isEqualTo(0.5f);

        // a padded batch with both token types
        Random r = new Random(3);
        int nb = 3;
        int t = 11;
        int[] lens = {11, 6, 1};
        int[][] ids = new int[nb][t];
        int[][] mask = new int[nb][t];
        int[][] types = new int[nb][t];
        long[][] lids = new long[nb][t];
        long[][] lmask = new long[nb][t];
        long[][] ltypes = new long[nb][t];
        for (int b = 0; b < nb; b++) {
            for (int i = 0; i < t; i++) {
                ids[b][i] = i < lens[b] ? r.nextInt(TinyBertOnnx.VOCAB) : 0;
                mask[b][i] = i < lens[b] ? 1 : 0;
                types[b][i] = i >= lens[b] / 2 && i < lens[b] ? 1 : 0;
                lids[b][i] = ids[b][i];
                lmask[b][i] = mask[b][i];
                ltypes[b][i] = types[b][i];
            }
        }
        float[][] ours;
        try (Parallel par = new Parallel(2)) {
            ours = model.lastHiddenStates(new BertModel.Batch(ids, mask, types), par);
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(bytes, new OrtSession.SessionOptions());
             OnnxTensor a = OnnxTensor.createTensor(env, lids);
             OnnxTensor m = OnnxTensor.createTensor(env, lmask);
             OnnxTensor y = OnnxTensor.createTensor(env, ltypes);
             OrtSession.Result res = s.run(Map.of("input_ids", a, "attention_mask", m, "token_type_ids", y))) {
            float[][][] ref = (float[][][]) res.get(0).getValue();
            float worst = 0;
            for (int b = 0; b < nb; b++) {
                for (int i = 0; i < lens[b]; i++) {
                    for (int j = 0; j < TinyBertOnnx.D; j++) {
                        worst = Math.max(worst, Math.abs(ours[b][i * TinyBertOnnx.D + j] - ref[b][i][j]));
                    }
                }
            }
            System.out.printf("BertOnnxGraphTest %s: max |Δ| vs ONNX Runtime = %.3g (output scale %.3g)%n", op, worst,
                    Math.abs(ref[0][0][0]));
            assertThat(worst).as("max |Δ| vs ONNX Runtime (%s)", op).isLessThanOrEqualTo(1e-5f);
        }
    }

    @Test
    void aGraphThatIsNotBertFailsWithTheValueWhereTheWalkStopped() {
        byte[] bytes = TinyBertOnnx.build(7, "gelu", true);
        try (OnnxModel m = OnnxModel.parse("broken.onnx", bytes)) {
            assertThatThrownBy(() -> BertModel.fromOnnx(m)).isInstanceOf(FormatException.class)
                    .hasMessage("broken.onnx: not a BERT encoder graph: layer 1 output: no residual Add of "
                            + "'l1_out_y' and 'l1_ln1'");
        }
    }

    @Test
    void describeFindsTheArchitectureWithoutLoadingAndFailsAsLoadDoes() {
        for (String act : new String[]{"gelu", "gelu_tanh", "relu"}) {
            try (OnnxModel m = OnnxModel.parse("tiny.onnx", TinyBertOnnx.build(7, act, false))) {
                ModelConfig described = BertModel.describeOnnx(m);
                assertThat(described).isEqualTo(BertModel.fromOnnx(m).config());
                assertThat(described.numLayers()).isEqualTo(TinyBertOnnx.LAYERS);
                assertThat(described.hiddenSize()).isEqualTo(TinyBertOnnx.D);
                assertThat(described.numHeads()).isEqualTo(TinyBertOnnx.HEADS);
                assertThat(described.intermediateSize()).isEqualTo(TinyBertOnnx.F);
            }
        }
        try (OnnxModel m = OnnxModel.parse("broken.onnx", TinyBertOnnx.build(7, "gelu", true))) {
            assertThatThrownBy(() -> BertModel.describeOnnx(m)).isInstanceOf(FormatException.class)
                    .hasMessage("broken.onnx: not a BERT encoder graph: layer 1 output: no residual Add of "
                            + "'l1_out_y' and 'l1_ln1'");
        }
    }
}
