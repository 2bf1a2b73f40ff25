package dev.sparsa.profile.adapter;

import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Tensor;

/** The down-projection columns d_i for {@link dev.sparsa.profile.ProfiledModel#downColumns(int)} of the adapters. */
final class DownColumns {
    private DownColumns() {
    }

    /** {@code down} is [D, F] ([out, in]); d_i is its column i → row i of the returned [F, D] transpose. */
    static float[] of(Tensor down, int d, int f) {
        float[] w = Kernels.toFloats(down);
        float[] t = new float[f * d];
        for (int j = 0; j < d; j++) {
            for (int i = 0; i < f; i++) {
                t[i * d + j] = w[j * f + i];
            }
        }
        return t;
    }
}
