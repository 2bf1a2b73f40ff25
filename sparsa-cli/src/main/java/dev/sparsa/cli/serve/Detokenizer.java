package dev.sparsa.cli.serve;

import dev.sparsa.io.tokenizer.Tokenizer;

import java.util.Arrays;

/**
 * Text of a generated sequence, token by token (incremental detokenization as vLLM does it): each step decodes a
 * short window {@code ids[prefix, end)} and emits what it adds to the window's previous text
 * {@code ids[prefix, read)}. The window starts on the last prompt tokens, so a first token that decodes with a
 * leading space (SentencePiece's ▁) keeps it; text is held back while it ends in U+FFFD (a multi-byte character
 * split over tokens) until {@link #flush()}. Special tokens (EOS) add no text. Not thread-safe: one per sequence.
 */
final class Detokenizer {
    /** Prompt tokens the first window starts on. */
    static final int PROMPT_CONTEXT = 5;

    private final Tokenizer tok;
    private int[] ids;
    private int size;
    private int prefix;
    private int read;

    Detokenizer(Tokenizer tok, int[] prompt) {
        this.tok = tok;
        int ctx = Math.min(PROMPT_CONTEXT, prompt.length);
        this.ids = Arrays.copyOfRange(prompt, prompt.length - ctx, prompt.length + 16);
        this.size = ctx;
        this.read = ctx;
    }

    /** Appends token {@code id}; returns the text it completes ("" while held back). */
    String push(int id) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, 2 * ids.length);
        }
        ids[size++] = id;
        String before = decode(prefix, read);
        String now = decode(prefix, size);
        if (now.length() <= before.length() || now.endsWith("\uFFFD")) {
            return "";
        }
        prefix = read;
        read = size;
        return now.substring(before.length());
    }

    /** The text still held back (an incomplete character comes out as U+FFFD), at the end of the sequence. */
    String flush() {
        String before = decode(prefix, read);
        String now = decode(prefix, size);
        prefix = read;
        read = size;
        return now.length() > before.length() ? now.substring(before.length()) : "";
    }

    private String decode(int from, int to) {
        return from == to ? "" : tok.decode(Arrays.copyOfRange(ids, from, to), true);
    }
}
