package dev.sparsa.model;

import dev.sparsa.tensor.Gemm;

/**
 * The intermediates of one gated FFN over a batch of rows, row-major {@code [rows, F]}: {@code gate = x·W_gateᵀ},
 * {@code up = x·W_upᵀ}, {@code act = act(gate)} and {@code h = act ⊙ up'} (up' = up, or ReLU(up) for dReLU). An
 * {@link FfnKernel} writes them (a sparse kernel leaves the entries it skipped at 0); the trainer keeps one per layer
 * for the backward, inference reuses one for every layer. Allocated once for up to {@link #capacity()} rows.
 */
public class FfnActivations {
    public final float[] gate;
    public final float[] up;
    public final float[] act;
    public final float[] h;
    /** The GEMM engine of batched forwards through this workspace (its packing buffers are reused). */
    public final Gemm gemm = new Gemm();
    private final int capacity;
    private final int width;

    public FfnActivations(int capacity, int width) {
        if (capacity < 1 || width < 1) {
            throw new IllegalArgumentException("FFN activations need capacity and width >= 1, got " + capacity
                    + " x " + width);
        }
        long n = Math.multiplyExact((long) capacity, (long) width);
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("FFN activations of " + capacity + " x " + width + " are too large");
        }
        this.capacity = capacity;
        this.width = width;
        gate = new float[(int) n];
        up = new float[(int) n];
        act = new float[(int) n];
        h = new float[(int) n];
    }

    /** Most rows a forward may put in. */
    public int capacity() {
        return capacity;
    }

    /** F. */
    public int width() {
        return width;
    }

    /** Throws unless {@code rows} rows of width F fit. */
    public void check(int rows, int f) {
        if (rows > capacity || f != width) {
            throw new IllegalArgumentException("FFN activations hold " + capacity + " x " + width + ", need " + rows
                    + " x " + f);
        }
    }
}
