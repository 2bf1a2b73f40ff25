package dev.sparsa.io.onnx;

import dev.sparsa.SparsaException.FormatException;
import dev.sparsa.io.WeightSource;
import dev.sparsa.io.onnx.ProtoReader.FloatList;
import dev.sparsa.io.onnx.ProtoReader.LongList;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An ONNX model read straight from its protobuf bytes (onnx.proto3): {@code ModelProto → GraphProto →}
 * initializers ({@code TensorProto}), nodes ({@code NodeProto} with their attributes) and the graph's inputs and
 * outputs. Only what Sparsa needs is decoded; unknown fields are skipped. The file is mmap'd and initializers
 * stored as {@code raw_data} are zero-copy views of it, valid until {@link #close()}.
 *
 * <p>As a {@link WeightSource} it serves the floating-point initializers (FLOAT, FLOAT16, BFLOAT16) as
 * {@link Tensor}s with ONNX's dims unchanged (row-major, last dim contiguous); {@link #initializer(String)} gives
 * every initializer, whatever its type. Tensors stored in external files are rejected with a clear error.
 */
public final class OnnxModel implements WeightSource {

    // TensorProto.DataType
    public static final int FLOAT = 1;
    public static final int UINT8 = 2;
    public static final int INT8 = 3;
    public static final int UINT16 = 4;
    public static final int INT16 = 5;
    public static final int INT32 = 6;
    public static final int INT64 = 7;
    public static final int STRING = 8;
    public static final int BOOL = 9;
    public static final int FLOAT16 = 10;
    public static final int DOUBLE = 11;
    public static final int UINT32 = 12;
    public static final int UINT64 = 13;
    public static final int BFLOAT16 = 16;

    /**
     * An ONNX tensor (an initializer or a Constant node's value). {@code data} holds the {@code numel} values
     * little-endian at {@link #elemSize(int)} bytes each; null only for STRING tensors, which Sparsa does not
     * decode.
     */
    public record OnnxTensor(String name, int dataType, long[] dims, MemorySegment data) {
        public long numel() {
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return n;
        }

        /** All values as floats (FLOAT, FLOAT16, BFLOAT16, DOUBLE and the integer types). */
        public float[] floats() {
            int n = checkedNumel();
            float[] out = new float[n];
            for (int i = 0; i < n; i++) {
                out[i] = switch (dataType) {
                    case FLOAT -> data.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
                    case FLOAT16 -> Float.float16ToFloat(data.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
                    case BFLOAT16 -> Float.intBitsToFloat(
                            (data.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i) & 0xffff) << 16);
                    case DOUBLE -> (float) data.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i);
                    default -> (float) longAt(i);
                };
            }
            return out;
        }

        /** All values as longs (the integer and bool types). */
        public long[] longs() {
            int n = checkedNumel();
            long[] out = new long[n];
            for (int i = 0; i < n; i++) {
                out[i] = longAt(i);
            }
            return out;
        }

        private long longAt(int i) {
            return switch (dataType) {
                case INT64, UINT64 -> data.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i);
                case INT32 -> data.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
                case UINT32 -> data.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i) & 0xffffffffL;
                case INT16 -> data.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i);
                case UINT16 -> data.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i) & 0xffff;
                case INT8 -> data.get(ValueLayout.JAVA_BYTE, i);
                case UINT8, BOOL -> data.get(ValueLayout.JAVA_BYTE, i) & 0xff;
                default -> throw new FormatException(name + ": " + typeName(dataType) + " tensor is not integer");
            };
        }

        private int checkedNumel() {
            if (data == null) {
                throw new FormatException(name + ": " + typeName(dataType) + " tensor has no numeric data");
            }
            long n = numel();
            if (n > Integer.MAX_VALUE - 8) {
                throw new FormatException(name + ": too many values to copy (" + n + ")");
            }
            return (int) n;
        }

        @Override
        public String toString() {
            return name + " " + typeName(dataType) + Arrays.toString(dims);
        }
    }

    /** A node attribute (AttributeProto); only the value kinds Sparsa reads are decoded. */
    public sealed interface Attribute {
        String name();

        record Float(String name, float value) implements Attribute {
        }

        record Int(String name, long value) implements Attribute {
        }

        record Str(String name, String value) implements Attribute {
        }

        record TensorValue(String name, OnnxTensor value) implements Attribute {
        }

        record Floats(String name, float[] value) implements Attribute {
        }

        record Ints(String name, long[] value) implements Attribute {
        }

        record Strings(String name, List<String> value) implements Attribute {
        }

        /** A sub-graph, sparse tensor, type proto or other value Sparsa does not decode. */
        record Other(String name, int type) implements Attribute {
        }
    }

    /** One operator of the graph (NodeProto); an empty input name means an omitted optional input. */
    public record Node(String name, String opType, String domain, List<String> inputs, List<String> outputs,
                       Map<String, Attribute> attributes) {

        public Optional<Attribute> attribute(String key) {
            return Optional.ofNullable(attributes.get(key));
        }

        public long intAttr(String key, long dflt) {
            return attributes.get(key) instanceof Attribute.Int(var n, var v) ? v : dflt;
        }

        public float floatAttr(String key, float dflt) {
            return attributes.get(key) instanceof Attribute.Float(var n, var v) ? v : dflt;
        }

        public String input(int i) {
            return i < inputs.size() ? inputs.get(i) : "";
        }

        public String output(int i) {
            return i < outputs.size() ? outputs.get(i) : "";
        }
    }

    /**
     * A graph input or output (ValueInfoProto): its element type (0 when not a tensor) and its dims, each a number
     * or a symbolic name such as {@code "batch"} ({@code "?"} when unknown).
     */
    public record ValueInfo(String name, int elemType, List<String> dims) {
    }

    private final String location;
    private final Arena arena;
    private final Map<String, OnnxTensor> initializers = new LinkedHashMap<>();
    private final List<Node> nodes = new ArrayList<>();
    private final List<ValueInfo> inputs = new ArrayList<>();
    private final List<ValueInfo> outputs = new ArrayList<>();
    private final Map<String, Object> metadata = new LinkedHashMap<>();

    private OnnxModel(String location, Arena arena, MemorySegment file) {
        this.location = location;
        this.arena = arena;
        parseModel(new ProtoReader(location, file));
    }

    /** Opens and mmaps an ONNX file. */
    public static OnnxModel open(Path file) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return new OnnxModel(file.toString(), arena, seg);
        } catch (NoSuchFileException e) {
            arena.close();
            throw FormatException.of(file, "no such file");
        } catch (IOException e) {
            arena.close();
            throw FormatException.of(file, "cannot read: " + e.getMessage());
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Parses an ONNX model held in memory (e.g. a classpath resource); {@code location} names it in errors. */
    public static OnnxModel parse(String location, byte[] bytes) {
        return new OnnxModel(location, null, MemorySegment.ofArray(bytes));
    }

    // ------------------------------------------------------------------------------------------------ accessors

    /** Every initializer, in file order. */
    public Map<String, OnnxTensor> initializers() {
        return Collections.unmodifiableMap(initializers);
    }

    /** The initializer, or a FormatException naming the file. */
    public OnnxTensor initializer(String name) {
        OnnxTensor t = initializers.get(name);
        if (t == null) {
            throw FormatException.of(location, "no initializer named '" + name + "'");
        }
        return t;
    }

    /** The graph's nodes, in file (topological) order. */
    public List<Node> nodes() {
        return Collections.unmodifiableList(nodes);
    }

    /** Graph inputs that are not initializers (the model's real inputs). */
    public List<ValueInfo> inputs() {
        return inputs.stream().filter(v -> !initializers.containsKey(v.name())).toList();
    }

    public List<ValueInfo> outputs() {
        return Collections.unmodifiableList(outputs);
    }

    @Override
    public String location() {
        return location;
    }

    /** Names of the floating-point initializers (those {@link #tensor(String)} serves), in file order. */
    @Override
    public Collection<String> names() {
        return initializers.values().stream().filter(t -> dtypeOf(t.dataType()) != null).map(OnnxTensor::name)
                .toList();
    }

    @Override
    public boolean contains(String name) {
        OnnxTensor t = initializers.get(name);
        return t != null && dtypeOf(t.dataType()) != null;
    }

    @Override
    public Tensor tensor(String name) {
        OnnxTensor t = initializer(name);
        DType dt = dtypeOf(t.dataType());
        if (dt == null) {
            throw FormatException.of(location, "initializer '" + name + "' is " + typeName(t.dataType())
                    + ", not a floating-point tensor");
        }
        int[] shape = new int[t.dims().length];
        for (int i = 0; i < shape.length; i++) {
            if (t.dims()[i] > Integer.MAX_VALUE) {
                throw FormatException.of(location, "initializer '" + name + "' dimension " + t.dims()[i]
                        + " too large");
            }
            shape[i] = (int) t.dims()[i];
        }
        return new Tensor(name, dt, shape, t.data());
    }

    /** ir_version, producer_name, producer_version, domain, model_version, opset.&lt;domain&gt;, metadata_props. */
    @Override
    public Map<String, Object> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    @Override
    public void close() {
        if (arena != null && arena.scope().isAlive()) {
            arena.close();
        }
    }

    public static DType dtypeOf(int onnxType) {
        return switch (onnxType) {
            case FLOAT -> DType.F32;
            case FLOAT16 -> DType.F16;
            case BFLOAT16 -> DType.BF16;
            default -> null;
        };
    }

    /** Bytes per value of an ONNX data type, or 0 when not fixed-size (STRING) or unknown. */
    public static int elemSize(int onnxType) {
        return switch (onnxType) {
            case FLOAT, INT32, UINT32 -> 4;
            case UINT8, INT8, BOOL -> 1;
            case UINT16, INT16, FLOAT16, BFLOAT16 -> 2;
            case INT64, DOUBLE, UINT64 -> 8;
            case 14 -> 8; // COMPLEX64
            case 15 -> 16; // COMPLEX128
            default -> 0;
        };
    }

    public static String typeName(int onnxType) {
        return switch (onnxType) {
            case FLOAT -> "FLOAT";
            case UINT8 -> "UINT8";
            case INT8 -> "INT8";
            case UINT16 -> "UINT16";
            case INT16 -> "INT16";
            case INT32 -> "INT32";
            case INT64 -> "INT64";
            case STRING -> "STRING";
            case BOOL -> "BOOL";
            case FLOAT16 -> "FLOAT16";
            case DOUBLE -> "DOUBLE";
            case UINT32 -> "UINT32";
            case UINT64 -> "UINT64";
            case 14 -> "COMPLEX64";
            case 15 -> "COMPLEX128";
            case BFLOAT16 -> "BFLOAT16";
            default -> "type#" + onnxType;
        };
    }

    // ------------------------------------------------------------------------------------------------ parsing

    /** ModelProto: ir_version=1, producer_name=2, producer_version=3, domain=4, model_version=5, graph=7,
     *  opset_import=8, metadata_props=14. */
    private void parseModel(ProtoReader r) {
        boolean sawGraph = false;
        while (r.hasMore()) {
            switch (r.nextField()) {
                case 1 -> metadata.put("ir_version", r.int64());
                case 2 -> metadata.put("producer_name", r.string());
                case 3 -> metadata.put("producer_version", r.string());
                case 4 -> metadata.put("domain", r.string());
                case 5 -> metadata.put("model_version", r.int64());
                case 7 -> {
                    if (sawGraph) {
                        throw FormatException.of(location, "ModelProto has more than one graph");
                    }
                    parseGraph(r.message());
                    sawGraph = true;
                }
                case 8 -> { // OperatorSetIdProto: domain=1, version=2
                    ProtoReader o = r.message();
                    String domain = "";
                    long version = 0;
                    while (o.hasMore()) {
                        switch (o.nextField()) {
                            case 1 -> domain = o.string();
                            case 2 -> version = o.int64();
                            default -> o.skip();
                        }
                    }
                    metadata.put("opset." + (domain.isEmpty() ? "ai.onnx" : domain), version);
                }
                case 14 -> { // StringStringEntryProto: key=1, value=2
                    ProtoReader e = r.message();
                    String key = "";
                    String value = "";
                    while (e.hasMore()) {
                        switch (e.nextField()) {
                            case 1 -> key = e.string();
                            case 2 -> value = e.string();
                            default -> e.skip();
                        }
                    }
                    metadata.put("meta." + key, value);
                }
                default -> r.skip();
            }
        }
        if (!sawGraph) {
            throw FormatException.of(location, "not an ONNX model: no graph (ModelProto field 7)");
        }
    }

    /** GraphProto: node=1, initializer=5, input=11, output=12, sparse_initializer=15. */
    private void parseGraph(ProtoReader r) {
        while (r.hasMore()) {
            switch (r.nextField()) {
                case 1 -> nodes.add(parseNode(r.message()));
                case 2 -> metadata.put("graph_name", r.string());
                case 5 -> {
                    OnnxTensor t = parseTensor(r.message(), "initializer");
                    if (initializers.putIfAbsent(t.name(), t) != null) {
                        throw FormatException.of(location, "duplicate initializer '" + t.name() + "'");
                    }
                }
                case 11 -> inputs.add(parseValueInfo(r.message()));
                case 12 -> outputs.add(parseValueInfo(r.message()));
                case 15 -> throw FormatException.of(location, "sparse initializers are not supported");
                default -> r.skip();
            }
        }
    }

    /** NodeProto: input=1, output=2, name=3, op_type=4, attribute=5, domain=7. */
    private Node parseNode(ProtoReader r) {
        List<String> in = new ArrayList<>();
        List<String> out = new ArrayList<>();
        String name = "";
        String op = "";
        String domain = "";
        Map<String, Attribute> attrs = new LinkedHashMap<>();
        while (r.hasMore()) {
            switch (r.nextField()) {
                case 1 -> in.add(r.string());
                case 2 -> out.add(r.string());
                case 3 -> name = r.string();
                case 4 -> op = r.string();
                case 5 -> {
                    Attribute a = parseAttribute(r.message());
                    attrs.put(a.name(), a);
                }
                case 7 -> domain = r.string();
                default -> r.skip();
            }
        }
        if (op.isEmpty()) {
            throw FormatException.of(location, "node '" + name + "' has no op_type");
        }
        return new Node(name, op, domain, List.copyOf(in), List.copyOf(out), Collections.unmodifiableMap(attrs));
    }

    /**
     * AttributeProto: name=1, f=2, i=3, s=4, t=5, g=6, floats=7, ints=8, strings=9, tensors=10, graphs=11,
     * type=20 (FLOAT=1, INT=2, STRING=3, TENSOR=4, GRAPH=5, FLOATS=6, INTS=7, STRINGS=8, ...).
     */
    private Attribute parseAttribute(ProtoReader r) {
        String name = "";
        int type = 0;
        float f = 0;
        long i = 0;
        String s = "";
        OnnxTensor t = null;
        FloatList floats = new FloatList();
        LongList ints = new LongList();
        List<String> strings = new ArrayList<>();
        while (r.hasMore()) {
            switch (r.nextField()) {
                case 1 -> name = r.string();
                case 2 -> f = r.float32();
                case 3 -> i = r.int64();
                case 4 -> s = r.string();
                case 5 -> t = parseTensor(r.message(), "attribute tensor");
                case 7 -> r.floats(floats);
                case 8 -> r.int64s(ints);
                case 9 -> strings.add(r.string());
                case 20 -> type = r.int32();
                default -> r.skip();
            }
        }
        return switch (type) {
            case 1 -> new Attribute.Float(name, f);
            case 2 -> new Attribute.Int(name, i);
            case 3 -> new Attribute.Str(name, s);
            case 4 -> {
                if (t == null) {
                    throw FormatException.of(location, "attribute '" + name + "' of type TENSOR has no tensor");
                }
                yield new Attribute.TensorValue(name, t);
            }
            case 6 -> new Attribute.Floats(name, floats.toArray());
            case 7 -> new Attribute.Ints(name, ints.toArray());
            case 8 -> new Attribute.Strings(name, List.copyOf(strings));
            default -> new Attribute.Other(name, type);
        };
    }

    /** ValueInfoProto: name=1, type=2 → TypeProto.tensor_type=1 → elem_type=1, shape=2 → dim=1 →
     *  dim_value=1 | dim_param=2. */
    private ValueInfo parseValueInfo(ProtoReader r) {
        String name = "";
        int elem = 0;
        List<String> dims = new ArrayList<>();
        while (r.hasMore()) {
            switch (r.nextField()) {
                case 1 -> name = r.string();
                case 2 -> {
                    ProtoReader type = r.message();
                    while (type.hasMore()) {
                        if (type.nextField() != 1) {
                            type.skip();
                            continue;
                        }
                        ProtoReader tt = type.message();
                        while (tt.hasMore()) {
                            switch (tt.nextField()) {
                                case 1 -> elem = tt.int32();
                                case 2 -> {
                                    ProtoReader shape = tt.message();
                                    while (shape.hasMore()) {
                                        if (shape.nextField() != 1) {
                                            shape.skip();
                                            continue;
                                        }
                                        ProtoReader dim = shape.message();
                                        String d = "?";
                                        while (dim.hasMore()) {
                                            switch (dim.nextField()) {
                                                case 1 -> d = Long.toString(dim.int64());
                                                case 2 -> d = dim.string();
                                                default -> dim.skip();
                                            }
                                        }
                                        dims.add(d);
                                    }
                                }
                                default -> tt.skip();
                            }
                        }
                    }
                }
                default -> r.skip();
            }
        }
        return new ValueInfo(name, elem, List.copyOf(dims));
    }

    /**
     * TensorProto: dims=1, data_type=2, float_data=4, int32_data=5, string_data=6, int64_data=7, name=8,
     * raw_data=9, double_data=10, uint64_data=11, external_data=13, data_location=14 (EXTERNAL=1).
     */
    private OnnxTensor parseTensor(ProtoReader r, String what) {
        LongList dims = new LongList();
        int type = 0;
        String name = "";
        MemorySegment raw = null;
        FloatList floatData = new FloatList();
        LongList intData = new LongList(); // int32_data, int64_data or uint64_data: only one is used per type
        List<Double> doubleData = new ArrayList<>();
        boolean external = false;
        boolean strings = false;
        while (r.hasMore()) {
            switch (r.nextField()) {
                case 1 -> r.int64s(dims);
                case 2 -> type = r.int32();
                case 4 -> r.floats(floatData);
                case 5, 7, 11 -> r.int64s(intData);
                case 6 -> {
                    strings = true;
                    r.skip();
                }
                case 8 -> name = r.string();
                case 9 -> raw = r.bytes();
                case 10 -> {
                    if (r.wireType() == ProtoReader.LEN) {
                        MemorySegment s = r.bytes();
                        for (long o = 0; o + 8 <= s.byteSize(); o += 8) {
                            doubleData.add(s.get(ValueLayout.JAVA_DOUBLE_UNALIGNED, o));
                        }
                    } else {
                        r.skip();
                    }
                }
                case 13 -> {
                    external = true;
                    r.skip();
                }
                case 14 -> external |= r.int32() == 1;
                default -> r.skip();
            }
        }
        String label = what + " '" + name + "'";
        if (external) {
            throw FormatException.of(location, label + " stores its data in an external file, which Sparsa does not"
                    + " support (save the model with all tensors inside the .onnx file)");
        }
        long[] shape = dims.toArray();
        long numel = 1;
        for (long d : shape) {
            if (d < 0) {
                throw FormatException.of(location, label + " has a negative dimension " + d);
            }
            try {
                numel = Math.multiplyExact(numel, d);
            } catch (ArithmeticException e) {
                throw FormatException.of(location, label + " has too many elements " + Arrays.toString(shape));
            }
        }
        if (type == STRING || strings) {
            return new OnnxTensor(name, STRING, shape, null);
        }
        int size = elemSize(type);
        if (size == 0) {
            throw FormatException.of(location, label + " has unsupported data type " + typeName(type));
        }
        if (numel > Long.MAX_VALUE / 16) {
            throw FormatException.of(location, label + " has too many elements " + Arrays.toString(shape));
        }
        long bytes = numel * size;
        if (raw != null) {
            if (raw.byteSize() != bytes) {
                throw FormatException.of(location, label + ": raw_data has " + raw.byteSize() + " bytes, "
                        + typeName(type) + Arrays.toString(shape) + " needs " + bytes);
            }
            return new OnnxTensor(name, type, shape, raw);
        }
        // Typed repeated fields: FLOAT/COMPLEX64 in float_data; INT64 in int64_data; UINT32/UINT64 in uint64_data;
        // DOUBLE in double_data; every smaller integer type, bool and the 16-bit floats in int32_data.
        long have = switch (type) {
            case FLOAT, 14 -> floatData.size() / (type == 14 ? 2 : 1);
            case DOUBLE -> doubleData.size();
            default -> intData.size();
        };
        if (have != numel) {
            throw FormatException.of(location, label + " has " + have + " values, " + typeName(type)
                    + Arrays.toString(shape) + " needs " + numel);
        }
        MemorySegment seg = MemorySegment.ofArray(new byte[Math.toIntExact(bytes)]);
        switch (type) {
            case FLOAT, 14 -> MemorySegment.copy(floatData.toArray(), 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED, 0,
                    floatData.size());
            case DOUBLE -> {
                for (int i = 0; i < numel; i++) {
                    seg.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, doubleData.get(i));
                }
            }
            default -> {
                long[] v = intData.toArray();
                for (int i = 0; i < numel; i++) {
                    switch (size) {
                        case 1 -> seg.set(ValueLayout.JAVA_BYTE, i, (byte) v[i]);
                        case 2 -> seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) v[i]);
                        case 4 -> seg.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i, (int) v[i]);
                        default -> seg.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, v[i]);
                    }
                }
            }
        }
        return new OnnxTensor(name, type, shape, seg);
    }
}
