package dev.sparsa.perf;

import dev.sparsa.infer.ExactSparseFfn;
import dev.sparsa.infer.Sampler;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SynthTest {

    @Test
    void writesALoadableModelWithGgufTokenizerAndCalibratedFatrelu(@TempDir Path tmp) {
        Synth.Shape s = Synth.SHAPES.get("tiny");
        List<String> log = new ArrayList<>();
        Synth.Result r = Synth.write(new Synth.Options(s, DType.BF16, DType.Q8_0, "fatrelu", 0.9, 3), tmp.resolve("m"),
                log::add);
        assertThat(r.config().hiddenAct()).isEqualTo("fatrelu");
        assertThat(r.calibratedSparsity()).isBetween(0.85, 0.95);

        Tokenizer tok = TokenizerJson.load(r.dir().resolve(ModelFiles.TOKENIZER));
        int[] ids = tok.encode("hello world, sparse models", true);
        assertThat(ids[0]).isEqualTo(1);
        assertThat(tok.decode(ids, true)).isEqualTo("hello world, sparse models");
        BenchPrompt p = BenchPrompt.of(tok, 40, 7);
        assertThat(p.ids()).hasSize(40);

        try (ModelFiles st = ModelFiles.open(r.dir()); ModelFiles gg = ModelFiles.open(r.gguf());
             Parallel par = new Parallel(2)) {
            assertThat(gg.config().hiddenAct()).isEqualTo("fatrelu");
            assertThat(gg.config().fatreluThreshold()).isEqualTo(r.config().fatreluThreshold());
            LlamaModel dense = LlamaModel.load(st.config(), st.weights());
            LlamaModel sparse = LlamaModel.load(gg.config(), gg.weights(), ExactSparseFfn::new);
            int[] ids2 = p.ids();
            float[] a = dense.forward(dense.newCache(ids2.length), ids2, false, dev.sparsa.model.ActivationTap.NONE, par);
            float[] b = sparse.forward(sparse.newCache(ids2.length), ids2, false, dev.sparsa.model.ActivationTap.NONE, par);
            for (float v : a) {
                assertThat(Float.isFinite(v)).isTrue();
            }
            assertThat(Sampler.argmax(b)).isBetween(0, s.vocab() - 1);
            ActivityTap tap = ActivityTap.record(sparse, new int[] {1, 5, 9}, 4, par);
            assertThat(tap.activeFraction(sparse)).isBetween(0.02, 0.3);
            double dense0 = DecodeBytes.dense(gg, 8);
            assertThat(DecodeBytes.sparse(gg, sparse, tap, 8)).isLessThan(dense0);
        }
        // same options again: reused, not rewritten
        Synth.Result again = Synth.ensure(new Synth.Options(s, DType.BF16, DType.Q8_0, "fatrelu", 0.9, 3),
                tmp.resolve("m"), log::add);
        assertThat(again.reused()).isTrue();
        assertThat(again.config().fatreluThreshold()).isEqualTo(r.config().fatreluThreshold());
    }
}
