package dev.sparsa.perf;

import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;

/**
 * Recall of a sparse kernel on real tokens: for each FFN call, the true active set (act of the full, exact gate
 * computed here from x) against the neurons the kernel kept (act ≠ 0).
 */
public final class RecallTap implements ActivationTap {
    private final LlamaModel model;
    private final Parallel serial = Parallel.serial();
    private long trueActive;
    private long kept;

    public RecallTap(LlamaModel model) {
        this.model = model;
    }

    @Override
    public void onFfn(int layer, int position, float[] x, float[] gate, float[] act, float[] h) {
        FfnKernel k = model.ffn(layer);
        float[] g = new float[act.length];
        Kernels.matvec(k.weights().gate(), x, g, serial);
        for (int i = 0; i < g.length; i++) {
            if (k.activation().apply(g[i]) != 0f) {
                trueActive++;
                if (act[i] != 0f) {
                    kept++;
                }
            }
        }
    }

    public double recall() {
        return trueActive == 0 ? 1 : (double) kept / trueActive;
    }
}
