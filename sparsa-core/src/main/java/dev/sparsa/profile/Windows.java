package dev.sparsa.profile;

import dev.sparsa.SparsaException;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The token windows a profile runs: the corpus lines are tokenized (no special tokens) and concatenated into one
 * stream, which is cut into windows of exactly {@code contextLength} tokens; a last partial window is dropped.
 * {@code bytes} is the UTF-8 size of the text the windows cover (lines fully covered, plus the covered share of the
 * tokens of a line cut by the budget) — the denominator of bits-per-byte.
 */
public record Windows(List<int[]> windows, long tokens, long bytes, int contextLength) {

    /**
     * @param maxTokens token budget (≥ 1); the run takes ⌊min(budget, available) / contextLength⌋ windows
     */
    public static Windows of(Corpus corpus, Tokenizer tok, int contextLength, long maxTokens) {
        if (maxTokens < 1) {
            throw new SparsaException.UsageException("--tokens must be at least 1, got " + maxTokens);
        }
        if (contextLength < 1) {
            throw new SparsaException.UsageException("context length must be at least 1, got " + contextLength);
        }
        if (maxTokens < contextLength) {
            throw new SparsaException.UsageException("--tokens " + maxTokens + " is less than one context window ("
                    + contextLength + " tokens)");
        }
        long want = maxTokens / contextLength * contextLength;
        int[] stream = new int[1024];
        int n = 0;
        double bytes = 0;
        for (String line : corpus.lines()) {
            if (n >= want) {
                break;
            }
            int[] ids = tok.encode(line, false);
            if (ids.length == 0) {
                continue;
            }
            int take = (int) Math.min(ids.length, want - n);
            if (n + take > stream.length) {
                stream = Arrays.copyOf(stream, Math.max(n + take, stream.length * 2));
            }
            System.arraycopy(ids, 0, stream, n, take);
            n += take;
            bytes += Corpus.lineBytes(line) * (double) take / ids.length;
        }
        int count = n / contextLength;
        if (count == 0) {
            throw new SparsaException.UsageException(corpus.name() + ": the text has " + n
                    + " tokens, fewer than one context window (" + contextLength + " tokens)");
        }
        // Bytes of the dropped tail are taken off in proportion to its tokens.
        long used = (long) count * contextLength;
        long coveredBytes = Math.round(bytes * used / n);
        List<int[]> out = new ArrayList<>(count);
        for (int w = 0; w < count; w++) {
            out.add(Arrays.copyOfRange(stream, w * contextLength, (w + 1) * contextLength));
        }
        return new Windows(List.copyOf(out), used, coveredBytes, contextLength);
    }
}
