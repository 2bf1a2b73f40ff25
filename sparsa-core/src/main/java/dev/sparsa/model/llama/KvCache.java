package dev.sparsa.model.llama;

import dev.sparsa.SparsaException;

/**
 * Keys and values of every layer for the positions seen so far, preallocated up to {@link #capacity()} positions.
 * Layout per layer: {@code [position][kvHead][headDim]}. One cache per sequence; not thread-safe.
 */
public final class KvCache {
    final float[][] k;
    final float[][] v;
    private final int capacity;
    private final int kvDim;
    private int length;
    /** The forward workspace of this sequence (allocated by the model's first forward). */
    LlamaState state;

    KvCache(int layers, int capacity, int kvDim) {
        if (capacity < 1) {
            throw new SparsaException.UsageException("KV cache capacity must be >= 1, got " + capacity);
        }
        long per = (long) capacity * kvDim;
        if (per > Integer.MAX_VALUE - 8) {
            throw new SparsaException.UsageException("KV cache of " + capacity + " positions is too large for one layer ("
                    + per + " floats); use a smaller context");
        }
        this.capacity = capacity;
        this.kvDim = kvDim;
        this.k = new float[layers][(int) per];
        this.v = new float[layers][(int) per];
    }

    /** Positions stored. The next token goes to position {@code length()}. */
    public int length() {
        return length;
    }

    public int capacity() {
        return capacity;
    }

    int kvDim() {
        return kvDim;
    }

    /** Forgets positions ≥ n (e.g. to re-run from a common prefix). */
    public void truncate(int n) {
        if (n < 0 || n > length) {
            throw new SparsaException.UsageException("cannot truncate KV cache of length " + length + " to " + n);
        }
        length = n;
    }

    public void clear() {
        length = 0;
    }

    /** Reserves {@code n} more positions; an error naming the capacity when they do not fit. */
    int append(int n) {
        if (length + n > capacity) {
            throw new SparsaException.UsageException("context full: " + length + " + " + n + " tokens exceed the "
                    + capacity + "-position KV cache (raise the max context)");
        }
        int start = length;
        length += n;
        return start;
    }
}
