package dev.sparsa.eval;

import dev.sparsa.SparsaException;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * The token stream of the evaluation protocol: every line of a corpus tokenized without special tokens and followed
 * by the EOS id, concatenated. Each token carries the UTF-8 bytes it stands for, defined so that the bytes of a
 * document's tokens sum to the line's UTF-8 length, and its EOS counts one byte (the newline it stands for):
 * <ol>
 *   <li>each token gets {@link Tokenizer#tokenBytes} (a byte-level token its bytes, so the pieces of a multi-byte
 *       character split over tokens count their own bytes; {@code <0xXX>} one byte; ▁ one space);</li>
 *   <li>the difference between the line's UTF-8 length and that sum (−1 for the prefix space a SentencePiece
 *       normalizer adds, which sits in the first token; anything a normalizer changed) is settled on the document's
 *       first tokens: added to the first token when positive, taken from the first tokens in order (none below 0)
 *       when negative.</li>
 * </ol>
 * Immutable.
 */
public final class TokenStream {
    private final int[] ids;
    private final int[] bytes;
    private final int documents;
    private final long totalBytes;
    private final int eosId;
    private final String name;

    private TokenStream(String name, int[] ids, int[] bytes, int documents, long totalBytes, int eosId) {
        this.name = name;
        this.ids = ids;
        this.bytes = bytes;
        this.documents = documents;
        this.totalBytes = totalBytes;
        this.eosId = eosId;
    }

    /** The whole corpus. */
    public static TokenStream of(Corpus corpus, Tokenizer tok, int eosId) {
        return of(corpus, tok, eosId, Long.MAX_VALUE);
    }

    /**
     * The corpus, cut after its first {@code maxTokens} tokens (EOS included; lines past the cut are not tokenized).
     *
     * @throws SparsaException.UsageException for no EOS id ({@code eosId < 0}), {@code maxTokens < 1}, an empty corpus
     */
    public static TokenStream of(Corpus corpus, Tokenizer tok, int eosId, long maxTokens) {
        if (eosId < 0) {
            throw new SparsaException.UsageException("no EOS token id: the protocol ends each document with EOS");
        }
        if (maxTokens < 1) {
            throw new SparsaException.UsageException("--max-tokens must be at least 1, got " + maxTokens);
        }
        List<String> lines = corpus.lines();
        if (lines.isEmpty()) {
            throw new SparsaException.UsageException(corpus.name() + ": empty text (no line to evaluate on)");
        }
        int cap = (int) Math.min(maxTokens, Integer.MAX_VALUE - 8);
        int[] ids = new int[Math.min(cap, 4096)];
        int[] bytes = new int[ids.length];
        int n = 0;
        int docs = 0;
        long total = 0;
        for (String line : lines) {
            if (n >= cap) {
                break;
            }
            int[] doc = tok.encode(line, false);
            int m = doc.length + 1;
            if (n + m > ids.length) {
                long want = Math.max((long) n + m, Math.min(cap, ids.length * 2L));
                if (want > Integer.MAX_VALUE - 8) {
                    throw new SparsaException.UsageException(corpus.name() + ": more than " + (Integer.MAX_VALUE - 8)
                            + " tokens; bound the run with --max-tokens");
                }
                int grow = (int) want;
                ids = Arrays.copyOf(ids, grow);
                bytes = Arrays.copyOf(bytes, grow);
            }
            System.arraycopy(doc, 0, ids, n, doc.length);
            ids[n + doc.length] = eosId;
            documentBytes(tok, doc, line.getBytes(StandardCharsets.UTF_8).length, bytes, n);
            bytes[n + doc.length] = 1;
            int take = Math.min(m, cap - n);
            for (int i = n; i < n + take; i++) {
                total += bytes[i];
            }
            n += take;
            docs++;
        }
        return new TokenStream(corpus.name(), Arrays.copyOf(ids, n), Arrays.copyOf(bytes, n), docs, total, eosId);
    }

    /**
     * Bytes of each token of one document (ids without EOS) into {@code out[from ..]}: {@link Tokenizer#tokenBytes},
     * the difference to {@code lineBytes} settled on the first tokens (class comment). Their sum is
     * {@code lineBytes}.
     */
    public static void documentBytes(Tokenizer tok, int[] doc, int lineBytes, int[] out, int from) {
        long sum = 0;
        for (int i = 0; i < doc.length; i++) {
            int b = tok.tokenBytes(doc[i]);
            out[from + i] = b;
            sum += b;
        }
        long delta = lineBytes - sum;
        if (doc.length == 0) {
            return; // nothing to carry it (a line always has a token; defensive)
        }
        if (delta > 0) {
            out[from] += (int) delta;
        }
        for (int i = 0; delta < 0 && i < doc.length; i++) {
            int take = (int) Math.min(out[from + i], -delta);
            out[from + i] -= take;
            delta += take;
        }
    }

    /** The corpus name. */
    public String name() {
        return name;
    }

    /** Tokens in the stream (EOS included). */
    public int size() {
        return ids.length;
    }

    public int id(int i) {
        return ids[i];
    }

    /** UTF-8 bytes token {@code i} stands for (1 for an EOS). */
    public int bytes(int i) {
        return bytes[i];
    }

    /** Copies ids {@code [from, from + len)} into {@code dst[0 .. len)}. */
    public void copyIds(int from, int len, int[] dst) {
        System.arraycopy(ids, from, dst, 0, len);
    }

    /** A copy of all ids. */
    public int[] ids() {
        return ids.clone();
    }

    /** A copy of all per-token byte counts. */
    public int[] tokenBytes() {
        return bytes.clone();
    }

    /** The largest id in the stream. */
    public int maxId() {
        int m = -1;
        for (int id : ids) {
            m = Math.max(m, id);
        }
        return m;
    }

    /** Documents (lines) the stream holds, the last one possibly cut. */
    public int documents() {
        return documents;
    }

    /** Sum of the bytes of all tokens in the stream. */
    public long totalBytes() {
        return totalBytes;
    }

    public int eosId() {
        return eosId;
    }
}
