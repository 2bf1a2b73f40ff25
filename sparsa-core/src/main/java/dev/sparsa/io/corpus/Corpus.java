package dev.sparsa.io.corpus;

import dev.sparsa.SparsaException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A text to profile on: a name and its non-blank lines (paragraphs). {@link #bytes()} is the UTF-8 size of the
 * text as {@code lines joined by '\n'} plus a final newline, the denominator of bits-per-byte.
 */
public record Corpus(String name, List<String> lines) {

    public Corpus {
        lines = List.copyOf(lines);
    }

    /** UTF-8 bytes of one line plus its newline. */
    public static long lineBytes(String line) {
        return line.getBytes(StandardCharsets.UTF_8).length + 1L;
    }

    public long bytes() {
        long n = 0;
        for (String l : lines) {
            n += lineBytes(l);
        }
        return n;
    }

    /**
     * Reads any UTF-8 text file: strict decoding (invalid UTF-8 is an error naming the byte offset), a leading BOM
     * dropped, CR LF accepted, blank lines dropped. Empty or all-blank text is an error.
     */
    public static Corpus ofTextFile(Path file) {
        byte[] raw;
        try {
            raw = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw SparsaException.FormatException.of(file, "no such file");
        } catch (IOException e) {
            throw SparsaException.FormatException.of(file, "cannot read: " + e.getMessage());
        }
        String text = decodeUtf8(file, raw);
        Corpus c = new Corpus(file.getFileName().toString(), splitLines(text));
        if (c.lines().isEmpty()) {
            throw SparsaException.FormatException.of(file, "empty text (no non-blank line)");
        }
        return c;
    }

    static String decodeUtf8(Object file, byte[] raw) {
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(raw);
        try {
            String s = dec.decode(in).toString();
            return s.startsWith("\uFEFF") ? s.substring(1) : s;
        } catch (MalformedInputException e) {
            throw SparsaException.FormatException.of(file, "invalid UTF-8 at byte offset " + in.position());
        } catch (CharacterCodingException e) {
            throw SparsaException.FormatException.of(file, "invalid UTF-8: " + e.getMessage());
        }
    }

    static List<String> splitLines(String text) {
        List<String> out = new ArrayList<>();
        for (String l : text.split("\n", -1)) {
            String s = l.endsWith("\r") ? l.substring(0, l.length() - 1) : l;
            if (!s.isBlank()) {
                out.add(s);
            }
        }
        return out;
    }
}
