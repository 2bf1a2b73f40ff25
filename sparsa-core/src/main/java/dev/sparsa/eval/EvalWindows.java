package dev.sparsa.eval;

import dev.sparsa.SparsaException;

/**
 * The windows of the protocol over a {@link TokenStream}: non-overlapping, {@code contextLength} tokens each, from
 * token 0; the last partial window is kept. Window w covers tokens {@code [w·ctx, min((w+1)·ctx, n))} and predicts
 * its tokens 1..len−1 from the ones before them in the same window (token 0 of a window is context only).
 *
 * @param stream        the token stream
 * @param contextLength tokens per window (≥ 2)
 */
public record EvalWindows(TokenStream stream, int contextLength) {

    public EvalWindows {
        if (contextLength < 2) {
            throw new SparsaException.UsageException("--ctx must be at least 2 (a window predicts its tokens 1..n-1), "
                    + "got " + contextLength);
        }
        if (stream.size() < 2) {
            throw new SparsaException.UsageException(stream.name() + ": the text gives " + stream.size()
                    + " token(s), fewer than the 2 a prediction needs");
        }
    }

    /** Cuts {@code stream} into windows of {@code contextLength}. */
    public static EvalWindows of(TokenStream stream, int contextLength) {
        return new EvalWindows(stream, contextLength);
    }

    /** Number of windows, ⌈n / ctx⌉. */
    public int count() {
        return (int) (((long) stream.size() + contextLength - 1) / contextLength);
    }

    /** First stream index of window {@code w}. */
    public int start(int w) {
        return w * contextLength;
    }

    /** Tokens in window {@code w} (ctx, or fewer for the last one). */
    public int length(int w) {
        return Math.min(contextLength, stream.size() - w * contextLength);
    }

    /** Tokens predicted in all windows: Σ (len − 1). */
    public long predictedTokens() {
        return stream.size() - (long) count();
    }

    /** UTF-8 bytes of the predicted tokens of window {@code w} (its tokens 1..len−1). */
    public long predictedBytes(int w) {
        long b = 0;
        int s = start(w);
        for (int i = s + 1; i < s + length(w); i++) {
            b += stream.bytes(i);
        }
        return b;
    }

    /** UTF-8 bytes of all predicted tokens: the denominator of bits/byte. */
    public long predictedBytes() {
        long b = 0;
        for (int w = 0; w < count(); w++) {
            b += predictedBytes(w);
        }
        return b;
    }

    /** A copy of window {@code w}'s ids. */
    public int[] ids(int w) {
        int[] out = new int[length(w)];
        stream.copyIds(start(w), out.length, out);
        return out;
    }
}
