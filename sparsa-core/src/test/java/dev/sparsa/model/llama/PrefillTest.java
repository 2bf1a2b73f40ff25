package dev.sparsa.model.llama;

import dev.sparsa.SparsaException;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link LlamaModel#prefill} in chunks against one {@link LlamaModel#forward} of the whole prompt: the last logits
 * and the next decode step agree within summation-order rounding, the cache holds every position, the tap sees every
 * position once, and a chunk that fails leaves the cache as it was.
 */
class PrefillTest {
    @ParameterizedTest
    @CsvSource({"llama_gqa_rope3,5", "llama_gqa_rope3,16", "qwen2_bias_tied,7", "llama_relu,1"})
    void chunkedPrefillEqualsOneForward(String variant, int chunk) {
        LlamaModel m = DecodeBatchTest.model(variant, false);
        int[] prompt = DecodeBatchTest.prompt(36, m.config().vocabSize());   // 37 tokens
        try (Parallel par = new Parallel(2)) {
            KvCache whole = m.newCache(prompt.length + 1);
            float[] want = m.forward(whole, prompt, false, ActivationTap.NONE, par);
            KvCache parts = m.newCache(prompt.length + 1);
            boolean[] seen = new boolean[prompt.length];
            float[] got = m.prefill(parts, prompt, chunk, (layer, pos, x, xo, gate, a, h, o) -> {
                if (layer == 0) {
                    assertThat(seen[pos]).as("position %d tapped once", pos).isFalse();
                    seen[pos] = true;
                }
            }, par);
            assertThat(parts.length()).isEqualTo(prompt.length);
            assertThat(seen).containsOnly(true);
            assertThat(DecodeBatchTest.relDiff(want, got)).isLessThan(DecodeBatchTest.TOL);
            float[] next = m.decode(whole, 3, ActivationTap.NONE, par);
            float[] nextParts = m.decode(parts, 3, ActivationTap.NONE, par);
            assertThat(DecodeBatchTest.relDiff(next, nextParts)).as("the cache holds the same keys and values")
                    .isLessThan(DecodeBatchTest.TOL);
        }
    }

    @ParameterizedTest
    @CsvSource({"4", "0"})
    void aFailingChunkLeavesTheCacheAsItWas(int chunk) {
        LlamaModel m = DecodeBatchTest.model("llama_relu", false);
        try (Parallel par = Parallel.serial()) {
            KvCache c = m.newCache(8);
            m.forward(c, new int[] {1, 2}, false, ActivationTap.NONE, par);
            int[] tooLong = {1, 2, 3, 4, 5, 6, 7};                           // 2 + 7 > 8: the second chunk fails
            if (chunk == 0) {
                assertThatThrownBy(() -> m.prefill(c, tooLong, 0, ActivationTap.NONE, par))
                        .isInstanceOf(SparsaException.UsageException.class).hasMessageContaining("prefill chunk");
            } else {
                assertThatThrownBy(() -> m.prefill(c, tooLong, chunk, ActivationTap.NONE, par))
                        .isInstanceOf(SparsaException.UsageException.class).hasMessageContaining("context full");
            }
            assertThat(c.length()).isEqualTo(2);
        }
    }
}
