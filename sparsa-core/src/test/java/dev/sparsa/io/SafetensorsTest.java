package dev.sparsa.io;

import dev.sparsa.SparsaException;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Half;
import dev.sparsa.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SafetensorsTest {
    @TempDir
    Path dir;

    /** A file with the given raw header text (no padding) followed by {@code dataBytes} bytes 0,1,2,... */
    private Path raw(String name, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        for (int i = 0; i < dataBytes; i++) {
            b.put((byte) i);
        }
        Path p = dir.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    private static Tensor f16(String name, float[] v, int... shape) {
        MemorySegment s = MemorySegment.ofArray(new byte[v.length * 2]);
        for (int i = 0; i < v.length; i++) {
            s.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i, Half.floatToF16(v[i]));
        }
        return new Tensor(name, DType.F16, shape, s);
    }

    private static Tensor bf16(String name, float[] v, int... shape) {
        MemorySegment s = MemorySegment.ofArray(new byte[v.length * 2]);
        for (int i = 0; i < v.length; i++) {
            s.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i, Half.floatToBf16(v[i]));
        }
        return new Tensor(name, DType.BF16, shape, s);
    }

    @Test
    void writerProducesTheExactBytesOfTheSpec() throws IOException {
        Path p = dir.resolve("a.safetensors");
        SafetensorsWriter.write(p, List.of(Tensor.f32("a", new float[]{1f, 2f}, 2)), Map.of());
        String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        assertThat(json).hasSize(54); // 8 + 54 = 62 → 2 spaces of padding make the data start at 64
        ByteBuffer want = ByteBuffer.allocate(8 + 56 + 8).order(ByteOrder.LITTLE_ENDIAN);
        want.putLong(56).put(json.getBytes(StandardCharsets.US_ASCII)).put("  ".getBytes(StandardCharsets.US_ASCII));
        want.put(new byte[]{0, 0, (byte) 0x80, 0x3f, 0, 0, 0, 0x40});
        assertThat(Files.readAllBytes(p)).isEqualTo(want.array());
        assertThat(dir.toFile().list()).containsExactly("a.safetensors"); // no temp file left behind
    }

    @Test
    void roundTripAllFloatTypesAndMetadata() throws IOException {
        Path p = dir.resolve("m.safetensors");
        float[] w = {1.5f, -2.25f, 3f, 0f, -0f, 65504f};
        SafetensorsWriter.write(p, List.of(
                Tensor.f32("z.weight", w, 2, 3),
                f16("b.half", new float[]{0.5f, -1f, 2f}, 3),
                bf16("a.bf", new float[]{1f, -3f, 256f, 0.125f}, 2, 2),
                Tensor.f32("scalar", new float[]{7f})), Map.of("format", "pt"));
        long n = ByteBuffer.wrap(Files.readAllBytes(p), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat((8 + n) % 8).isZero();
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertThat(f.names()).containsExactly("z.weight", "b.half", "a.bf", "scalar"); // data order
            assertThat(f.metadata()).containsEntry("format", "pt");
            Tensor z = f.tensor("z.weight");
            assertThat(z.dtype()).isEqualTo(DType.F32);
            assertThat(z.shape()).containsExactly(2, 3);
            for (int i = 0; i < w.length; i++) {
                assertThat(z.data().get(ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * i)).isEqualTo(w[i]);
            }
            Tensor b = f.tensor("b.half");
            assertThat(b.dtype()).isEqualTo(DType.F16);
            assertThat(Half.f16ToFloat(b.data().get(ValueLayout.JAVA_SHORT_UNALIGNED, 2))).isEqualTo(-1f);
            Tensor a = f.tensor("a.bf");
            assertThat(a.dtype()).isEqualTo(DType.BF16);
            assertThat(Half.bf16ToFloat(a.data().get(ValueLayout.JAVA_SHORT_UNALIGNED, 4))).isEqualTo(256f);
            assertThat(f.tensor("scalar").shape()).isEmpty();
            assertThat(f.entry("a.bf").begin()).isEqualTo(24 + 6);
        }
    }

    @Test
    void readsAHandWrittenFile() throws IOException {
        // Two BF16 values then one F32; offsets hand-computed; bytes 0..7 of the data section are 0,1,..,7.
        Path p = raw("h.safetensors", "{\"__metadata__\":{\"k\":\"v\"},"
                + "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                + "\"x\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[0,4]}}", 8);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertThat(f.names()).containsExactly("x", "y");
            assertThat(f.tensor("x").data().get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 2))
                    .isEqualTo((short) 0x0302);
            assertThat(f.tensor("y").data().get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0))
                    .isEqualTo(0x07060504);
            assertThat(f.metadata()).isEqualTo(Map.of("k", "v"));
            assertThatThrownBy(() -> f.tensor("nope")).isInstanceOf(SparsaException.FormatException.class)
                    .hasMessageContaining("missing tensor nope");
        }
    }

    @Test
    void unsupportedDtypeOpensButFailsWhenRequested() throws IOException {
        Path p = raw("i.safetensors", "{\"pos\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}}", 20);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertThat(f.names()).containsExactly("pos", "w");
            assertThat(f.tensor("w").numel()).isEqualTo(1);
            assertThatThrownBy(() -> f.tensor("pos")).isInstanceOf(SparsaException.UnsupportedException.class)
                    .hasMessage(p + ": unsupported dtype I64 for tensor pos (supported: F32, F16, BF16)");
        }
    }

    private void bad(String header, int data, String message) throws IOException {
        Path p = raw("bad.safetensors", header, data);
        assertThatThrownBy(() -> SafetensorsFile.open(p)).isInstanceOf(SparsaException.FormatException.class)
                .hasMessageStartingWith(p + ": ").hasMessageContaining(message);
    }

    @Test
    void rejectsMalformedHeaders() throws IOException {
        String t = "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
        bad("not json", 0, "header is not valid JSON");
        bad("[1,2]", 0, "header is not a JSON object");
        bad(t + ",\"t\":{}}", 8, "header is not valid JSON");  // duplicate key
        bad("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "run past the data section");
        bad("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs 12 bytes but data_offsets span 8");
        bad("{\"t\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "shape[0] = -2");
        bad("{\"t\":{\"dtype\":\"Q9\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype 'Q9'");
        bad("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "end 0 < begin 8");
        bad("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, "two offsets");
        bad("{\"t\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "missing or non-string dtype");
        bad(t + ",\"u\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap tensor t");
        bad("{\"__metadata__\":{\"a\":1}}", 0, "__metadata__.a is not a string");
        bad("{\"t\":{\"dtype\":\"F32\",\"shape\":[65536,65536,65536,65536],\"data_offsets\":[0,8]}}", 8, "overflows");
    }

    @Test
    void rejectsBadLengths() throws IOException {
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[]{1, 2, 3});
        assertThatThrownBy(() -> SafetensorsFile.open(tiny)).hasMessage(tiny + ": truncated: 3 bytes, a safetensors"
                + " file starts with an 8-byte header length");
        Path beyond = dir.resolve("beyond.safetensors");
        Files.write(beyond, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(100).array());
        assertThatThrownBy(() -> SafetensorsFile.open(beyond)).isInstanceOf(SparsaException.FormatException.class)
                .hasMessage(beyond + ": header length 100 runs past the end of the file (16 bytes)");
        Path huge = dir.resolve("huge.safetensors");
        Files.write(huge, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(200L << 20).array());
        assertThatThrownBy(() -> SafetensorsFile.open(huge)).hasMessageContaining("exceeds the 104857600-byte limit");
        Path neg = dir.resolve("neg.safetensors");
        Files.write(neg, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).array());
        assertThatThrownBy(() -> SafetensorsFile.open(neg)).hasMessageContaining("18446744073709551615 exceeds");
        Path none = dir.resolve("none.safetensors");
        assertThatThrownBy(() -> SafetensorsFile.open(none)).hasMessage(none + ": no such file");
    }

    @Test
    void shardedCheckpoint() throws IOException {
        SafetensorsWriter.write(dir.resolve("s1.safetensors"), List.of(Tensor.f32("a", new float[]{1, 2}, 2)), Map.of());
        SafetensorsWriter.write(dir.resolve("s2.safetensors"), List.of(Tensor.f32("b", new float[]{3}, 1),
                Tensor.f32("extra", new float[]{4}, 1)), Map.of());
        Path idx = dir.resolve("model.safetensors.index.json");
        Files.writeString(idx, "{\"metadata\":{\"total_size\":12},\"weight_map\":{\"b\":\"s2.safetensors\","
                + "\"a\":\"s1.safetensors\"}}");
        try (ShardedSafetensors s = ShardedSafetensors.open(idx)) {
            assertThat(s.names()).containsExactly("b", "a");
            assertThat(s.shards()).hasSize(2);
            assertThat(s.tensor("a").data().get(ValueLayout.JAVA_FLOAT_UNALIGNED, 4)).isEqualTo(2f);
            assertThat(s.tensor("b").data().get(ValueLayout.JAVA_FLOAT_UNALIGNED, 0)).isEqualTo(3f);
            assertThat(s.contains("extra")).isFalse();
            assertThat(s.metadata()).containsEntry("total_size", 12L);
        }
        Files.writeString(idx, "{\"weight_map\":{\"a\":\"s1.safetensors\",\"c\":\"s3.safetensors\"}}");
        assertThatThrownBy(() -> ShardedSafetensors.open(idx)).isInstanceOf(SparsaException.FormatException.class)
                .hasMessage(idx + ": shard 's3.safetensors' (holding c) does not exist");
        Files.writeString(idx, "{\"weight_map\":{\"c\":\"s1.safetensors\"}}");
        assertThatThrownBy(() -> ShardedSafetensors.open(idx))
                .hasMessage(idx + ": tensor c is mapped to shard 's1.safetensors' which does not contain it");
        Files.writeString(idx, "{\"weight_map\":{\"c\":\"../x.safetensors\"}}");
        assertThatThrownBy(() -> ShardedSafetensors.open(idx)).hasMessageContaining("is not a file beside the index");
        Files.writeString(idx, "{\"weight_map\":");
        assertThatThrownBy(() -> ShardedSafetensors.open(idx)).hasMessageStartingWith(idx + ": not valid JSON");
    }
}
