package dev.sparsa.train;

import dev.sparsa.SparsaException;

import java.util.SplittableRandom;

/**
 * Training batches from one token stream (the documents of a corpus, each followed by EOS, as the evaluation
 * protocol builds it): the stream is cut into chunks of {@code t + 1} tokens with stride t (so every token but the
 * first is a target once per epoch), and each epoch visits the chunks in an order drawn from {@code seed + epoch}.
 * The position (epoch, cursor) is all the state there is: a checkpoint stores it and {@link #seek} restores it.
 */
public final class TrainData {
    private final int[] ids;
    private final int t;
    private final int chunks;
    private final long seed;
    private int epoch;
    private int cursor;
    private int[] order;

    /** Where the next chunk comes from. */
    public record Position(int epoch, int cursor) {
    }

    /**
     * @param name for messages (the corpus)
     * @throws SparsaException.UsageException when the stream is shorter than one chunk
     */
    public TrainData(String name, int[] ids, int t, long seed) {
        if (t < 1) {
            throw new SparsaException.UsageException("--seq must be >= 1, got " + t);
        }
        if (ids.length < t + 1) {
            throw new SparsaException.UsageException(name + ": " + ids.length + " tokens is shorter than one training"
                    + " window of " + (t + 1) + " tokens (--seq " + t + " + 1)");
        }
        this.ids = ids;
        this.t = t;
        this.chunks = (ids.length - 1) / t;
        this.seed = seed;
        seek(new Position(0, 0));
    }

    /** Chunks per epoch. */
    public int chunks() {
        return chunks;
    }

    public int seqLen() {
        return t;
    }

    /** CRC-32C of the token ids (little-endian int32): the same text and tokenizer give the same value. */
    public long checksum() {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(ids.length * Integer.BYTES)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(ids);
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update(b);
        return c.getValue();
    }

    /** Tokens in the stream. */
    public int tokens() {
        return ids.length;
    }

    public Position position() {
        return new Position(epoch, cursor);
    }

    /** Continues from {@code p} (as saved by {@link #position()}). */
    public void seek(Position p) {
        if (p.epoch() < 0 || p.cursor() < 0 || p.cursor() > chunks) {
            throw new IllegalArgumentException("data position " + p + " outside " + chunks + " chunks");
        }
        epoch = p.epoch();
        cursor = p.cursor();
        order = permutation(chunks, seed + epoch);
    }

    /** Copies the next {@code seqs} chunks to {@code batch[off ..]} ({@code seqs · (t+1)} tokens), row by row. */
    public void next(int seqs, int[] batch, int off) {
        int stride = t + 1;
        for (int b = 0; b < seqs; b++) {
            if (cursor == chunks) {
                epoch++;
                cursor = 0;
                order = permutation(chunks, seed + epoch);
            }
            int c = order[cursor++];
            System.arraycopy(ids, c * t, batch, off + b * stride, stride);
        }
    }

    // Fisher–Yates with a generator seeded by s
    private static int[] permutation(int n, long s) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        SplittableRandom r = new SplittableRandom(s);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int x = p[i];
            p[i] = p[j];
            p[j] = x;
        }
        return p;
    }
}
