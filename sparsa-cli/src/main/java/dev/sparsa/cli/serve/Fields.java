package dev.sparsa.cli.serve;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.HashSet;
import java.util.Iterator;
import java.util.Set;

/**
 * Typed reads of one JSON object of a request, each failure a 400 naming the field ({@code param}, dotted for
 * nested fields: {@code messages[2].content}). A JSON null is the same as an absent field, as OpenAI takes it.
 * {@link #rejectUnknown()} refuses any field that was not read, as OpenAI does ("Unrecognized request argument").
 */
final class Fields {
    private final JsonNode node;
    private final String prefix;
    private final Set<String> read = new HashSet<>();

    /** The object at {@code path} ("" for the body). */
    Fields(JsonNode node, String path) {
        if (node == null || !node.isObject()) {
            throw ApiError.invalid(path.isEmpty() ? null : path, (path.isEmpty() ? "The request body" : "'" + path
                    + "'") + " must be a JSON object, got " + kind(node));
        }
        this.node = node;
        this.prefix = path.isEmpty() ? "" : path + ".";
    }

    /** The JSON type of {@code n} as a message says it. */
    static String kind(JsonNode n) {
        if (n == null || n.isMissingNode()) {
            return "nothing";
        }
        return switch (n.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> n.isIntegralNumber() ? "an integer" : "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NULL -> "null";
            default -> n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    String name(String key) {
        return prefix + key;
    }

    /** The raw value, or null when absent or JSON null. */
    JsonNode get(String key) {
        read.add(key);
        JsonNode v = node.get(key);
        return v == null || v.isNull() ? null : v;
    }

    boolean has(String key) {
        return get(key) != null;
    }

    ApiError wrongType(String key, String want, JsonNode got) {
        return ApiError.invalid(name(key), "'" + name(key) + "' must be " + want + ", got " + kind(got));
    }

    String string(String key, String dflt) {
        JsonNode v = get(key);
        if (v == null) {
            return dflt;
        }
        if (!v.isTextual()) {
            throw wrongType(key, "a string", v);
        }
        return v.asText();
    }

    String requiredString(String key) {
        String s = string(key, null);
        if (s == null) {
            throw ApiError.invalid(name(key), "Missing required parameter: '" + name(key) + "'");
        }
        return s;
    }

    /** An integer in [min, max] (a JSON number with no fraction: 16 and 16.0 are, 16.5 is not). */
    Long integer(String key, long min, long max) {
        JsonNode v = get(key);
        if (v == null) {
            return null;
        }
        if (!v.isNumber() || (!v.isIntegralNumber() && v.asDouble() != Math.rint(v.asDouble()))
                || !v.canConvertToLong()) {
            throw wrongType(key, "an integer", v);
        }
        long x = v.asLong();
        if (x < min || x > max) {
            throw ApiError.invalid(name(key), "'" + name(key) + "' must be " + range(min, max) + ", got " + x);
        }
        return x;
    }

    /** A finite number in [min, max]. */
    Double number(String key, double min, double max) {
        JsonNode v = get(key);
        if (v == null) {
            return null;
        }
        if (!v.isNumber() || !Double.isFinite(v.asDouble())) {
            throw wrongType(key, "a number", v);
        }
        double x = v.asDouble();
        if (x < min || x > max) {
            throw ApiError.invalid(name(key), "'" + name(key) + "' must be in [" + fmt(min) + ", " + fmt(max)
                    + "], got " + v.asText());
        }
        return x;
    }

    Boolean bool(String key) {
        JsonNode v = get(key);
        if (v == null) {
            return null;
        }
        if (!v.isBoolean()) {
            throw wrongType(key, "a boolean", v);
        }
        return v.asBoolean();
    }

    /** Accepted and without effect here (user, metadata, ...). */
    void ignore(String... keys) {
        for (String k : keys) {
            read.add(k);
        }
    }

    /** A known field that Sparsa does not implement: fine absent or at {@code neutral}, else a 400 saying so. */
    void onlyNeutral(String key, java.util.function.Predicate<JsonNode> neutral, String what) {
        JsonNode v = get(key);
        if (v != null && !neutral.test(v)) {
            throw ApiError.invalid(name(key), "'" + name(key) + "' is not supported by this server (" + what + ")");
        }
    }

    /** A 400 naming the first field not read. */
    void rejectUnknown() {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!read.contains(k)) {
                throw ApiError.invalid(name(k), "Unrecognized request argument supplied: " + name(k));
            }
        }
    }

    private static String range(long min, long max) {
        if (max >= Integer.MAX_VALUE) {
            return ">= " + min;
        }
        return "in [" + min + ", " + max + "]";
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
