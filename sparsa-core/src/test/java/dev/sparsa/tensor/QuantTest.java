package dev.sparsa.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import org.junit.jupiter.api.Test;

/** The ggml reference quantizers: hand-computed blocks and round-trip error bounds. */
class QuantTest {

    static byte b(MemorySegment s, long i) {
        return s.get(ValueLayout.JAVA_BYTE, i);
    }

    static short h(MemorySegment s, long i) {
        return s.get(ValueLayout.JAVA_SHORT_UNALIGNED, i);
    }

    @Test
    void q8_0KnownBlockRoundsHalfAwayFromZero() {
        float[] x = new float[32];
        x[0] = 127f;      // amax 127 → d = 1, id = 1
        x[1] = 2.5f;      // roundf → 3 (Math.round would also give 3)
        x[2] = -2.5f;     // roundf → −3 (Math.round would give −2)
        x[3] = -0.5f;     // → −1
        x[4] = 0.49f;     // → 0
        x[5] = -127f;
        MemorySegment s = MemorySegment.ofArray(new byte[34 + 3]);
        Quant.quantizeQ8_0(x, 0, 32, s, 3);
        assertThat(h(s, 3)).isEqualTo(Float.floatToFloat16(1f));
        assertThat(new byte[] {b(s, 5), b(s, 6), b(s, 7), b(s, 8), b(s, 9), b(s, 10), b(s, 11)})
                .containsExactly(127, 3, -3, -1, 0, -127, 0);
    }

    @Test
    void q4_0KnownBlock() {
        float[] x = new float[33];
        for (int j = 0; j < 32; j++) {
            x[j + 1] = j - 16; // −16 .. 15: max = −16 → d = 2, id = 0.5
        }
        MemorySegment s = MemorySegment.ofArray(new byte[18]);
        Quant.quantizeQ4_0(x, 1, 32, s, 0);
        assertThat(h(s, 0)).isEqualTo(Float.floatToFloat16(2f));
        // byte j: low nibble = q(x_j) = min(15, (int)(x_j/2 + 8.5)), high nibble = q(x_{j+16})
        assertThat(b(s, 2) & 0xff).isEqualTo(0x80);  // x0 = −16 → 0, x16 = 0 → 8
        assertThat(b(s, 3) & 0xff).isEqualTo(0x91);  // x1 = −15 → 1, x17 = 1 → 9
        assertThat(b(s, 17) & 0xff).isEqualTo(0xf8); // x15 = −1 → 8 (8.0), x31 = 15 → 16 clamped to 15
    }

    @Test
    void zeroBlocksQuantizeToZero() {
        float[] x = new float[64];
        MemorySegment s = MemorySegment.ofArray(new byte[68]);
        Quant.quantizeQ8_0(x, 0, 64, s, 0);
        assertThat(s.toArray(ValueLayout.JAVA_BYTE)).containsOnly(0);
        MemorySegment s4 = MemorySegment.ofArray(new byte[36]);
        Quant.quantizeQ4_0(x, 0, 64, s4, 0);
        assertThat(h(s4, 0)).isEqualTo((short) 0x8000); // d = 0 / −8 = −0.0, as ggml stores it
        assertThat(b(s4, 2) & 0xff).isEqualTo(0x88);
    }

    @Test
    void roundTripErrorIsWithinHalfAStep() {
        Random rnd = new Random(1);
        int n = 32 * 200;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian() * (1 + i / 32);
        }
        for (DType t : new DType[] {DType.Q8_0, DType.Q4_0}) {
            MemorySegment s = MemorySegment.ofArray(new byte[(int) t.bytesFor(n)]);
            Quant.quantize(t, x, 0, n, s, 0);
            float[] back = Kernels.toFloats(new Tensor("q", t, new int[] {n}, s));
            for (int blk = 0; blk < n / 32; blk++) {
                float amax = 0;
                for (int j = 0; j < 32; j++) {
                    amax = Math.max(amax, Math.abs(x[32 * blk + j]));
                }
                float step = t == DType.Q8_0 ? amax / 127 : amax / 8;
                for (int j = 0; j < 32; j++) {
                    int i = 32 * blk + j;
                    // Q4_0 clamps the far side (+8·d) to +7·d: up to one full step there
                    // plus d's fp16 rounding (≤ 2^-11 relative) times |q| ≤ 127 (Q8_0) or 8 (Q4_0)
                    float bound = t == DType.Q8_0 ? step * (0.5f + 127f / 2048) : step * (1f + 8f / 2048);
                    assertThat(Math.abs(back[i] - x[i])).as("%s %d", t, i).isLessThanOrEqualTo(bound);
                }
            }
        }
    }

    @Test
    void roundAwayMatchesCRoundf() {
        assertThat(Quant.roundAway(0.5f)).isEqualTo(1);
        assertThat(Quant.roundAway(-0.5f)).isEqualTo(-1);
        assertThat(Quant.roundAway(0.49999997f)).isEqualTo(0);
        assertThat(Quant.roundAway(-1.5f)).isEqualTo(-2);
        assertThat(Quant.roundAway(126.6f)).isEqualTo(127);
    }
}
