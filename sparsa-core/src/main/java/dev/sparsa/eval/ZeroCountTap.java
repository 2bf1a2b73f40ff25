package dev.sparsa.eval;

import dev.sparsa.model.ActivationTap;

/**
 * Counts exact zeros of the FFN activation a = act(gate) per layer ({@code a_i == 0}, so −0 counts too), over every
 * position the model runs. The one class that reads {@link ActivationTap}'s arguments.
 */
final class ZeroCountTap implements ActivationTap {
    final long[] zeros;
    final long[] values;

    ZeroCountTap(int layers) {
        zeros = new long[layers];
        values = new long[layers];
    }

    @Override
    public void onFfn(int layer, int position, float[] x, float[] gate, float[] act, float[] h) {
        long z = 0;
        for (float a : act) {
            if (a == 0f) {
                z++;
            }
        }
        zeros[layer] += z;
        values[layer] += act.length;
    }
}
