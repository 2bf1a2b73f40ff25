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
    public void forward(float[] x, int batch, int pos0, float[] y, FfnActivations acts, ActivationTap tap,
                        Parallel par) {
        int d = w.hiddenSize();
        int f = w.intermediateSize();
        acts.check(batch, f);
        float[] gate = acts.gate;
        float[] up = acts.up;
        float[] a = acts.act;
        float[] h = acts.h;
        if (batch == 1) {
            // decode: gate row i, up row i and the activation of neuron i in one parallel pass (one hand-off
            // instead of two, the activation split over the threads too); each value as Kernels.matvec computes it
            Tensor gw = w.gate();
            Tensor uw = w.up();
            par.forRange(f, 16, (from, to) -> {
                Kernels.matvecRange(gw, from, to, x, gate);   // gate = W_gate x
                Kernels.matvecRange(uw, from, to, x, up);     // up   = W_up x
                act.gated(gate, up, a, h, from, to);           // a = act(gate), h = a ⊙ up
            });
        } else {
            Kernels.matmul(acts.gemm, w.gate(), x, batch, gate, par); // gate = W_gate x
            Kernels.matmul(acts.gemm, w.up(), x, batch, up, par);     // up   = W_up x
            par.forRange(batch * f, 4096, (from, to) -> act.gated(gate, up, a, h, from, to));
        }
        if (tap.wants(w.layer())) {
            for (int b = 0; b < batch; b++) {
                tap.onFfn(w.layer(), pos0 + b, x, b * d, gate, a, h, b * f);
            }
        }
        if (batch == 1) {
            Kernels.matvec(w.down(), h, y, par);               // y = W_down h
        } else {
            Kernels.matmul(acts.gemm, w.down(), h, batch, y, par);
        }
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
}
