package dev.sparsa.io.tokenizer;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
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
     * UTF-8 bytes → String, each maximal invalid subsequence becoming one U+FFFD (what Rust's
     * {@code String::from_utf8_lossy} and Java's decoder both do).
     */
    static String utf8Lossy(byte[] bytes, int len) {
        return new String(bytes, 0, len, StandardCharsets.UTF_8);
    }

    /** UTF-8 bytes → String, or null when they are not valid UTF-8 (Rust {@code String::from_utf8}). */
    static String utf8Strict(byte[] bytes, int len) {
        try {
            CharBuffer cb = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, 0, len));
            return cb.toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
