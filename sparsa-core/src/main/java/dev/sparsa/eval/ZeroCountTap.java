package dev.sparsa.eval;

import dev.sparsa.model.ActivationTap;

/**
 * Counts exact zeros of the FFN activation a = act(gate) per layer ({@code a_i == 0}, so −0 counts too), over every
 * position the model runs, and the zeros of h = a ⊙ up' (the neurons whose down column a sparse kernel skips: the
 * {@code sparsity} of a sparse mode).
 */
final class ZeroCountTap implements ActivationTap {
    final long[] zeros;
    final long[] values;
    final long[] hZeros;
    private final int f;

    /** For {@code layers} layers of FFN width {@code f}. */
    ZeroCountTap(int layers, int f) {
        zeros = new long[layers];
        values = new long[layers];
        hZeros = new long[layers];
        this.f = f;
    }

    @Override
    public void onFfn(int layer, int position, float[] x, int xOff, float[] gate, float[] act, float[] h, int off) {
        long z = 0;
        long hz = 0;
        for (int i = off; i < off + f; i++) {
            if (act[i] == 0f) {
                z++;
            }
            if (h[i] == 0f) {
                hz++;
            }
        }
        zeros[layer] += z;
        hZeros[layer] += hz;
        values[layer] += f;
    }
}
