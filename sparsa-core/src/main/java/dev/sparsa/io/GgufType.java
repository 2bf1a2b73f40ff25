package dev.sparsa.io;

/**
 * GGUF metadata value types (gguf.h {@code enum gguf_type}), with the Java type Sparsa uses for each:
 * <pre>
 * UINT8, INT8, UINT16, INT16, INT32 → Integer   (unsigned values stay non-negative)
 * UINT32, INT64                     → Long      (UINT32 keeps its unsigned value)
 * UINT64                            → Long      (two's-complement bit pattern; values ≥ 2^63 read negative)
 * FLOAT32 → Float, FLOAT64 → Double, BOOL → Boolean, STRING → String (UTF-8, malformed bytes replaced)
 * ARRAY                             → java.util.List of the element type's Java values (nested for arrays)
 * </pre>
 * Read numbers through {@code ((Number) v).intValue()} / {@code longValue()} to be independent of the box.
 */
public enum GgufType {
    UINT8(0, 1), INT8(1, 1), UINT16(2, 2), INT16(3, 2), UINT32(4, 4), INT32(5, 4), FLOAT32(6, 4), BOOL(7, 1),
    STRING(8, 8), ARRAY(9, 12), UINT64(10, 8), INT64(11, 8), FLOAT64(12, 8);

    /** The id in the file. */
    public final int id;
    /** Fewest bytes one value of this type occupies (a string's length field; an array's type + count). */
    public final int minBytes;

    GgufType(int id, int minBytes) {
        this.id = id;
        this.minBytes = minBytes;
    }

    /** The type with this id, or null. */
    public static GgufType of(int id) {
        for (GgufType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        return null;
    }
}
