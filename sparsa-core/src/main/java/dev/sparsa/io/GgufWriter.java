package dev.sparsa.io;

import dev.sparsa.SparsaException;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Writes a GGUF v3 file atomically (layout in {@link GgufFile}): metadata of every type, then tensor infos, then
 * the tensors' data, each padded to the alignment. Tensor data can be supplied lazily, so a converter holds only
 * one converted tensor in memory at a time.
 */
public final class GgufWriter {
    private final int alignment;
    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Entry> tensors = new ArrayList<>();

    private record Entry(String name, DType type, int[] shape, long bytes, Supplier<MemorySegment> data) {
    }

    /** A writer with the default alignment (32). */
    public GgufWriter() {
        this(GgufFile.DEFAULT_ALIGNMENT);
    }

    /** A writer with this alignment; a non-default one is recorded as {@code general.alignment}. */
    public GgufWriter(int alignment) {
        if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
            throw new SparsaException.UsageException("GGUF alignment must be a power of two, got " + alignment);
        }
        this.alignment = alignment;
        if (alignment != GgufFile.DEFAULT_ALIGNMENT) {
            metadata.put("general.alignment", GgufValue.u32(alignment));
        }
    }

    /** Adds or replaces one metadata value. */
    public GgufWriter put(String key, GgufValue value) {
        if (key.equals("general.alignment")) {
            if (value.type() != GgufType.UINT32 || ((Number) value.value()).longValue() != alignment) {
                throw new SparsaException.UsageException("general.alignment must be the writer's alignment "
                        + alignment + " (UINT32)");
            }
        }
        metadata.put(key, value);
        return this;
    }

    /** Adds a tensor whose bytes exist now. */
    public GgufWriter add(Tensor t) {
        MemorySegment data = t.data();
        return add(t.name(), t.dtype(), t.shape(), () -> data);
    }

    /**
     * Adds a tensor of Sparsa row-major {@code shape} whose bytes {@code data} produces at write time (called once;
     * must return exactly {@code type.bytesFor(numel)} bytes).
     */
    public GgufWriter add(String name, DType type, int[] shape, Supplier<MemorySegment> data) {
        if (shape.length > GgufFile.MAX_DIMS) {
            throw new SparsaException.UsageException("GGUF: tensor " + name + " has more than 4 dims");
        }
        for (Entry e : tensors) {
            if (e.name().equals(name)) {
                throw new SparsaException.UsageException("GGUF: duplicate tensor " + name);
            }
        }
        long numel = 1;
        for (int d : shape) {
            numel = Math.multiplyExact(numel, d);
        }
        if (shape.length > 0 && shape[shape.length - 1] % type.blockSize() != 0) {
            throw new SparsaException.UsageException("GGUF: tensor " + name + " row length "
                    + shape[shape.length - 1] + " is not a multiple of the " + type + " block size");
        }
        tensors.add(new Entry(name, type, shape.clone(), type.bytesFor(numel), data));
        return this;
    }

    /** Writes the file atomically; {@code progress} (may be null) is told each tensor name as it is written. */
    public void write(Path out, Consumer<String> progress) {
        ByteArrayOut head = new ByteArrayOut();
        head.u32(GgufFile.MAGIC);
        head.u32(3);
        head.u64(tensors.size());
        head.u64(metadata.size());
        metadata.forEach((k, v) -> {
            head.str(k);
            head.u32(v.type().id);
            value(head, k, v);
        });
        long offset = 0;
        for (Entry e : tensors) {
            head.str(e.name());
            head.u32(e.shape().length);
            for (int d = e.shape().length - 1; d >= 0; d--) {
                head.u64(e.shape()[d]);
            }
            head.u32(e.type().ggmlType());
            head.u64(offset);
            offset = pad(offset + e.bytes());
        }
        head.zeros(pad(head.size()) - head.size());
        byte[] header = head.toByteArray();
        AtomicFile.write(out, ch -> {
            SafetensorsWriter.writeFully(ch, ByteBuffer.wrap(header));
            for (Entry e : tensors) {
                if (progress != null) {
                    progress.accept(e.name());
                }
                MemorySegment seg = e.data().get();
                if (seg.byteSize() != e.bytes()) {
                    throw new SparsaException.UsageException("GGUF: tensor " + e.name() + " " + e.type()
                            + Arrays.toString(e.shape()) + " needs " + e.bytes() + " bytes, got " + seg.byteSize());
                }
                SafetensorsWriter.writeSegment(ch, seg);
                long padding = pad(e.bytes()) - e.bytes();
                if (padding > 0) {
                    SafetensorsWriter.writeFully(ch, ByteBuffer.allocate((int) padding));
                }
            }
        });
    }

    private long pad(long n) {
        return (n + alignment - 1) / alignment * alignment;
    }

    private static void value(ByteArrayOut o, String key, GgufValue v) {
        Object x = v.value();
        try {
            switch (v.type()) {
                case UINT8, INT8 -> o.u8(((Number) x).intValue());
                case UINT16, INT16 -> o.u16(((Number) x).intValue());
                case UINT32, INT32 -> o.u32(((Number) x).intValue());
                case UINT64, INT64 -> o.u64(((Number) x).longValue());
                case FLOAT32 -> o.u32(Float.floatToRawIntBits(((Number) x).floatValue()));
                case FLOAT64 -> o.u64(Double.doubleToRawLongBits(((Number) x).doubleValue()));
                case BOOL -> o.u8((Boolean) x ? 1 : 0);
                case STRING -> o.str((String) x);
                case ARRAY -> {
                    List<?> list = (List<?>) x;
                    o.u32(v.elementType().id);
                    o.u64(list.size());
                    for (Object e : list) {
                        GgufValue ev = v.elementType() == GgufType.ARRAY ? (GgufValue) e
                                : new GgufValue(v.elementType(), null, e);
                        value(o, key, ev);
                    }
                }
            }
        } catch (ClassCastException | NullPointerException e) {
            throw new SparsaException.UsageException("GGUF: metadata " + key + " value does not match type "
                    + v.type() + (v.elementType() != null ? "[" + v.elementType() + "]" : ""));
        }
    }

    /** Little-endian byte sink for the header. */
    private static final class ByteArrayOut {
        private ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void ensure(int n) {
            if (buf.remaining() < n) {
                int cap = Math.max(buf.capacity() * 2, buf.position() + n);
                ByteBuffer b = ByteBuffer.allocate(cap).order(ByteOrder.LITTLE_ENDIAN);
                buf.flip();
                b.put(buf);
                buf = b;
            }
        }

        void u8(int v) {
            ensure(1);
            buf.put((byte) v);
        }

        void u16(int v) {
            ensure(2);
            buf.putShort((short) v);
        }

        void u32(int v) {
            ensure(4);
            buf.putInt(v);
        }

        void u64(long v) {
            ensure(8);
            buf.putLong(v);
        }

        void str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            ensure(b.length);
            buf.put(b);
        }

        void zeros(long n) {
            ensure((int) n);
            for (long i = 0; i < n; i++) {
                buf.put((byte) 0);
            }
        }

        long size() {
            return buf.position();
        }

        byte[] toByteArray() {
            return Arrays.copyOf(buf.array(), buf.position());
        }
    }
}
