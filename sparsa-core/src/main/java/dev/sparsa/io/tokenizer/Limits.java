package dev.sparsa.io.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.SparsaException.FormatException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A tokenizer.json's {@code truncation} and {@code padding} (Hugging Face tokenizers), which {@link Tokenizer#encode}
 * does not apply: the caller cuts and pads with {@link #truncate} and {@link #padTo}.
 *
 * @param maxLength    truncation's {@code max_length} in tokens, special tokens included; 0 when not declared
 * @param truncateLeft truncation {@code direction} Left (drop the first content tokens)
 * @param padFixed     padding strategy {@code Fixed} n, else 0
 * @param padLongest   padding strategy {@code BatchLongest}
 * @param padId        padding's {@code pad_id}
 * @param padTypeId    padding's {@code pad_type_id}
 */
public record Limits(int maxLength, boolean truncateLeft, int padFixed, boolean padLongest, int padId, int padTypeId) {

    /** Neither truncation nor padding. */
    public static final Limits NONE = new Limits(0, false, 0, false, 0, 0);

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The limits {@code file} declares; a malformed field is a FormatException naming it. */
    public static Limits of(Path file) {
        JsonNode root;
        try (InputStream in = Files.newInputStream(file)) {
            root = JSON.readTree(in);
        } catch (IOException e) {
            throw FormatException.of(file, "cannot read: " + e.getMessage());
        }
        return of(root, file.toString());
    }

    static Limits of(JsonNode root, String src) {
        int max = 0;
        boolean left = false;
        JsonNode t = root == null ? null : root.get("truncation");
        if (t != null && !t.isNull()) {
            JsonNode m = t.get("max_length");
            if (m == null || !m.canConvertToInt() || m.asInt() < 1) {
                throw FormatException.of(src, "truncation.max_length: expected a positive integer");
            }
            max = m.asInt();
            left = t.path("direction").asText("Right").equals("Left");
        }
        int fixed = 0;
        boolean longest = false;
        int padId = 0;
        int padType = 0;
        JsonNode p = root == null ? null : root.get("padding");
        if (p != null && !p.isNull()) {
            JsonNode s = p.get("strategy");
            if (s != null && s.isObject() && s.has("Fixed")) {
                fixed = s.get("Fixed").asInt();
                if (fixed < 1) {
                    throw FormatException.of(src, "padding.strategy.Fixed: expected a positive integer");
                }
            } else if (s != null && s.isTextual() && s.asText().equals("BatchLongest")) {
                longest = true;
            } else {
                throw FormatException.of(src, "padding.strategy: expected BatchLongest or {\"Fixed\": n}");
            }
            padId = p.path("pad_id").asInt(0);
            padType = p.path("pad_type_id").asInt(0);
        }
        return new Limits(max, left, fixed, longest, padId, padType);
    }

    /** These limits with truncation at {@code maxLength} tokens instead (a {@code --max-length} option). */
    public Limits withMaxLength(int maxLength) {
        return new Limits(maxLength, truncateLeft, padFixed, padLongest, padId, padTypeId);
    }

    public boolean pads() {
        return padFixed > 0 || padLongest;
    }

    /**
     * {@code ids} (special tokens included: {@code prefix} of them first and {@code suffix} last, as the
     * post-processor added them) cut to {@code maxLength} tokens by dropping content tokens from the end (or from the
     * start when the direction is Left), as Hugging Face truncates a single sequence; unchanged when it fits or
     * when there is no limit.
     */
    public int[] truncate(int[] ids, int prefix, int suffix) {
        if (maxLength == 0 || ids.length <= maxLength) {
            return ids;
        }
        int keep = Math.max(0, maxLength - prefix - suffix);
        int[] out = new int[Math.min(ids.length, prefix + keep + suffix)];
        System.arraycopy(ids, 0, out, 0, prefix);
        int from = truncateLeft ? ids.length - suffix - keep : prefix;
        System.arraycopy(ids, from, out, prefix, keep);
        System.arraycopy(ids, ids.length - suffix, out, prefix + keep, suffix);
        return out;
    }

    /** The padded length of a batch whose longest sequence has {@code longest} tokens (no padding: longest). */
    public int padTo(int longest) {
        return padFixed > 0 ? Math.max(padFixed, longest) : longest;
    }

    /** How many special tokens {@code tok} puts before and after the content of {@code text} ([CLS] / [SEP]: 1, 1). */
    public static int[] specials(Tokenizer tok, String text) {
        int[] with = tok.encode(text, true);
        int[] without = tok.encode(text, false);
        for (int p = 0; p + without.length <= with.length; p++) {
            if (Arrays.equals(with, p, p + without.length, without, 0, without.length)) {
                return new int[]{p, with.length - p - without.length};
            }
        }
        return new int[]{0, 0};
    }
}
