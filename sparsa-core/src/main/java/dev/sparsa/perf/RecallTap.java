package dev.sparsa.perf;

import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.tensor.Kernels;

/**
 * Recall of a sparse kernel on real tokens: for each FFN call, the true active set (act of the full, exact gate
 * computed here from x) against the neurons the kernel kept (act ≠ 0).
 */
public final class RecallTap implements ActivationTap {
    private final LlamaModel model;
    private long trueActive;
    private long kept;

    public RecallTap(LlamaModel model) {
        this.model = model;
    }

    @Override
    public void onFfn(int layer, int position, float[] x, int xOff, float[] gate, float[] act, float[] h, int off) {
        FfnKernel k = model.ffn(layer);
        float[] g = new float[k.weights().intermediateSize()];
        for (int i = 0; i < g.length; i++) {
            g[i] = Kernels.dotRow(k.weights().gate(), i, x, xOff);             // the exact gate of this token
        }
        for (int i = 0; i < g.length; i++) {
            if (k.activation().apply(g[i]) != 0f) {
                trueActive++;
                if (act[off + i] != 0f) {
                    kept++;
                }
            }
        }
    }

    public double recall() {
        return trueActive == 0 ? 1 : (double) kept / trueActive;
    }
}
