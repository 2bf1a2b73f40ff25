package dev.sparsa.io;

import dev.sparsa.SparsaException;
import dev.sparsa.SparsaException.FormatException;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF file (versions 2 and 3), mmap'd read-only; tensors are zero-copy views of the mapping.
 *
 * <p>Layout (ggml docs/gguf.md), all little-endian: magic {@code "GGUF"}, uint32 version, uint64 tensor count,
 * uint64 metadata count; metadata as (string key, uint32 type, value); tensor infos as (string name, uint32
 * n_dims, uint64 ne[n_dims], uint32 ggml type, uint64 offset); padding to {@code general.alignment} (default 32);
 * the data section, where each offset (relative to its start) is a multiple of the alignment. A string is a
 * uint64 byte length then UTF-8 bytes; an array is uint32 element type, uint64 count, then the elements.
 *
 * <p>Shapes: GGUF lists dims fastest-first ({@code ne[0]} is contiguous), so Sparsa's row-major shape is the
 * reverse: {@code ne = [in, out]} becomes {@code shape = [out, in]}.
 *
 * <p>Validation, before anything sized by the file is allocated: magic and version; tensor and metadata counts
 * bounded by what the file could hold; every string, array and nested array bounded by the bytes left (arrays
 * nest at most {@value #MAX_DEPTH} deep, hold at most {@link #MAX_ARRAY} values); duplicate keys or names; {@code general.alignment} a power of two;
 * n_dims ≤ 4, dims non-negative and each ≤ 2^31−1, ne[0] a whole number of blocks; offsets aligned; tensor data
 * inside the file and not overlapping. The layout of every ggml type is validated (block sizes as gguf-py lists
 * them) so that any GGUF — K-quants included — opens and lists; only F32, F16, BF16, Q8_0 and Q4_0 tensors can be
 * read: {@link #tensor(String)} on another type throws an UnsupportedException naming the tensor and the type
 * ({@link TensorInfo#dtype()} is null for those). An unknown type id is a FormatException at open.
 *
 * <p>Metadata Java types: see {@link GgufType}.
 */
public final class GgufFile extends IndexedWeights<GgufFile.TensorInfo> {
    public static final int MAGIC = 0x46554747; // "GGUF" read as little-endian uint32
    public static final int DEFAULT_ALIGNMENT = 32;
    public static final int MAX_DIMS = 4;
    static final int MAX_DEPTH = 8;
    /** Largest metadata array accepted (real vocabularies have ≤ 300k entries); bounds the boxed values held. */
    public static final long MAX_ARRAY = 1L << 24;
    /** Largest string accepted (fits a Java array). */
    static final long MAX_STRING = Integer.MAX_VALUE - 16;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * One tensor info.
     *
     * @param ne     GGUF dims, fastest first
     * @param shape  Sparsa row-major shape (ne reversed)
     * @param offset relative to the data section
     */
    public record TensorInfo(String name, int ggmlType, DType dtype, long[] ne, int[] shape, long offset, long bytes) {
        /** The ggml type's name (Q4_K, ...), also for types Sparsa cannot compute with. */
        public String typeName() {
            return ggmlTypeName(ggmlType);
        }
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final int version;
    private final int alignment;
    private final long dataStart;
    private final Map<String, GgufValue> typed;
    private final Map<String, Object> plain;

    private GgufFile(Path path, Arena arena, MemorySegment file, int version, int alignment, long dataStart,
                     Map<String, GgufValue> typed, Map<String, TensorInfo> infos) {
        super(path, infos);
        this.path = path;
        this.arena = arena;
        this.file = file;
        this.version = version;
        this.alignment = alignment;
        this.dataStart = dataStart;
        this.typed = typed;
        Map<String, Object> p = new LinkedHashMap<>();
        typed.forEach((k, v) -> p.put(k, v.plain()));
        this.plain = Collections.unmodifiableMap(p);
    }

    /** Opens and validates {@code path}; see the class comment. */
    public static GgufFile open(Path path) {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment seg;
            try (FileChannel ch = FileChannel.open(path)) {
                seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            } catch (NoSuchFileException e) {
                throw FormatException.of(path, "no such file");
            } catch (IOException e) {
                throw FormatException.of(path, "cannot read: " + e.getMessage());
            }
            return new Reader(path, seg).read(arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** A ggml tensor type: values per block and bytes per block. */
    public record GgmlType(int id, String name, int blockSize, int typeSize) {
    }

    /** ggml.h {@code enum ggml_type} with block and type sizes (as gguf-py's GGML_QUANT_SIZES lists them). */
    private static final List<GgmlType> GGML_TYPES = List.of(
            new GgmlType(0, "F32", 1, 4), new GgmlType(1, "F16", 1, 2), new GgmlType(2, "Q4_0", 32, 18),
            new GgmlType(3, "Q4_1", 32, 20), new GgmlType(6, "Q5_0", 32, 22), new GgmlType(7, "Q5_1", 32, 24),
            new GgmlType(8, "Q8_0", 32, 34), new GgmlType(9, "Q8_1", 32, 40), new GgmlType(10, "Q2_K", 256, 84),
            new GgmlType(11, "Q3_K", 256, 110), new GgmlType(12, "Q4_K", 256, 144), new GgmlType(13, "Q5_K", 256, 176),
            new GgmlType(14, "Q6_K", 256, 210), new GgmlType(15, "Q8_K", 256, 292),
            new GgmlType(16, "IQ2_XXS", 256, 66), new GgmlType(17, "IQ2_XS", 256, 74),
            new GgmlType(18, "IQ3_XXS", 256, 98), new GgmlType(19, "IQ1_S", 256, 50), new GgmlType(20, "IQ4_NL", 32, 18),
            new GgmlType(21, "IQ3_S", 256, 110), new GgmlType(22, "IQ2_S", 256, 82), new GgmlType(23, "IQ4_XS", 256, 136),
            new GgmlType(24, "I8", 1, 1), new GgmlType(25, "I16", 1, 2), new GgmlType(26, "I32", 1, 4),
            new GgmlType(27, "I64", 1, 8), new GgmlType(28, "F64", 1, 8), new GgmlType(29, "IQ1_M", 256, 56),
            new GgmlType(30, "BF16", 1, 2), new GgmlType(34, "TQ1_0", 256, 54), new GgmlType(35, "TQ2_0", 256, 66),
            new GgmlType(39, "MXFP4", 32, 17));

    /** The ggml type with this id, or null if unknown. */
    public static GgmlType ggmlType(int id) {
        for (GgmlType t : GGML_TYPES) {
            if (t.id() == id) {
                return t;
            }
        }
        return null;
    }

    /** Name of a ggml type id, for messages. */
    public static String ggmlTypeName(int type) {
        GgmlType t = ggmlType(type);
        return t != null ? t.name() : "type " + Integer.toUnsignedString(type);
    }

    /** Sequential little-endian reader over the mapped file, with every read bounded by the file size. */
    private static final class Reader {
        final Path path;
        final MemorySegment seg;
        final long size;
        long pos;

        Reader(Path path, MemorySegment seg) {
            this.path = path;
            this.seg = seg;
            this.size = seg.byteSize();
        }

        FormatException bad(String what) {
            return FormatException.of(path, what);
        }

        void need(long n, String what) {
            if (n < 0 || n > size - pos) {
                throw bad("truncated: " + what + " at byte " + pos + " needs " + (n < 0 ? Long.toUnsignedString(n) : n)
                        + " bytes, " + (size - pos) + " left");
            }
        }

        int u32(String what) {
            need(4, what);
            int v = seg.get(U32, pos);
            pos += 4;
            return v;
        }

        long u64(String what) {
            need(8, what);
            long v = seg.get(U64, pos);
            pos += 8;
            return v;
        }

        String str(String what) {
            long n = u64(what + " length");
            need(n, what);
            if (n > MAX_STRING) {
                throw bad(what + " is " + n + " bytes long, more than Sparsa accepts");
            }
            byte[] b = seg.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
            pos += n;
            return new String(b, StandardCharsets.UTF_8);
        }

        GgufFile read(Arena arena) {
            if (size < 4 || seg.get(U32, 0) != MAGIC) {
                throw bad("not a GGUF file (bad magic)");
            }
            pos = 4;
            int version = u32("version");
            if (version != 2 && version != 3) {
                throw bad("unsupported GGUF version " + Integer.toUnsignedString(version) + " (supported: 2, 3)");
            }
            long nTensors = u64("tensor count");
            long nKv = u64("metadata count");
            // Each tensor info takes ≥ 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset) bytes; each KV ≥ 8 + 4 + 1.
            if (nTensors < 0 || nTensors > (size - pos) / 24) {
                throw bad("tensor count " + Long.toUnsignedString(nTensors) + " is more than the file could hold");
            }
            if (nKv < 0 || nKv > (size - pos) / 13) {
                throw bad("metadata count " + Long.toUnsignedString(nKv) + " is more than the file could hold");
            }
            Map<String, GgufValue> kv = new LinkedHashMap<>();
            for (long i = 0; i < nKv; i++) {
                String key = str("metadata key " + i);
                int t = u32("type of " + key);
                GgufType type = GgufType.of(t);
                if (type == null) {
                    throw bad("metadata " + key + " has unknown value type " + Integer.toUnsignedString(t));
                }
                if (kv.put(key, value(key, type, 0)) != null) {
                    throw bad("duplicate metadata key " + key);
                }
            }
            int alignment = DEFAULT_ALIGNMENT;
            GgufValue al = kv.get("general.alignment");
            if (al != null) {
                if (al.type() != GgufType.UINT32) {
                    throw bad("general.alignment must be UINT32, is " + al.type());
                }
                long a = (Long) al.value();
                if (a <= 0 || a > (1 << 20) || Long.bitCount(a) != 1) {
                    throw bad("general.alignment " + a + " is not a power of two");
                }
                alignment = (int) a;
            }
            List<TensorInfo> list = new ArrayList<>();
            Map<String, TensorInfo> infos = new LinkedHashMap<>();
            for (long i = 0; i < nTensors; i++) {
                String name = str("tensor name " + i);
                int nDims = u32("n_dims of " + name);
                if (nDims < 0 || nDims > MAX_DIMS) {
                    throw bad("tensor " + name + " has " + Integer.toUnsignedString(nDims) + " dims (at most "
                            + MAX_DIMS + ")");
                }
                long[] ne = new long[nDims];
                int[] shape = new int[nDims];
                long numel = 1;
                for (int d = 0; d < nDims; d++) {
                    ne[d] = u64("dims of " + name);
                    if (ne[d] < 0 || ne[d] > Integer.MAX_VALUE) {
                        throw bad("tensor " + name + " dim " + d + " = " + Long.toUnsignedString(ne[d])
                                + " is out of range");
                    }
                    shape[nDims - 1 - d] = (int) ne[d];
                    try {
                        numel = Math.multiplyExact(numel, ne[d]);
                    } catch (ArithmeticException e) {
                        throw bad("tensor " + name + " dims " + Arrays.toString(ne) + " overflow");
                    }
                }
                int type = u32("type of " + name);
                long offset = u64("offset of " + name);
                GgmlType gt = ggmlType(type);
                if (gt == null) {
                    throw bad("tensor " + name + " has unknown ggml type " + Integer.toUnsignedString(type));
                }
                DType dt = DType.fromGgml(type);
                if (nDims > 0 && ne[0] % gt.blockSize() != 0) {
                    throw bad("tensor " + name + " row length " + ne[0] + " is not a multiple of the " + gt.name()
                            + " block size " + gt.blockSize());
                }
                if (nDims == 0 && gt.blockSize() != 1) {
                    throw bad("tensor " + name + " is a " + gt.name() + " scalar");
                }
                long bytes;
                try {
                    bytes = Math.multiplyExact(numel / gt.blockSize(), (long) gt.typeSize());
                } catch (ArithmeticException e) {
                    throw bad("tensor " + name + " dims " + Arrays.toString(ne) + " overflow");
                }
                if (offset < 0 || offset % alignment != 0) {
                    throw bad("tensor " + name + " offset " + Long.toUnsignedString(offset)
                            + " is not a multiple of the alignment " + alignment);
                }
                TensorInfo ti = new TensorInfo(name, type, dt, ne, shape, offset, bytes);
                if (infos.put(name, ti) != null) {
                    throw bad("duplicate tensor name " + name);
                }
                list.add(ti);
            }
            long dataStart = (pos + alignment - 1) / alignment * alignment;
            long dataSize = Math.max(0, size - dataStart);
            list.sort(Comparator.comparingLong(TensorInfo::offset));
            TensorInfo prev = null;
            for (TensorInfo t : list) {
                if (t.offset() > dataSize || t.bytes() > dataSize - t.offset()) {
                    throw bad("tensor " + t.name() + " data [" + t.offset() + ", +" + t.bytes()
                            + ") runs past the end of the file (data section has " + dataSize + " bytes)");
                }
                if (prev != null && t.offset() < prev.offset() + prev.bytes()) {
                    throw bad("tensor " + t.name() + " at offset " + t.offset() + " overlaps tensor " + prev.name()
                            + " [" + prev.offset() + ", " + (prev.offset() + prev.bytes()) + ")");
                }
                prev = t;
            }
            return new GgufFile(path, arena, seg, version, alignment, dataStart, Collections.unmodifiableMap(kv),
                    Collections.unmodifiableMap(infos));
        }

        GgufValue value(String key, GgufType type, int depth) {
            String what = "value of " + key;
            return switch (type) {
                case UINT8 -> { need(1, what); yield new GgufValue(type, null, seg.get(ValueLayout.JAVA_BYTE, pos++) & 0xff); }
                case INT8 -> { need(1, what); yield new GgufValue(type, null, (int) seg.get(ValueLayout.JAVA_BYTE, pos++)); }
                case UINT16 -> { need(2, what); int v = seg.get(U16, pos) & 0xffff; pos += 2; yield new GgufValue(type, null, v); }
                case INT16 -> { need(2, what); int v = seg.get(U16, pos); pos += 2; yield new GgufValue(type, null, v); }
                case UINT32 -> new GgufValue(type, null, u32(what) & 0xffffffffL);
                case INT32 -> new GgufValue(type, null, u32(what));
                case FLOAT32 -> { need(4, what); float v = seg.get(F32, pos); pos += 4; yield new GgufValue(type, null, v); }
                case BOOL -> {
                    need(1, what);
                    int b = seg.get(ValueLayout.JAVA_BYTE, pos++);
                    if (b != 0 && b != 1) {
                        throw bad("metadata " + key + ": bool value " + b + " is neither 0 nor 1");
                    }
                    yield new GgufValue(type, null, b == 1);
                }
                case STRING -> new GgufValue(type, null, str(what));
                case UINT64, INT64 -> new GgufValue(type, null, u64(what));
                case FLOAT64 -> { need(8, what); double v = seg.get(F64, pos); pos += 8; yield new GgufValue(type, null, v); }
                case ARRAY -> {
                    if (depth >= MAX_DEPTH) {
                        throw bad("metadata " + key + ": arrays nested deeper than " + MAX_DEPTH);
                    }
                    int et = u32("array type of " + key);
                    GgufType elem = GgufType.of(et);
                    if (elem == null) {
                        throw bad("metadata " + key + ": unknown array element type " + Integer.toUnsignedString(et));
                    }
                    long n = u64("array length of " + key);
                    if (n < 0 || n > (size - pos) / elem.minBytes) {
                        throw bad("metadata " + key + ": array of " + Long.toUnsignedString(n) + " " + elem
                                + " values runs past the end of the file");
                    }
                    if (n > MAX_ARRAY) {
                        throw bad("metadata " + key + ": array of " + n + " values exceeds Sparsa's limit of "
                                + MAX_ARRAY);
                    }
                    List<Object> out = new ArrayList<>((int) Math.min(n, 1 << 16));
                    for (long i = 0; i < n; i++) {
                        GgufValue v = value(key, elem, depth + 1);
                        out.add(elem == GgufType.ARRAY ? v : v.value());
                    }
                    yield new GgufValue(type, elem, Collections.unmodifiableList(out));
                }
            };
        }
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public int alignment() {
        return alignment;
    }

    /** Absolute file offset of the data section. */
    public long dataStart() {
        return dataStart;
    }

    /** Tensor infos in file (info) order. */
    public Collection<TensorInfo> infos() {
        return indexedValues();
    }

    public TensorInfo info(String name) {
        return indexed(name);
    }

    /** Metadata with types, in file order. */
    public Map<String, GgufValue> typedMetadata() {
        return typed;
    }

    @Override
    protected Tensor tensor(String name, TensorInfo t) {
        if (t.dtype() == null) {
            throw new SparsaException.UnsupportedException(path + ": tensor " + name + " has ggml type "
                    + t.typeName() + ", which Sparsa does not support (supported: F32, F16, BF16, Q8_0, Q4_0)");
        }
        return new Tensor(name, t.dtype(), t.shape().clone(), file.asSlice(dataStart + t.offset(), t.bytes()));
    }

    /** All metadata as plain Java values (see {@link GgufType}), in file order. */
    @Override
    public Map<String, Object> metadata() {
        return plain;
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
