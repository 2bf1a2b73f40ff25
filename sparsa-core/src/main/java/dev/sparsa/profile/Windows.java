package dev.sparsa.profile;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The token windows a profile runs. Decoders ({@link #decoder}) use the evaluation protocol of
 * {@code dev.sparsa.eval} (docs/eval-protocol.md), so their CE / PPL / bits-per-byte equal {@code sparsa eval}'s:
 * each line followed by EOS, windows of {@code contextLength} from token 0, the last partial one kept, each window
 * predicting its tokens 1..n-1; {@code bytes} is the UTF-8 bytes of the predicted tokens (EOS = 1). Encoders
 * ({@link #of}): the lines are tokenized (no special tokens) and concatenated into one stream, which is cut into
 * windows of exactly {@code contextLength} tokens; a last partial window is dropped. {@code bytes} is then the UTF-8
 * size of the text the windows cover (lines fully covered, plus the covered share of the tokens of a line cut by the
 * budget).
 */
public record Windows(List<int[]> windows, long tokens, long bytes, int contextLength) {

    /**
     * Decoder windows by the evaluation protocol over the first {@code maxTokens} tokens of the stream (EOS
     * included); {@code tokens} counts the tokens run, {@code bytes} the bytes of the predicted ones.
     */
    public static Windows decoder(Corpus corpus, Tokenizer tok, int eosId, int contextLength, long maxTokens) {
        if (maxTokens < 1) {
            throw new SparsaException.UsageException("--tokens must be at least 1, got " + maxTokens);
        }
        EvalWindows ew = EvalWindows.of(TokenStream.of(corpus, tok, eosId, maxTokens), contextLength);
        List<int[]> out = new ArrayList<>(ew.count());
        for (int w = 0; w < ew.count(); w++) {
            out.add(ew.ids(w));
        }
        return new Windows(List.copyOf(out), ew.stream().size(), ew.predictedBytes(), contextLength);
    }

    /**
     * Encoder windows.
     *
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
