package dev.sparsa.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One {@code .safetensors} file, mmap'd read-only; tensors are zero-copy views of the mapping.
 *
 * <p>Layout (Hugging Face safetensors spec): 8-byte little-endian unsigned header length N, then N bytes of UTF-8
 * JSON {@code {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__":
 * {"k": "v"}}}, then the data section; offsets are relative to the start of the data section (byte 8 + N).
 *
 * <p>Validation at open, before anything is allocated from sizes the file claims: N ≤ 100 MB and 8 + N ≤ file size;
 * the header is a JSON object (duplicate keys rejected); {@code __metadata__} maps strings to strings; every
 * tensor has a known safetensors dtype, a shape of non-negative ints and two offsets with
 * {@code 0 ≤ begin ≤ end ≤ data size} and {@code end − begin == numel × dtype size}; tensors do not overlap
 * (gaps are tolerated; the reference implementation rejects them, but they are harmless to a reader).
 *
 * <p>Dtypes: every dtype of the spec is validated at open (so a file with an I64 {@code position_ids} buffer
 * opens and lists), but only F32, F16 and BF16 can be read: {@link #tensor(String)} on any other dtype throws an
 * {@link SparsaException.UnsupportedException} "file: unsupported dtype I64 for tensor X". An unknown dtype
 * string is a {@link FormatException} at open.
 */
public final class SafetensorsFile extends IndexedWeights<SafetensorsFile.Entry> {

    /** Largest header accepted (the reference implementation's limit). */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    /** Metadata key inside the header. */
    public static final String METADATA_KEY = "__metadata__";

    /**
     * One tensor's header entry.
     *
     * @param dtype safetensors dtype string (F32, BF16, I64, ...)
     * @param begin offset of the first byte relative to the data section
     * @param end   offset one past the last byte
     */
    public record Entry(String name, String dtype, int[] shape, long begin, long end) {
        public long bytes() {
            return end - begin;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final long dataStart;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment file, long dataStart, Map<String, Entry> entries,
                            Map<String, String> metadata) {
        super(path, entries);
        this.path = path;
        this.arena = arena;
        this.file = file;
        this.dataStart = dataStart;
        this.metadata = metadata;
    }

    /** Opens and validates {@code path}; see the class comment for what is checked. */
    public static SafetensorsFile open(Path path) {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment seg;
            try (FileChannel ch = FileChannel.open(path)) {
                long size = ch.size();
                if (size < 8) {
                    throw FormatException.of(path, "truncated: " + size + " bytes, a safetensors file starts with an"
                            + " 8-byte header length");
                }
                seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            } catch (NoSuchFileException e) {
                throw FormatException.of(path, "no such file");
            } catch (IOException e) {
                throw FormatException.of(path, "cannot read: " + e.getMessage());
            }
            return parse(path, arena, seg);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static SafetensorsFile parse(Path path, Arena arena, MemorySegment seg) {
        long size = seg.byteSize();
        long n = seg.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw FormatException.of(path, "header length " + Long.toUnsignedString(n) + " exceeds the "
                    + MAX_HEADER_BYTES + "-byte limit");
        }
        if (8 + n > size) {
            throw FormatException.of(path, "header length " + n + " runs past the end of the file (" + size
                    + " bytes)");
        }
        byte[] header = seg.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (JsonProcessingException e) {
            throw FormatException.of(path, "header is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw FormatException.of(path, "header is not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw FormatException.of(path, "header is not a JSON object");
        }
        long dataStart = 8 + n;
        long dataSize = size - dataStart;
        Map<String, String> meta = new LinkedHashMap<>();
        List<Entry> list = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (name.equals(METADATA_KEY)) {
                if (v.isNull()) {
                    continue;
                }
                if (!v.isObject()) {
                    throw FormatException.of(path, METADATA_KEY + " is not an object");
                }
                for (Iterator<Map.Entry<String, JsonNode>> mi = v.fields(); mi.hasNext(); ) {
                    Map.Entry<String, JsonNode> m = mi.next();
                    if (!m.getValue().isTextual()) {
                        throw FormatException.of(path, METADATA_KEY + "." + m.getKey() + " is not a string");
                    }
                    meta.put(m.getKey(), m.getValue().textValue());
                }
                continue;
            }
            list.add(entry(path, name, v, dataSize));
        }
        // Non-overlap: sort by begin, each tensor must start at or after the previous one's end.
        List<Entry> sorted = new ArrayList<>(list);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        Entry prev = null;
        for (Entry e : sorted) {
            if (prev != null && e.begin() < prev.end()) {
                throw FormatException.of(path, "tensor " + e.name() + " data_offsets [" + e.begin() + ", " + e.end()
                        + ") overlap tensor " + prev.name() + " [" + prev.begin() + ", " + prev.end() + ")");
            }
            prev = e;
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Entry e : sorted) {
            entries.put(e.name(), e);
        }
        return new SafetensorsFile(path, arena, seg, dataStart, Collections.unmodifiableMap(entries),
                Collections.unmodifiableMap(meta));
    }

    private static Entry entry(Path path, String name, JsonNode v, long dataSize) {
        if (!v.isObject()) {
            throw FormatException.of(path, "tensor " + name + ": entry is not an object");
        }
        JsonNode dt = v.get("dtype");
        if (dt == null || !dt.isTextual()) {
            throw FormatException.of(path, "tensor " + name + ": missing or non-string dtype");
        }
        String dtype = dt.textValue();
        int elemBits = elementBits(dtype);
        if (elemBits < 0) {
            throw FormatException.of(path, "tensor " + name + ": unknown dtype '" + dtype + "'");
        }
        JsonNode sh = v.get("shape");
        if (sh == null || !sh.isArray()) {
            throw FormatException.of(path, "tensor " + name + ": missing or non-array shape");
        }
        int[] shape = new int[sh.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0
                    || d.longValue() > Integer.MAX_VALUE) {
                throw FormatException.of(path, "tensor " + name + ": shape[" + i + "] = " + d
                        + " is not a non-negative int");
            }
            shape[i] = (int) d.longValue();
            try {
                numel = Math.multiplyExact(numel, shape[i]);
            } catch (ArithmeticException ex) {
                throw FormatException.of(path, "tensor " + name + ": shape " + sh + " overflows");
            }
        }
        JsonNode off = v.get("data_offsets");
        if (off == null || !off.isArray() || off.size() != 2) {
            throw FormatException.of(path, "tensor " + name + ": data_offsets must be an array of two offsets");
        }
        long[] be = new long[2];
        for (int i = 0; i < 2; i++) {
            JsonNode o = off.get(i);
            if (!o.isIntegralNumber() || !o.canConvertToLong() || o.longValue() < 0) {
                throw FormatException.of(path, "tensor " + name + ": data_offsets[" + i + "] = " + o
                        + " is not a non-negative integer");
            }
            be[i] = o.longValue();
        }
        if (be[1] < be[0]) {
            throw FormatException.of(path, "tensor " + name + ": data_offsets end " + be[1] + " < begin " + be[0]);
        }
        if (be[1] > dataSize) {
            throw FormatException.of(path, "tensor " + name + ": data_offsets [" + be[0] + ", " + be[1]
                    + ") run past the data section (" + dataSize + " bytes)");
        }
        long need;
        try {
            need = Math.multiplyExact(numel, (long) elemBits) / 8;
        } catch (ArithmeticException ex) {
            throw FormatException.of(path, "tensor " + name + ": shape " + sh + " overflows");
        }
        if (be[1] - be[0] != need) {
            throw FormatException.of(path, "tensor " + name + ": " + dtype + sh + " needs " + need
                    + " bytes but data_offsets span " + (be[1] - be[0]));
        }
        return new Entry(name, dtype, shape, be[0], be[1]);
    }

    /** Bits per element of a safetensors dtype, or -1 if the spec does not know it. */
    static int elementBits(String dtype) {
        return switch (dtype) {
            case "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0" -> 8;
            case "I16", "U16", "F16", "BF16" -> 16;
            case "I32", "U32", "F32" -> 32;
            case "I64", "U64", "F64", "C64" -> 64;
            case "F4" -> 4;
            default -> -1;
        };
    }

    /** Sparsa's dtype for a safetensors dtype string, or null if Sparsa cannot compute with it. */
    public static DType toDType(String dtype) {
        return switch (dtype) {
            case "F32" -> DType.F32;
            case "F16" -> DType.F16;
            case "BF16" -> DType.BF16;
            default -> null;
        };
    }

    /** The safetensors dtype string of a Sparsa dtype; block-quantized dtypes have none. */
    public static String dtypeName(DType t) {
        return switch (t) {
            case F32 -> "F32";
            case F16 -> "F16";
            case BF16 -> "BF16";
            default -> throw new SparsaException.UsageException("safetensors cannot store " + t + " tensors");
        };
    }

    public Path path() {
        return path;
    }

    /** Header entries in data-offset order. */
    public Collection<Entry> entries() {
        return indexedValues();
    }

    public Entry entry(String name) {
        return indexed(name);
    }

    /** The {@code __metadata__} string map (possibly empty). */
    public Map<String, String> stringMetadata() {
        return metadata;
    }

    @Override
    protected Tensor tensor(String name, Entry e) {
        DType t = toDType(e.dtype());
        if (t == null) {
            throw new SparsaException.UnsupportedException(path + ": unsupported dtype " + e.dtype() + " for tensor "
                    + name + " (supported: F32, F16, BF16)");
        }
        return new Tensor(name, t, e.shape().clone(), file.asSlice(dataStart + e.begin(), e.bytes()));
    }

    @Override
    public Map<String, Object> metadata() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
