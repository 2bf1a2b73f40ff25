package dev.sparsa.io;

import java.util.List;

/**
 * A typed GGUF metadata value, as {@link GgufWriter} writes it and {@link GgufFile#typedMetadata()} returns it.
 * {@code value} holds the Java value described in {@link GgufType}; for an ARRAY, {@code elementType} is the
 * element type and {@code value} a List of Java values — or, for arrays of arrays, a List of GgufValue.
 */
public record GgufValue(GgufType type, GgufType elementType, Object value) {

    public static GgufValue u32(long v) {
        return new GgufValue(GgufType.UINT32, null, v);
    }

    public static GgufValue i32(int v) {
        return new GgufValue(GgufType.INT32, null, v);
    }

    public static GgufValue f32(float v) {
        return new GgufValue(GgufType.FLOAT32, null, v);
    }

    public static GgufValue bool(boolean v) {
        return new GgufValue(GgufType.BOOL, null, v);
    }

    public static GgufValue str(String v) {
        return new GgufValue(GgufType.STRING, null, v);
    }

    public static GgufValue array(GgufType elementType, List<?> values) {
        return new GgufValue(GgufType.ARRAY, elementType, values);
    }

    /** The plain Java view: nested GgufValues unwrapped into Lists. */
    public Object plain() {
        if (type == GgufType.ARRAY && elementType == GgufType.ARRAY) {
            return ((List<?>) value).stream().map(v -> ((GgufValue) v).plain()).toList();
        }
        return value;
    }
}
