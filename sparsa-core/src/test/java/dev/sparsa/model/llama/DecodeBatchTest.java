package dev.sparsa.model.llama;

import dev.sparsa.SparsaException;
import dev.sparsa.infer.ExactSparseFfn;
import dev.sparsa.io.ConfigJson;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link LlamaModel#decodeBatch} against one-by-one {@link LlamaModel#decode} on separate caches: every row's logits
 * at every step, for batch sizes that take each matmul path (B = 1 matvec, 3 row dots, 6 tiled, 50 ≥
 * Gemm.MATMUL_MIN_BATCH), sequences at different positions, with biases and tied embeddings (qwen2), llama3 RoPE
 * scaling and GQA (llama_gqa_rope3), and the exact-sparse FFN kernel (llama_relu).
 */
class DecodeBatchTest {
    /** Measured max |Δ| / max(1, max |logit|): 0 at B = 3, ≤ 5e-7 at B = 6 and 50 (summation order only). */
    static final float TOL = 2e-5f;

    static LlamaModel model(String variant, boolean sparse) {
        GoldenWeights.Golden g = GoldenWeights.load(variant);
        FfnKernel.Factory f = sparse ? ExactSparseFfn::new : DenseFfn::new;
        return LlamaModel.load(ConfigJson.parse("golden", g.config()), g.weights(), f);
    }

    /** Prompt of sequence s: s + 1 tokens (positions differ per row). */
    static int[] prompt(int s, int vocab) {
        int[] p = new int[s % 40 + 1];
        for (int i = 0; i < p.length; i++) {
            p[i] = (7 * s + 13 * i + 1) % vocab;
        }
        return p;
    }

    @ParameterizedTest
    @CsvSource({"llama_gqa_rope3,false,1", "llama_gqa_rope3,false,3", "llama_gqa_rope3,false,6",
            "llama_gqa_rope3,false,50", "qwen2_bias_tied,false,6", "llama_relu,true,6", "llama_relu,true,50"})
    void batchedStepsEqualOneByOneDecode(String variant, boolean sparse, int batch) {
        LlamaModel m = model(variant, sparse);
        int vocab = m.config().vocabSize();
        try (Parallel par = new Parallel(2)) {
            KvCache[] ref = new KvCache[batch];
            KvCache[] bat = new KvCache[batch];
            int[] next = new int[batch];
            for (int s = 0; s < batch; s++) {
                int[] p = prompt(s, vocab);
                ref[s] = m.newCache(p.length + 8);
                bat[s] = m.newCache(p.length + 8);
                next[s] = argmax(m.forward(ref[s], p, false, ActivationTap.NONE, par), 0, vocab);
                m.forward(bat[s], p, false, ActivationTap.NONE, par);
            }
            LlamaState ws = m.newBatchState(batch);
            for (int step = 0; step < 6; step++) {
                float[] got = m.decodeBatch(bat, next, ws, ActivationTap.NONE, par);
                assertThat(got).hasSize(batch * vocab);
                for (int s = 0; s < batch; s++) {
                    float[] want = m.decode(ref[s], next[s], ActivationTap.NONE, par);
                    float[] row = Arrays.copyOfRange(got, s * vocab, (s + 1) * vocab);
                    if (batch == 1) {
                        assertThat(row).as("B = 1 is decode, bit for bit").isEqualTo(want);
                    } else {
                        assertThat(relDiff(want, row)).as("step %d, sequence %d", step, s).isLessThanOrEqualTo(TOL);
                    }
                    assertThat(bat[s].length()).isEqualTo(ref[s].length());
                    next[s] = argmax(want, 0, vocab);              // both follow the reference tokens
                }
            }
        }
    }

    @Test
    void sequencesJoinLeaveAndReorderBetweenSteps() {
        LlamaModel m = model("llama_gqa_rope3", false);
        int vocab = m.config().vocabSize();
        try (Parallel par = new Parallel(2)) {
            int n = 5;
            KvCache[] ref = new KvCache[n];
            KvCache[] bat = new KvCache[n];
            int[] next = new int[n];
            for (int s = 0; s < n; s++) {
                int[] p = prompt(3 * s, vocab);
                ref[s] = m.newCache(40);
                bat[s] = m.newCache(40);
                next[s] = argmax(m.forward(ref[s], p, false, ActivationTap.NONE, par), 0, vocab);
                m.forward(bat[s], p, false, ActivationTap.NONE, par);
            }
            LlamaState ws = m.newBatchState(n);
            int[][] steps = {{0, 1, 2}, {1, 2}, {2, 0, 1, 3}, {4}, {4, 3, 2, 1, 0}, {0, 4}};
            for (int[] rows : steps) {
                KvCache[] caches = new KvCache[rows.length];
                int[] ids = new int[rows.length];
                for (int i = 0; i < rows.length; i++) {
                    caches[i] = bat[rows[i]];
                    ids[i] = next[rows[i]];
                }
                float[] got = m.decodeBatch(caches, ids, ws, ActivationTap.NONE, par);
                for (int i = 0; i < rows.length; i++) {
                    int s = rows[i];
                    float[] want = m.decode(ref[s], next[s], ActivationTap.NONE, par);
                    assertThat(relDiff(want, Arrays.copyOfRange(got, i * vocab, (i + 1) * vocab)))
                            .as("sequence %d", s).isLessThanOrEqualTo(TOL);
                    next[s] = argmax(want, 0, vocab);
                }
            }
        }
    }

    @Test
    void tapSeesEachRowAtItsOwnPosition() {
        LlamaModel m = model("llama_relu", false);
        try (Parallel par = Parallel.serial()) {
            KvCache a = m.newCache(10);
            KvCache b = m.newCache(10);
            m.forward(a, new int[] {1, 2, 3}, false, ActivationTap.NONE, par);
            m.forward(b, new int[] {4}, false, ActivationTap.NONE, par);
            List<String> seen = new ArrayList<>();
            ActivationTap tap = (layer, pos, x, xo, gate, act, h, o) -> seen.add(layer + "@" + pos + "/" + xo);
            m.decodeBatch(new KvCache[] {a, b}, new int[] {5, 6}, m.newBatchState(2), tap, par);
            assertThat(seen).containsExactly("0@3/0", "0@1/64", "1@3/0", "1@1/64");
        }
    }

    @Test
    void badBatchesAreClearErrorsAndLeaveEveryCacheAsItWas() {
        LlamaModel m = model("llama_relu", false);
        try (Parallel par = Parallel.serial()) {
            KvCache a = m.newCache(4);
            KvCache full = m.newCache(2);
            m.forward(a, new int[] {1, 2}, false, ActivationTap.NONE, par);
            m.forward(full, new int[] {1, 2}, false, ActivationTap.NONE, par);
            LlamaState ws = m.newBatchState(2);
            assertThatThrownBy(() -> m.decodeBatch(new KvCache[] {a, full}, new int[] {3, 3}, ws, ActivationTap.NONE,
                    par)).isInstanceOf(SparsaException.UsageException.class)
                    .hasMessage("context full: sequence 1 has 2 of 2 positions (raise the max context)");
            assertThat(a.length()).isEqualTo(2);
            assertThatThrownBy(() -> m.decodeBatch(new KvCache[] {a, a}, new int[] {3, 3}, ws, ActivationTap.NONE,
                    par)).hasMessage("KV cache 1 is also cache 0: one cache per sequence");
            assertThatThrownBy(() -> m.decodeBatch(new KvCache[] {a}, new int[] {3, 3}, ws, ActivationTap.NONE, par))
                    .hasMessage("decodeBatch needs one cache per token, got 1 caches for 2 tokens");
            assertThatThrownBy(() -> m.decodeBatch(new KvCache[] {a}, new int[] {512}, ws, ActivationTap.NONE, par))
                    .hasMessageContaining("token id 512 is outside the vocabulary");
            KvCache c = m.newCache(4);
            KvCache d = m.newCache(4);
            KvCache e = m.newCache(4);
            assertThatThrownBy(() -> m.decodeBatch(new KvCache[] {c, d, e}, new int[] {1, 2, 3}, ws,
                    ActivationTap.NONE, par)).hasMessage("batch workspace holds 2 rows, need 3 (use newBatchState)");
            assertThat(a.length()).isEqualTo(2);
            assertThat(c.length()).isZero();
            m.decodeBatch(new KvCache[] {a}, new int[] {3}, ws, ActivationTap.NONE, par);   // still usable
            assertThat(a.length()).isEqualTo(3);
        }
    }

    static float relDiff(float[] want, float[] got) {
        float max = 1f;
        float diff = 0f;
        for (int i = 0; i < want.length; i++) {
            max = Math.max(max, Math.abs(want[i]));
            diff = Math.max(diff, Math.abs(want[i] - got[i]));
        }
        return diff / max;
    }

    static int argmax(float[] v, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (v[off + i] > v[off + best]) {
                best = i;
            }
        }
        return best;
    }
}
