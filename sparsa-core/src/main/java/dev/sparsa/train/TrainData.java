package dev.sparsa.train;

import dev.sparsa.SparsaException;
import dev.sparsa.tensor.Permutation;

import java.util.SplittableRandom;

/**
 * Training batches from one token stream (the documents of a corpus, each followed by EOS, as the evaluation
 * protocol builds it): the stream is cut into chunks of {@code t + 1} tokens with stride t (so every token but the
 * first is a target once per epoch), and each epoch visits the chunks in an order drawn from {@code seed + epoch}.
 * The position (epoch, cursor) is all the state there is: a checkpoint stores it and {@link #seek} restores it.
 *
 * <p>{@link #phases} makes a non-stationary stream instead (several token streams, e.g. one per Brown genre, visited
 * one after another): each phase's chunks are drawn from its own stream only, {@code repeats} times in a fresh
 * seeded order, before the next phase starts; an epoch is every phase once, in order.
 */
public final class TrainData {
    private final int[] ids;
    private final int t;
    private final int chunks;
    private final long seed;
    private final int[][] phaseStarts;      // null: one stream, chunk c starts at c·t; else token offsets per phase
    private final int repeats;
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
        this.phaseStarts = null;
        this.repeats = 1;
        seek(new Position(0, 0));
    }

    private TrainData(int[] ids, int t, long seed, int[][] phaseStarts, int repeats) {
        this.ids = ids;
        this.t = t;
        this.seed = seed;
        this.phaseStarts = phaseStarts;
        this.repeats = repeats;
        int n = 0;
        for (int[] p : phaseStarts) {
            n = Math.addExact(n, Math.multiplyExact(p.length, repeats));
        }
        this.chunks = n;
        seek(new Position(0, 0));
    }

    /**
     * A non-stationary stream: phase k is {@code streams.get(k)} cut into chunks of t + 1 tokens with stride t
     * (chunks never cross into another phase), visited {@code repeats} times, each time in an order drawn from the
     * seed, the epoch, k and the repeat; then phase k + 1. {@link #chunks()} is the chunks of one epoch (every phase,
     * every repeat).
     *
     * @throws SparsaException.UsageException when a phase is shorter than one chunk or repeats &lt; 1
     */
    public static TrainData phases(String name, java.util.List<int[]> streams, int t, int repeats, long seed) {
        if (t < 1) {
            throw new SparsaException.UsageException("--seq must be >= 1, got " + t);
        }
        if (repeats < 1) {
            throw new SparsaException.UsageException(name + ": repeats per phase must be >= 1, got " + repeats);
        }
        if (streams.isEmpty()) {
            throw new SparsaException.UsageException(name + ": no phases");
        }
        int total = 0;
        for (int k = 0; k < streams.size(); k++) {
            int len = streams.get(k).length;
            if (len < t + 1) {
                throw new SparsaException.UsageException(name + ": phase " + k + " has " + len + " tokens, shorter than"
                        + " one training window of " + (t + 1) + " tokens (--seq " + t + " + 1)");
            }
            total = Math.addExact(total, len);
        }
        int[] all = new int[total];
        int[][] starts = new int[streams.size()][];
        int base = 0;
        for (int k = 0; k < streams.size(); k++) {
            int[] s = streams.get(k);
            System.arraycopy(s, 0, all, base, s.length);
            starts[k] = new int[(s.length - 1) / t];
            for (int c = 0; c < starts[k].length; c++) {
                starts[k][c] = base + c * t;
            }
            base += s.length;
        }
        return new TrainData(all, t, seed, starts, repeats);
    }

    /** Phases of the stream (1 for an ordinary one). */
    public int phaseCount() {
        return phaseStarts == null ? 1 : phaseStarts.length;
    }

    /**
     * Where phase k begins in an epoch's order, in chunks from the epoch's start ({@code k = phaseCount()} gives
     * {@link #chunks()}).
     */
    public int phaseStart(int k) {
        if (k < 0 || k > phaseCount()) {
            throw new IllegalArgumentException("phase " + k + " of " + phaseCount());
        }
        if (phaseStarts == null) {
            return k == 0 ? 0 : chunks;
        }
        int n = 0;
        for (int i = 0; i < k; i++) {
            n += phaseStarts[i].length * repeats;
        }
        return n;
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
        order = order(epoch);
    }

    // the chunk starts (token offsets) of one epoch, in visiting order
    private int[] order(int e) {
        if (phaseStarts == null) {
            int[] o = Permutation.random(chunks, seed + e);
            for (int i = 0; i < o.length; i++) {
                o[i] *= t;
            }
            return o;
        }
        int[] o = new int[chunks];
        SplittableRandom r = new SplittableRandom(seed + e);
        int at = 0;
        for (int[] starts : phaseStarts) {
            for (int rep = 0; rep < repeats; rep++) {
                for (int c : Permutation.random(starts.length, r.nextLong())) {
                    o[at++] = starts[c];
                }
            }
        }
        return o;
    }

    /** Copies the next {@code seqs} chunks to {@code batch[off ..]} ({@code seqs · (t+1)} tokens), row by row. */
    public void next(int seqs, int[] batch, int off) {
        int stride = t + 1;
        for (int b = 0; b < seqs; b++) {
            if (cursor == chunks) {
                epoch++;
                cursor = 0;
                order = order(epoch);
            }
            System.arraycopy(ids, order[cursor++], batch, off + b * stride, stride);
        }
    }
}
