package dev.sparsa.io;

import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reads ref.gguf, written by gguf-py (llama.cpp's reference Python writer) with make_golden.py beside it, and
 * checks that Sparsa's quantizers reproduce gguf-py's F16 / BF16 / Q8_0 / Q4_0 bytes for the same input rows.
 */
class GgufGoldenTest {

    static Path golden(String name) {
        try {
            return Path.of(GgufGoldenTest.class.getResource("golden/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void readsGgufPyMetadataOfEveryType() {
        try (GgufFile f = GgufFile.open(golden("ref.gguf"))) {
            assertThat(f.version()).isEqualTo(3);
            Map<String, Object> m = f.metadata();
            assertThat(m.get("general.architecture")).isEqualTo("llama");
            assertThat(m.get("t.u8")).isEqualTo(255);
            assertThat(m.get("t.i8")).isEqualTo(-128);
            assertThat(m.get("t.u16")).isEqualTo(65535);
            assertThat(m.get("t.i16")).isEqualTo(-32768);
            assertThat(m.get("t.u32")).isEqualTo(4294967295L);
            assertThat(m.get("t.i32")).isEqualTo(Integer.MIN_VALUE);
            assertThat(m.get("t.f32")).isEqualTo(1.25f);
            assertThat(m.get("t.u64")).isEqualTo(-1L);
            assertThat(m.get("t.i64")).isEqualTo(Long.MIN_VALUE);
            assertThat(m.get("t.f64")).isEqualTo(3.141592653589793);
            assertThat(m.get("t.bool")).isEqualTo(true);
            assertThat(m.get("t.str")).isEqualTo("héllo ▁world");
            assertThat(m.get("t.strs")).isEqualTo(List.of("a", "", "<0x0A>"));
            assertThat(m.get("t.ints")).isEqualTo(List.of(1, -2, 3));
            assertThat(m.get("t.floats")).isEqualTo(List.of(0.5f, -1000f));
            assertThat(m.get("t.nested")).isEqualTo(List.of(List.of(1, 2), List.of("x")));
            assertThat(f.tensor("cube").shape()).containsExactly(2, 3, 4);
            assertThat(Quantize.row(f.tensor("cube"), 5)).containsExactly(20f, 21f, 22f, 23f);
        }
    }

    @Test
    void quantizersReproduceGgufPyBytes() {
        try (GgufFile f = GgufFile.open(golden("ref.gguf")); Arena arena = Arena.ofConfined()) {
            Tensor x = f.tensor("x");
            assertThat(x.shape()).containsExactly(4, 64);
            assertThat(Quantize.row(x, 3)[1]).isEqualTo(2.5f);
            for (DType t : new DType[]{DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0}) {
                Tensor ref = f.tensor("x." + t.name().toLowerCase(java.util.Locale.ROOT));
                assertThat(ref.dtype()).isEqualTo(t);
                assertThat(ref.shape()).containsExactly(4, 64);
                byte[] mine = Quantize.convert(x, t, arena).data().toArray(ValueLayout.JAVA_BYTE);
                assertThat(mine).as(t.name()).isEqualTo(ref.data().toArray(ValueLayout.JAVA_BYTE));
            }
        }
    }
}
