package dev.sparsa.model.llama;

import dev.sparsa.io.LlamaGguf;
import dev.sparsa.spec.RopeStyle;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class RopeTest {
    /**
     * INTERLEAVED RoPE on rows permuted as llama.cpp's converter does (HF → GGUF) gives, bit for bit, HALF RoPE on
     * the HF rows, permuted the same way: the two layouts are one rotation.
     */
    @Test
    void interleavedOnGgufOrderIsHalfOnHfOrderPermuted() {
        Random r = new Random(7);
        for (int headDim : new int[] {2, 6, 16, 64, 128}) {
            int heads = 3;
            int n = heads * headDim;
            float[] inv = Rope.defaultInvFreq(500000f, headDim);
            float[] hf = new float[n + 5];
            for (int i = 0; i < hf.length; i++) {
                hf[i] = (float) r.nextGaussian();
            }
            int[] toGguf = LlamaGguf.rowPermutation(n, heads, true);
            float[] gguf = hf.clone();
            for (int i = 0; i < n; i++) {
                gguf[5 + i] = hf[5 + toGguf[i]];
            }
            for (int pos : new int[] {0, 1, 37, 4095}) {
                float[] a = hf.clone();
                float[] b = gguf.clone();
                Rope.apply(RopeStyle.HALF, a, 5, heads, headDim, pos, inv);
                Rope.apply(RopeStyle.INTERLEAVED, b, 5, heads, headDim, pos, inv);
                for (int i = 0; i < n; i++) {
                    assertThat(Float.floatToRawIntBits(b[5 + i])).as("d=%d pos=%d i=%d", headDim, pos, i)
                            .isEqualTo(Float.floatToRawIntBits(a[5 + toGguf[i]]));
                }
                assertThat(b[0]).isEqualTo(gguf[0]);
            }
        }
    }

    @Test
    void interleavedRotatesAdjacentPairs() {
        float[] inv = {1f, 0.5f};
        float[] x = {1f, 0f, 0f, 1f};
        Rope.apply(RopeStyle.INTERLEAVED, x, 0, 1, 4, 1, inv);
        assertThat(x[0]).isEqualTo((float) Math.cos(1.0));
        assertThat(x[1]).isEqualTo((float) Math.sin(1.0));
        assertThat(x[2]).isEqualTo(-(float) Math.sin(0.5));
        assertThat(x[3]).isEqualTo((float) Math.cos(0.5));
    }
}
