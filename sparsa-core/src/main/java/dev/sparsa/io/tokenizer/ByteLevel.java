package dev.sparsa.io.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * GPT-2's byte ↔ unicode table (HF tokenizers {@code pre_tokenizers::byte_level::bytes_char}): the 188 printable
 * bytes {@code !..~}, {@code ¡..¬}, {@code ®..ÿ} map to themselves, the other 68 bytes to U+0100, U+0101, ... in
 * byte order. Byte-level BPE vocabularies are written in these characters ("Ġ" = space, "Ċ" = newline).
 */
final class ByteLevel {
    /** byte (0..255) → the char standing for it. */
    static final char[] BYTE_TO_CHAR = new char[256];
    /** char → byte, or -1 where the char stands for no byte. Indexed by char up to U+0143. */
    private static final short[] CHAR_TO_BYTE = new short[0x144];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, (short) -1);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + n++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = (short) b;
        }
    }

    private ByteLevel() {
    }

    /** The byte-level form of {@code s}: its UTF-8 bytes, each written as its table char. */
    static String encode(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(out);
    }

    /** The byte a table char stands for, or -1. */
    static int byteOf(int c) {
        return c >= 0 && c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /**
     * UTF-8 bytes → String as Rust's {@code String::from_utf8_lossy} does it: each invalid sequence (the longest
     * prefix of a well-formed sequence, or else one byte) becomes one U+FFFD. Java's own decoder differs on some
     * inputs (e.g. {@code ED B9}: Rust gives two U+FFFD, Java one), so this is hand-written.
     */
    static String utf8Lossy(byte[] bytes, int len) {
        return decode(bytes, len, true);
    }

    /** UTF-8 bytes → String, or null when they are not valid UTF-8 (Rust {@code String::from_utf8}). */
    static String utf8Strict(byte[] bytes, int len) {
        return decode(bytes, len, false);
    }

    private static String decode(byte[] b, int n, boolean lossy) {
        StringBuilder sb = new StringBuilder(n);
        int i = 0;
        while (i < n) {
            int b0 = b[i] & 0xFF;
            if (b0 < 0x80) {
                sb.append((char) b0);
                i++;
                continue;
            }
            int width;
            int lo = 0x80;
            int hi = 0xBF;
            if (b0 >= 0xC2 && b0 <= 0xDF) {
                width = 2;
            } else if (b0 >= 0xE0 && b0 <= 0xEF) {
                width = 3;
                if (b0 == 0xE0) {
                    lo = 0xA0; // no overlongs
                } else if (b0 == 0xED) {
                    hi = 0x9F; // no surrogates
                }
            } else if (b0 >= 0xF0 && b0 <= 0xF4) {
                width = 4;
                if (b0 == 0xF0) {
                    lo = 0x90;
                } else if (b0 == 0xF4) {
                    hi = 0x8F; // nothing above U+10FFFF
                }
            } else {
                width = 0;
            }
            int good = 0; // bytes of a well-formed prefix
            if (width > 0) {
                good = 1;
                if (i + 1 < n && (b[i + 1] & 0xFF) >= lo && (b[i + 1] & 0xFF) <= hi) {
                    good = 2;
                    while (good < width && i + good < n && (b[i + good] & 0xC0) == 0x80) {
                        good++;
                    }
                }
            }
            if (width == 0 || good < width) {
                if (!lossy) {
                    return null;
                }
                sb.append('\uFFFD');
                i += Math.max(1, good);
                continue;
            }
            int cp = b0 & (0xFF >> (width + 1));
            for (int k = 1; k < width; k++) {
                cp = (cp << 6) | (b[i + k] & 0x3F);
            }
            sb.appendCodePoint(cp);
            i += width;
        }
        return sb.toString();
    }
}
