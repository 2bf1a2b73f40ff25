package dev.sparsa.io;

import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class QuantizeTest {

    private static int u8(MemorySegment s, long i) {
        return s.get(ValueLayout.JAVA_BYTE, i) & 0xff;
    }

    private static int d16(MemorySegment s, long i) {
        return u8(s, i) | u8(s, i + 1) << 8;
    }

    @Test
    void q8_0HandComputedBlocks() {
        float[] x = new float[96];
        // Block 0: amax = 127 → d = 1, id = 1, q = roundf(x) (half away from zero).
        x[0] = 127f;
        x[1] = 2.5f;
        x[2] = -2.5f;
        x[3] = 0.49999997f;
        x[4] = -127f;
        x[5] = 1.5f;
        x[6] = -0.5f;
        // Block 1: all zero → d = 0, id = 0, q = 0.
        // Block 2: amax = 254 → d = 2, id = 0.5: 3 → 1.5 → 2; −1 → −0.5 → −1; 254 → 127.
        x[64] = 3f;
        x[65] = -1f;
        x[66] = 254f;
        MemorySegment out = MemorySegment.ofArray(new byte[3 * 34]);
        Quantize.q8_0(x, 0, 96, out, 0);
        assertThat(d16(out, 0)).isEqualTo(0x3C00); // fp16 1.0
        int[] q0 = {127, 3, -3, 0, -127, 2, -1};
        for (int j = 0; j < q0.length; j++) {
            assertThat((int) out.get(ValueLayout.JAVA_BYTE, 2 + j)).as("q[%d]", j).isEqualTo(q0[j]);
        }
        assertThat(d16(out, 34)).isZero();
        for (int j = 0; j < 32; j++) {
            assertThat(out.get(ValueLayout.JAVA_BYTE, 36 + j)).isZero();
        }
        assertThat(d16(out, 68)).isEqualTo(0x4000); // fp16 2.0
        assertThat((int) out.get(ValueLayout.JAVA_BYTE, 70)).isEqualTo(2);
        assertThat((int) out.get(ValueLayout.JAVA_BYTE, 71)).isEqualTo(-1);
        assertThat((int) out.get(ValueLayout.JAVA_BYTE, 72)).isEqualTo(127);
        float[] back = new float[96];
        Quantize.decode(out, 0, DType.Q8_0, 96, back, 0);
        assertThat(back[1]).isEqualTo(3f);
        assertThat(back[64]).isEqualTo(4f);
        assertThat(back[65]).isEqualTo(-2f);
    }

    @Test
    void q4_0HandComputedBlocks() {
        float[] x = new float[64];
        // Block 0: largest |x| is −16 (first of the tie with +16) → d = −16/−8 = 2, id = 0.5,
        // q = min(15, (int)(x/2 + 8.5)).
        x[0] = -16f;   // 0.5 → 0
        x[1] = 14f;    // 15.5 → 15
        x[2] = 1f;     // 9
        x[3] = -1f;    // 8
        x[16] = 16f;   // 16.5 → 16 → 15
        x[17] = 3f;    // 10
        x[18] = -3f;   // 7
        // (other entries 0 → 8)
        // Block 1: max = +8 → d = −1, id = −1: 8 → 0.5 → 0; −8 → 16.5 → 15; 4 → 4.5 → 4; 0 → 8.
        x[32] = 8f;
        x[33] = -8f;
        x[48] = 4f;
        MemorySegment out = MemorySegment.ofArray(new byte[36]);
        Quantize.q4_0(x, 0, 64, out, 0);
        assertThat(d16(out, 0)).isEqualTo(0x4000);   // fp16 2.0
        assertThat(u8(out, 2)).isEqualTo(0 | 15 << 4);  // q[0] | q[16] << 4
        assertThat(u8(out, 3)).isEqualTo(15 | 10 << 4);
        assertThat(u8(out, 4)).isEqualTo(9 | 7 << 4);
        assertThat(u8(out, 5)).isEqualTo(8 | 8 << 4);
        assertThat(u8(out, 17)).isEqualTo(0x88);
        assertThat(d16(out, 18)).isEqualTo(0xBC00);  // fp16 −1.0
        assertThat(u8(out, 20)).isEqualTo(0 | 4 << 4);
        assertThat(u8(out, 21)).isEqualTo(15 | 8 << 4);
        float[] back = new float[64];
        Quantize.decode(out, 0, DType.Q4_0, 64, back, 0);
        assertThat(back[0]).isEqualTo(-16f);
        assertThat(back[1]).isEqualTo(14f);
        assertThat(back[16]).isEqualTo(14f);
        assertThat(back[33]).isEqualTo(-7f);   // (15 − 8) · −1
        assertThat(back[48]).isEqualTo(4f);    // (4 − 8) · −1
    }

    @Test
    void decodeAgreesWithKernelsAndErrorsAreBounded() {
        Random rnd = new Random(7);
        float[] w = new float[4 * 64];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        Tensor src = Tensor.f32("w", w, 4, 64);
        try (Arena arena = Arena.ofConfined()) {
            for (DType t : DType.values()) {
                Tensor q = Quantize.convert(src, t, arena);
                assertThat(q.data().byteSize()).isEqualTo(t.bytesFor(w.length));
                float[] mine = new float[64];
                float[] theirs = new float[64];
                for (int r = 0; r < 4; r++) {
                    Quantize.decode(q.data(), r * q.rowBytes(), t, 64, mine, 0);
                    Kernels.getRow(q, r, theirs, 0);
                    assertThat(mine).as("%s row %d vs Kernels.getRow", t, r).containsExactly(theirs);
                    float amax = 0;
                    for (int j = 0; j < 64; j++) {
                        amax = Math.max(amax, Math.abs(w[r * 64 + j]));
                    }
                    double tol = switch (t) {
                        case F32 -> 0;
                        case F16 -> amax * 1e-3;
                        case BF16 -> amax * 8e-3;
                        case Q8_0 -> amax / 127 * 0.51 + amax * 1e-3;
                        case Q4_0 -> amax / 8 * 1.01 + amax * 1e-3;
                    };
                    for (int j = 0; j < 64; j++) {
                        assertThat((double) mine[j]).isCloseTo(w[r * 64 + j], org.assertj.core.data.Offset.offset(tol));
                    }
                }
            }
        }
    }
}
