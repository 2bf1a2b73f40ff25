package dev.sparsa.eval;

import dev.sparsa.model.ActivationTap;

/**
 * Counts exact zeros of the FFN activation a = act(gate) per layer ({@code a_i == 0}, so −0 counts too), over every
 * position the model runs. The one class that reads {@link ActivationTap}'s arguments.
 */
final class ZeroCountTap implements ActivationTap {
    final long[] zeros;
    final long[] values;
    private final int f;

    /** For {@code layers} layers of FFN width {@code f}. */
    ZeroCountTap(int layers, int f) {
        zeros = new long[layers];
        values = new long[layers];
        this.f = f;
    }

    @Override
    public void onFfn(int layer, int position, float[] x, int xOff, float[] gate, float[] act, float[] h, int off) {
        long z = 0;
        for (int i = off; i < off + f; i++) {
            if (act[i] == 0f) {
                z++;
            }
        }
        zeros[layer] += z;
        values[layer] += f;
    }
}
