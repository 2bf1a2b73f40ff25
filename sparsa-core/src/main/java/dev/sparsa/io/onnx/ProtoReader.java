package dev.sparsa.io.onnx;

import dev.sparsa.SparsaException.FormatException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * A cursor over one protobuf message in a {@link MemorySegment} (the protobuf wire format, only what ONNX needs):
 * a message is a sequence of {@code tag = (field << 3) | wireType} varints each followed by its value —
 * wire type 0 varint, 1 fixed 8 bytes, 2 length-delimited (varint length + bytes), 5 fixed 4 bytes; 3/4 (groups)
 * are deprecated and rejected. Every read is bounds-checked against the message end; a malformed message becomes
 * a {@link FormatException} naming the file and the byte offset.
 */
final class ProtoReader {
    static final int VARINT = 0;
    static final int I64 = 1;
    static final int LEN = 2;
    static final int I32 = 5;

    private final String file;
    private final MemorySegment seg;
    private long pos;
    private final long end;
    private int wireType = -1;

    ProtoReader(String file, MemorySegment seg, long from, long to) {
        this.file = file;
        this.seg = seg;
        this.pos = from;
        this.end = to;
    }

    ProtoReader(String file, MemorySegment seg) {
        this(file, seg, 0, seg.byteSize());
    }

    boolean hasMore() {
        return pos < end;
    }

    long position() {
        return pos;
    }

    /** Reads the next tag; returns the field number and remembers the wire type for the value read that follows. */
    int nextField() {
        long at = pos;
        long tag = readVarint();
        int field = (int) (tag >>> 3);
        wireType = (int) (tag & 7);
        if (field <= 0 || tag >>> 3 > 0x1fffffff) {
            throw error(at, "invalid field number " + (tag >>> 3));
        }
        if (wireType != VARINT && wireType != I64 && wireType != LEN && wireType != I32) {
            throw error(at, "unsupported wire type " + wireType + " (field " + field + ")");
        }
        return field;
    }

    int wireType() {
        return wireType;
    }

    /** Base-128 varint, least significant group first, at most 10 bytes. */
    long readVarint() {
        long result = 0;
        long start = pos;
        for (int shift = 0; shift < 70; shift += 7) {
            if (pos >= end) {
                throw error(start, "truncated varint");
            }
            int b = seg.get(ValueLayout.JAVA_BYTE, pos++);
            result |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return result;
            }
        }
        throw error(start, "varint longer than 10 bytes");
    }

    /** Value of the current field as an integer; the field must have wire type 0. */
    long int64() {
        expect(VARINT);
        return readVarint();
    }

    int int32() {
        return (int) int64();
    }

    float float32() {
        expect(I32);
        need(4);
        float f = seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, pos);
        pos += 4;
        return f;
    }

    /** The bytes of the current length-delimited field, as a slice of the underlying segment (no copy). */
    MemorySegment bytes() {
        expect(LEN);
        long at = pos;
        long n = readVarint();
        if (n < 0 || n > end - pos) {
            throw error(at, "length " + Long.toUnsignedString(n) + " runs past the end of its message ("
                    + (end - pos) + " bytes left)");
        }
        MemorySegment s = seg.asSlice(pos, n);
        pos += n;
        return s;
    }

    String string() {
        MemorySegment s = bytes();
        if (s.byteSize() > Integer.MAX_VALUE - 8) {
            throw error(pos, "string of " + s.byteSize() + " bytes");
        }
        return new String(s.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    /** A reader over the embedded message in the current length-delimited field. */
    ProtoReader message() {
        long n = bytes().byteSize();
        return new ProtoReader(file, seg, pos - n, pos);
    }

    /** Skips the value of the current field. */
    void skip() {
        switch (wireType) {
            case VARINT -> readVarint();
            case I64 -> {
                need(8);
                pos += 8;
            }
            case LEN -> bytes();
            case I32 -> {
                need(4);
                pos += 4;
            }
            default -> throw error(pos, "unsupported wire type " + wireType);
        }
    }

    /**
     * Values of a repeated int64/int32 field, packed (one length-delimited run of varints) or not (one varint per
     * occurrence); appends to {@code out}.
     */
    void int64s(LongList out) {
        if (wireType == LEN) {
            ProtoReader r = message();
            while (r.hasMore()) {
                out.add(r.readVarint());
            }
        } else {
            out.add(int64());
        }
    }

    /** Values of a repeated float field, packed or not. */
    void floats(FloatList out) {
        if (wireType == LEN) {
            MemorySegment s = bytes();
            if (s.byteSize() % 4 != 0) {
                throw error(pos, "packed float field of " + s.byteSize() + " bytes, not a multiple of 4");
            }
            out.addAll(s);
        } else {
            out.add(float32());
        }
    }

    FormatException error(long at, String problem) {
        return FormatException.of(file, "malformed protobuf at byte " + at + ": " + problem);
    }

    private void expect(int wt) {
        if (wireType != wt) {
            throw error(pos, "field has wire type " + wireType + ", expected " + wt);
        }
    }

    private void need(long n) {
        if (end - pos < n) {
            throw error(pos, "truncated fixed-size value");
        }
    }

    /** A growable long[]. */
    static final class LongList {
        private long[] a = new long[8];
        private int n;

        void add(long v) {
            if (n == a.length) {
                a = java.util.Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        int size() {
            return n;
        }

        long[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }

    /** A growable float[]. */
    static final class FloatList {
        private float[] a = new float[8];
        private int n;

        void add(float v) {
            if (n == a.length) {
                a = java.util.Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        void addAll(MemorySegment packed) {
            int m = Math.toIntExact(packed.byteSize() / 4);
            if (n + m > a.length) {
                a = java.util.Arrays.copyOf(a, Math.max(n + m, a.length * 2));
            }
            MemorySegment.copy(packed, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, a, n, m);
            n += m;
        }

        int size() {
            return n;
        }

        float[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
