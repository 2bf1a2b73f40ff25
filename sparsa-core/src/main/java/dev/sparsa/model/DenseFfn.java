package dev.sparsa.model;

import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;

/** The dense gated FFN, every neuron computed: the reference every sparse kernel is tested against. */
public final class DenseFfn implements FfnKernel {
    private final FfnWeights w;
    private final Activation act;
    private volatile float[] downNorms;

    public DenseFfn(FfnWeights weights, Activation act) {
        this.w = weights;
        this.act = act;
    }

    @Override
    public FfnWeights weights() {
        return w;
    }

    @Override
    public Activation activation() {
        return act;
    }

    @Override
    public void forward(float[] x, int batch, int pos0, float[] y, ActivationTap tap, Parallel par) {
        int d = w.hiddenSize();
        int f = w.intermediateSize();
        float[] gate = new float[batch * f];
        float[] up = new float[batch * f];
        float[] a = new float[batch * f];
        float[] h = new float[batch * f];
        if (batch == 1) {
            // decode: gate row i, up row i and the activation of neuron i in one parallel pass (one hand-off
            // instead of two, the activation split over the threads too); each value as Kernels.matvec computes it
            Tensor gw = w.gate();
            Tensor uw = w.up();
            par.forRange(f, 16, (from, to) -> {
                Kernels.matvecRange(gw, from, to, x, gate);   // gate = W_gate x
                Kernels.matvecRange(uw, from, to, x, up);     // up   = W_up x
                for (int i = from; i < to; i++) {
                    float ai = act.apply(gate[i]);             // a = act(gate)
                    a[i] = ai;
                    h[i] = ai * up[i];                         // h = a ⊙ up
                }
            });
        } else {
            linear(w.gate(), x, batch, gate, par);             // gate = W_gate x
            linear(w.up(), x, batch, up, par);                 // up   = W_up x
            for (int i = 0; i < batch * f; i++) {
                a[i] = act.apply(gate[i]);                     // a = act(gate)
                h[i] = a[i] * up[i];                           // h = a ⊙ up
            }
        }
        if (tap.wants(w.layer())) {
            tapEach(tap, w.layer(), x, d, gate, a, h, f, batch, pos0);
        }
        linear(w.down(), h, batch, y, par);                    // y = W_down h
    }

    @Override
    public float[] downColumnNorms() {
        float[] n = downNorms;
        if (n == null) {
            n = w.downColumnNorms();
            downNorms = n;
        }
        return n;
    }

    /** y = W x for one token (matvec) or a batch (matmul). */
    static void linear(Tensor w, float[] x, int batch, float[] y, Parallel par) {
        if (batch == 1) {
            Kernels.matvec(w, x, y, par);
        } else {
            Kernels.matmul(w, x, batch, y, par);
        }
    }

    /**
     * Calls the tap once per token with per-token views of the batch arrays and copies back the tap's changes to h.
     * For batch 1 the arrays are passed as they are.
     */
    public static void tapEach(ActivationTap tap, int layer, float[] x, int d, float[] gate, float[] a, float[] h,
                               int f, int batch, int pos0) {
        if (batch == 1 && x.length == d && gate.length == f) {
            tap.onFfn(layer, pos0, x, gate, a, h);
            return;
        }
        float[] xb = new float[d];
        float[] gb = new float[f];
        float[] ab = new float[f];
        float[] hb = new float[f];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(x, b * d, xb, 0, d);
            System.arraycopy(gate, b * f, gb, 0, f);
            System.arraycopy(a, b * f, ab, 0, f);
            System.arraycopy(h, b * f, hb, 0, f);
            tap.onFfn(layer, pos0 + b, xb, gb, ab, hb);
            System.arraycopy(hb, 0, h, b * f, f);
        }
    }
}
