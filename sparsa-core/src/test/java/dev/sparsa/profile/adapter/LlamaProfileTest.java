package dev.sparsa.profile.adapter;

import dev.sparsa.profile.ProfileOptions;
import dev.sparsa.profile.ProfileResults;
import dev.sparsa.profile.Profiler;
import dev.sparsa.profile.ProgressListener;
import dev.sparsa.profile.Windows;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The decoder path (PPL, PPL-p%) through the Llama adapter, on a tiny random ReLU Llama. */
class LlamaProfileTest {

    @Test
    void reluLlamaGetsPerplexityAndPplPercentSparsity() {
        ModelConfig cfg = new ModelConfig("llama", 64, 176, 2, 4, 2, 16, 512, 128, 1e-5f, 10000f, null, "relu", 0f,
                false, false, 0, 1, 2);
        try (Parallel par = new Parallel(2)) {
            LlamaProfiledModel m = LlamaProfiledModel.random(cfg, 3, 32, par);
            assertThat(m.contextLength()).isEqualTo(32);
            Random r = new Random(1);
            List<int[]> ws = new ArrayList<>();
            for (int w = 0; w < 8; w++) {
                int[] ids = new int[32];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = 3 + r.nextInt(500);
                }
                ws.add(ids);
            }
            Windows win = new Windows(ws, 256, 1024, 32);
            ProfileOptions o = ProfileOptions.defaults().withTokens(256).withCalibrationTokens(64).withEvalTokens(64)
                    .withBisectionSteps(3).withPredictor(8, 2, 64);
            ProfileResults res = new Profiler(m, o, par, ProgressListener.NONE).run(win, "random ids", 1024);
            // No tokenizer, so no BOS: 31 predictions per window. Weights of std 0.02 give near-uniform logits.
            assertThat(res.dense().predicted()).isEqualTo(8 * 31);
            assertThat(res.dense().ppl()).isBetween(400.0, 650.0);
            assertThat(res.dense().bitsPerByte()).isEqualTo(res.dense().nll() * 248 / Math.log(2) / 1024);
            for (ProfileResults.Layer l : res.layers()) {
                assertThat(l.zeroSparsity().mean()).isBetween(0.3, 0.7);
                assertThat(l.deadNeurons().rate().mean()).isEqualTo(l.zeroSparsity().mean());
            }
            assertThat(res.qualitySparsity().metric()).isEqualTo("ppl");
            for (ProfileResults.Target t : res.qualitySparsity().targets()) {
                assertThat(t.point().degradation()).isLessThanOrEqualTo(t.p() / 100);
                assertThat(t.point().quality()).isLessThanOrEqualTo(res.qualitySparsity().dense() * (1 + t.p() / 100));
            }
            assertThat(res.predictivity().metric()).isEqualTo("ppl");
        }
    }
}
