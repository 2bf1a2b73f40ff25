package dev.sparsa.io.onnx;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Writes protobuf wire format by hand, to build tiny (and deliberately broken) ONNX files in tests. */
public final class ProtoWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    public ProtoWriter varint(int field, long v) {
        tag(field, 0);
        raw(v);
        return this;
    }

    public ProtoWriter f32(int field, float v) {
        tag(field, 5);
        int b = Float.floatToRawIntBits(v);
        for (int i = 0; i < 4; i++) {
            out.write(b >>> (8 * i));
        }
        return this;
    }

    public ProtoWriter bytes(int field, byte[] b) {
        tag(field, 2);
        raw(b.length);
        out.writeBytes(b);
        return this;
    }

    public ProtoWriter string(int field, String s) {
        return bytes(field, s.getBytes(StandardCharsets.UTF_8));
    }

    public ProtoWriter message(int field, ProtoWriter m) {
        return bytes(field, m.toByteArray());
    }

    /** Packed repeated varints. */
    public ProtoWriter packed(int field, long... v) {
        ProtoWriter p = new ProtoWriter();
        for (long x : v) {
            p.raw(x);
        }
        return bytes(field, p.toByteArray());
    }

    public ProtoWriter packedFloats(int field, float... v) {
        return bytes(field, le(v));
    }

    /** Raw bytes appended as they are (to write malformed input). */
    public ProtoWriter append(byte... b) {
        out.writeBytes(b);
        return this;
    }

    public void tag(int field, int wireType) {
        raw(((long) field << 3) | wireType);
    }

    public void raw(long v) {
        while ((v & ~0x7fL) != 0) {
            out.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }

    public byte[] toByteArray() {
        return out.toByteArray();
    }

    public static byte[] le(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return b.array();
    }

    /** A TensorProto with raw_data. */
    public static ProtoWriter tensor(String name, int type, long[] dims, byte[] raw) {
        ProtoWriter t = new ProtoWriter();
        for (long d : dims) {
            t.varint(1, d);
        }
        return t.varint(2, type).string(8, name).bytes(9, raw);
    }
}
