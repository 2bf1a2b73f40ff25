package dev.sparsa.io;

import dev.sparsa.SparsaException;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GgufTest {
    @TempDir
    Path dir;

    @Test
    void readsAHandAssembledV2File() {
        // 2 KVs, 2 tensors: "a" F32 ne=[3,2] (shape [2,3]) at 0, "b" F16 ne=[4] at 32.
        RawGguf g = new RawGguf().header(2, 2, 2)
                .str("general.architecture").u32(8).str("llama")
                .str("x.list").u32(9).u32(5).u64(3).u32(-1).u32(0).u32(7)
                .tensorInfo("a", 0, 0, 3, 2)
                .tensorInfo("b", 1, 32, 4)
                .align(32);
        int dataStart = g.size();
        for (int i = 0; i < 6; i++) {
            g.f32(i + 0.5f);
        }
        g.u64(0);                   // pad "a" (24 bytes) to 32
        g.u32(0x40003C00).u32(0xC0003800);  // fp16 1, 2, 0.5, −2
        Path p = g.write(dir.resolve("h.gguf"));
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.version()).isEqualTo(2);
            assertThat(f.dataStart()).isEqualTo(dataStart);
            assertThat(f.metadata()).containsExactly(Map.entry("general.architecture", "llama"),
                    Map.entry("x.list", List.of(-1, 0, 7)));
            assertThat(f.names()).containsExactly("a", "b");
            Tensor a = f.tensor("a");
            assertThat(a.dtype()).isEqualTo(DType.F32);
            assertThat(a.shape()).containsExactly(2, 3);
            assertThat(Quantize.row(a, 1)).containsExactly(3.5f, 4.5f, 5.5f);
            assertThat(Quantize.row(f.tensor("b"), 0)).containsExactly(1f, 2f, 0.5f, -2f);
        }
    }

    @Test
    void writerMatchesHandAssembledBytes() throws Exception {
        GgufWriter w = new GgufWriter();
        w.put("k", GgufValue.u32(7));
        w.add(Tensor.f32("t", new float[]{1f, 2f}, 1, 2));
        Path p = dir.resolve("w.gguf");
        w.write(p, null);
        RawGguf want = new RawGguf().header(3, 1, 1).str("k").u32(4).u32(7).tensorInfo("t", 0, 0, 2, 1).align(32)
                .f32(1f).f32(2f).align(32);
        assertThat(Files.readAllBytes(p)).isEqualTo(want.toByteArray());
    }

    @Test
    void roundTripsEveryMetadataTypeAndTensorType() {
        GgufWriter w = new GgufWriter(64);
        w.put("u8", new GgufValue(GgufType.UINT8, null, 255));
        w.put("i8", new GgufValue(GgufType.INT8, null, -128));
        w.put("u16", new GgufValue(GgufType.UINT16, null, 65535));
        w.put("i16", new GgufValue(GgufType.INT16, null, -32768));
        w.put("u32", GgufValue.u32(4294967295L));
        w.put("i32", GgufValue.i32(Integer.MIN_VALUE));
        w.put("u64", new GgufValue(GgufType.UINT64, null, -1L));
        w.put("i64", new GgufValue(GgufType.INT64, null, Long.MIN_VALUE));
        w.put("f32", GgufValue.f32(1.25f));
        w.put("f64", new GgufValue(GgufType.FLOAT64, null, Math.PI));
        w.put("bool", GgufValue.bool(true));
        w.put("str", GgufValue.str("héllo ▁world"));
        w.put("strs", GgufValue.array(GgufType.STRING, List.of("a", "", "<0x0A>")));
        w.put("f32s", GgufValue.array(GgufType.FLOAT32, List.of(-1000f, 0f)));
        w.put("empty", GgufValue.array(GgufType.INT32, List.of()));
        w.put("nested", GgufValue.array(GgufType.ARRAY, List.of(
                GgufValue.array(GgufType.UINT8, List.of(1, 2)),
                GgufValue.array(GgufType.STRING, List.of("x")))));
        Random rnd = new Random(1);
        float[] v = new float[3 * 64];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        Tensor src = Tensor.f32("src", v, 3, 64);
        try (Arena arena = Arena.ofConfined()) {
            for (DType t : DType.values()) {
                Tensor c = Quantize.convert(src, t, arena);
                w.add(new Tensor("w." + t, t, c.shape(), c.data()));
            }
            w.add(Tensor.f32("norm", new float[]{1, 2, 3}, 3));
            w.add(Tensor.f32("cube", new float[24], 2, 3, 4));
            Path p = dir.resolve("all.gguf");
            w.write(p, null);
            try (GgufFile f = GgufFile.open(p)) {
                assertThat(f.alignment()).isEqualTo(64);
                Map<String, Object> m = f.metadata();
                assertThat(m.get("general.alignment")).isEqualTo(64L);
                assertThat(m.get("u8")).isEqualTo(255);
                assertThat(m.get("i8")).isEqualTo(-128);
                assertThat(m.get("u16")).isEqualTo(65535);
                assertThat(m.get("i16")).isEqualTo(-32768);
                assertThat(m.get("u32")).isEqualTo(4294967295L);
                assertThat(m.get("i32")).isEqualTo(Integer.MIN_VALUE);
                assertThat(m.get("u64")).isEqualTo(-1L);
                assertThat(m.get("i64")).isEqualTo(Long.MIN_VALUE);
                assertThat(m.get("f32")).isEqualTo(1.25f);
                assertThat(m.get("f64")).isEqualTo(Math.PI);
                assertThat(m.get("bool")).isEqualTo(true);
                assertThat(m.get("str")).isEqualTo("héllo ▁world");
                assertThat(m.get("strs")).isEqualTo(List.of("a", "", "<0x0A>"));
                assertThat(m.get("f32s")).isEqualTo(List.of(-1000f, 0f));
                assertThat(m.get("empty")).isEqualTo(List.of());
                assertThat(m.get("nested")).isEqualTo(List.of(List.of(1, 2), List.of("x")));
                assertThat(f.typedMetadata().get("u32").type()).isEqualTo(GgufType.UINT32);
                for (GgufFile.TensorInfo ti : f.infos()) {
                    assertThat(ti.offset() % 64).isZero();
                }
                assertThat(f.info("cube").ne()).containsExactly(4, 3, 2);
                assertThat(f.tensor("cube").shape()).containsExactly(2, 3, 4);
                for (DType t : DType.values()) {
                    Tensor back = f.tensor("w." + t);
                    assertThat(back.dtype()).isEqualTo(t);
                    assertThat(back.shape()).containsExactly(3, 64);
                    Tensor orig = Quantize.convert(src, t, arena);
                    assertThat(back.data().toArray(ValueLayout.JAVA_BYTE)).isEqualTo(orig.data().toArray(ValueLayout.JAVA_BYTE));
                }
                assertThat(Quantize.row(f.tensor("norm"), 0)).containsExactly(1f, 2f, 3f);
            }
        }
    }

    @Test
    void otherGgmlTypesOpenAndListButCannotBeRead() {
        // A K-quant (Q4_K: 256 values in 144 bytes) and a Q8_0 after it, aligned at 160.
        Path p = new RawGguf().header(3, 2, 0).tensorInfo("k", 12, 0, 256, 2).tensorInfo("q", 8, 288, 32)
                .align(32).bytes(288 + 34).write(dir.resolve("k.gguf"));
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.names()).containsExactly("k", "q");
            assertThat(f.info("k").dtype()).isNull();
            assertThat(f.info("k").typeName()).isEqualTo("Q4_K");
            assertThat(f.info("k").bytes()).isEqualTo(288);
            assertThat(f.tensor("q").dtype()).isEqualTo(DType.Q8_0);
            assertThatThrownBy(() -> f.tensor("k")).isInstanceOf(SparsaException.UnsupportedException.class)
                    .hasMessage(p + ": tensor k has ggml type Q4_K, which Sparsa does not support (supported: F32,"
                            + " F16, BF16, Q8_0, Q4_0)");
        }
    }

    private void bad(RawGguf g, Class<? extends SparsaException> type, String message) {
        Path p = g.write(dir.resolve("bad.gguf"));
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(type).hasMessageStartingWith(p + ": ")
                .hasMessageContaining(message);
    }

    @Test
    void rejectsHostileFiles() {
        var fmt = SparsaException.FormatException.class;
        bad(new RawGguf().u32(0x46554746).u32(3).u64(0).u64(0), fmt, "not a GGUF file (bad magic)");
        bad(new RawGguf().u8('G'), fmt, "bad magic");
        bad(new RawGguf().header(4, 0, 0), fmt, "unsupported GGUF version 4 (supported: 2, 3)");
        bad(new RawGguf().header(3, 1L << 40, 0), fmt, "tensor count 1099511627776 is more than the file could hold");
        bad(new RawGguf().header(3, 0, -1L), fmt, "metadata count 18446744073709551615 is more than the file");
        bad(new RawGguf().header(3, 0, 1).u64(1L << 40).bytes(8), fmt, "truncated: metadata key 0 at byte 32");
        bad(new RawGguf().header(3, 0, 1).str("k").u32(8).u64(-2L).bytes(4), fmt, "truncated: value of k");
        bad(new RawGguf().header(3, 0, 1).str("k").u32(9).u32(4).u64(1L << 50).bytes(4), fmt,
                "metadata k: array of 1125899906842624 UINT32 values runs past the end of the file");
        bad(new RawGguf().header(3, 0, 1).str("k").u32(13).bytes(4), fmt, "metadata k has unknown value type 13");
        RawGguf big = new RawGguf().header(3, 0, 1).str("k").u32(9).u32(0).u64((1L << 24) + 1);
        bad(big.bytes((1 << 24) + 1), fmt, "metadata k: array of 16777217 values exceeds Sparsa's limit of 16777216");
        bad(new RawGguf().header(3, 0, 1).str("k").u32(7).u8(2), fmt, "bool value 2 is neither 0 nor 1");
        bad(new RawGguf().header(3, 0, 2).str("k").u32(7).u8(1).str("k").u32(7).u8(0), fmt,
                "duplicate metadata key k");
        RawGguf deep = new RawGguf().header(3, 0, 1).str("k").u32(9);
        for (int i = 0; i < 10; i++) {
            deep.u32(9).u64(1);
        }
        bad(deep.u32(0).u64(0), fmt, "arrays nested deeper than 8");
        bad(new RawGguf().header(3, 0, 1).str("general.alignment").u32(4).u32(24), fmt,
                "general.alignment 24 is not a power of two");
        bad(new RawGguf().header(3, 1, 0).tensorInfo("t", 0, 0, 1, 1, 1, 1, 1).align(32).bytes(4), fmt,
                "tensor t has 5 dims (at most 4)");
        bad(new RawGguf().header(3, 1, 0).tensorInfo("t", 99, 0, 256).align(32).bytes(144), fmt,
                "tensor t has unknown ggml type 99");
        bad(new RawGguf().header(3, 1, 0).tensorInfo("t", 12, 0, 512).align(32).bytes(144), fmt,
                "tensor t data [0, +288) runs past the end of the file (data section has 144 bytes)");
        bad(new RawGguf().header(3, 1, 0).tensorInfo("t", 0, 0, 100).align(32).bytes(16), fmt,
                "tensor t data [0, +400) runs past the end of the file (data section has 16 bytes)");
        bad(new RawGguf().header(3, 1, 0).tensorInfo("t", 0, 1L << 62, 4).align(32).bytes(16), fmt,
                "runs past the end of the file");
        bad(new RawGguf().header(3, 2, 0).tensorInfo("t", 0, 0, 16).tensorInfo("u", 0, 32, 16).align(32).bytes(96),
                fmt, "tensor u at offset 32 overlaps tensor t [0, 64)");
        bad(new RawGguf().header(3, 1, 0).tensorInfo("t", 0, 4, 1).align(32).bytes(64), fmt,
                "tensor t offset 4 is not a multiple of the alignment 32");
        bad(new RawGguf().header(3, 1, 0).tensorInfo("t", 8, 0, 16).align(32).bytes(64), fmt,
                "tensor t row length 16 is not a multiple of the Q8_0 block size 32");
        bad(new RawGguf().header(3, 1, 0).tensorInfo("t", 0, 0, -1L).align(32), fmt,
                "tensor t dim 0 = 18446744073709551615 is out of range");
        bad(new RawGguf().header(3, 2, 0).tensorInfo("t", 0, 0, 1).tensorInfo("t", 0, 32, 1).align(32).bytes(64),
                fmt, "duplicate tensor name t");
    }
}
