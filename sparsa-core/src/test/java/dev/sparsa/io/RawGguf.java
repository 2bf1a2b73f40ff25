package dev.sparsa.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Hand-assembles GGUF bytes, independently of {@link GgufWriter}, for reader tests and hostile files. */
public final class RawGguf {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    public RawGguf u8(int v) {
        out.write(v);
        return this;
    }

    public RawGguf u32(long v) {
        for (int i = 0; i < 4; i++) {
            out.write((int) (v >>> (8 * i)));
        }
        return this;
    }

    public RawGguf u64(long v) {
        for (int i = 0; i < 8; i++) {
            out.write((int) (v >>> (8 * i)));
        }
        return this;
    }

    public RawGguf f32(float v) {
        return u32(Float.floatToRawIntBits(v));
    }

    public RawGguf str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        u64(b.length);
        out.writeBytes(b);
        return this;
    }

    /** "GGUF", version, tensor count, KV count. */
    public RawGguf header(int version, long tensors, long kvs) {
        out.writeBytes("GGUF".getBytes(StandardCharsets.US_ASCII));
        return u32(version).u64(tensors).u64(kvs);
    }

    /** One tensor info; {@code ne} fastest-first as in the file. */
    public RawGguf tensorInfo(String name, int ggmlType, long offset, long... ne) {
        str(name).u32(ne.length);
        for (long d : ne) {
            u64(d);
        }
        return u32(ggmlType).u64(offset);
    }

    /** Zero bytes up to a multiple of {@code alignment}. */
    public RawGguf align(int alignment) {
        while (out.size() % alignment != 0) {
            out.write(0);
        }
        return this;
    }

    public RawGguf bytes(int n) {
        for (int i = 0; i < n; i++) {
            out.write(i);
        }
        return this;
    }

    public int size() {
        return out.size();
    }

    public byte[] toByteArray() {
        return out.toByteArray();
    }

    public Path write(Path p) {
        try {
            Files.write(p, out.toByteArray());
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
