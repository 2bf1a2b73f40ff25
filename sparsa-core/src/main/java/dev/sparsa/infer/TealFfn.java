package dev.sparsa.infer;

import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.FfnActivations;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.tensor.Parallel;

import java.lang.foreign.Arena;

/**
 * TEAL's gated FFN (Liu et al. 2024): every projection's input is sparsified by magnitude and the weight columns of
 * zeroed inputs are skipped ({@link InputSparseLinear}):
 * <pre>
 *   g = W_gate·s_{t_gate}(x),  u = W_up·s_{t_up}(x),  h = act(g) ⊙ u',  y = W_down·s_{t_down}(h)
 * </pre>
 * with {@code s_t(v)_j = v_j·[|v_j| > t]}. The tap sees h after {@code s_{t_down}} (the zeroed entries are the down
 * columns skipped) and the down projection uses h as the tap left it. Memory: transposed copies of W_gate, W_up and
 * W_down (the FFN's weights once more for float weights; Q8_0 for quantized ones); the originals are not read.
 */
public final class TealFfn implements FfnKernel {
    private final FfnWeights w;
    private final Activation act;
    private final InputSparseLinear gate;
    private final InputSparseLinear up;
    private final InputSparseLinear down;
    private final float tGate;
    private final float tUp;
    private final float tDown;
    private final SparseStats stats;
    private volatile float[] downNorms;

    /**
     * Layer {@code weights.layer()} with input thresholds {@code t[Site.GATE]}, {@code t[Site.UP]},
     * {@code t[Site.DOWN]} (indexed by {@link SparseStats.Site#ordinal()}); {@code stats} (may be null) counts the
     * kept inputs.
     */
    public TealFfn(FfnWeights weights, Activation act, float[] t, SparseStats stats) {
        this(weights, act, projections(weights), t, stats);
    }

    private static InputSparseLinear[] projections(FfnWeights weights) {
        Arena arena = Arena.ofAuto();
        return new InputSparseLinear[] {new InputSparseLinear(weights.gate(), null, arena),
                new InputSparseLinear(weights.up(), null, arena), new InputSparseLinear(weights.down(), null, arena)};
    }

    private TealFfn(FfnWeights weights, Activation act, InputSparseLinear[] p, float[] t, SparseStats stats) {
        this.w = weights;
        this.act = act;
        this.gate = p[0];
        this.up = p[1];
        this.down = p[2];
        this.tGate = t[SparseStats.Site.GATE.ordinal()];
        this.tUp = t[SparseStats.Site.UP.ordinal()];
        this.tDown = t[SparseStats.Site.DOWN.ordinal()];
        this.stats = stats;
    }

    /** The same layer with other thresholds, sharing the transposed copies (TEAL's greedy allocation tries many). */
    public TealFfn withThresholds(float[] t) {
        return new TealFfn(w, act, new InputSparseLinear[] {gate, up, down}, t, stats);
    }

    @Override
    public FfnWeights weights() {
        return w;
    }

    @Override
    public Activation activation() {
        return act;
    }

    /** The intermediates plus the projections' scratch. */
    private static final class Scratch extends FfnActivations {
        final InputSparseLinear.Scratch lin;

        Scratch(int capacity, int f, int d) {
            super(capacity, f);
            lin = new InputSparseLinear.Scratch(Math.max(f, d), Math.max(f, d));
        }
    }

    @Override
    public FfnActivations newActivations(int capacity) {
        return new Scratch(capacity, w.intermediateSize(), w.hiddenSize());
    }

    @Override
    public void forward(float[] x, int batch, int pos0, float[] y, FfnActivations acts, ActivationTap tap,
                        Parallel par) {
        int d = w.hiddenSize();
        int f = w.intermediateSize();
        acts.check(batch, f);
        if (!(acts instanceof Scratch s)) {
            throw new IllegalArgumentException("layer " + w.layer() + ": FFN activations were not made by this kernel"
                    + " (use FfnKernel.newActivations)");
        }
        float[] g = s.gate;
        float[] u = s.up;
        float[] a = s.act;
        float[] h = s.h;
        long kg = gate.forward(x, batch, tGate, g, s.lin, s.gemm, par);   // g = W_gate s_{t_gate}(x)
        long ku = up.forward(x, batch, tUp, u, s.lin, s.gemm, par);       // u = W_up s_{t_up}(x)
        int n = batch * f;
        par.forRange(n, 4096, (from, to) -> act.gated(g, u, a, h, from, to)); // a = act(g), h = a ⊙ u'
        long kd = 0;
        for (int i = 0; i < n; i++) {
            boolean keep = Math.abs(h[i]) > tDown;                        // s_{t_down}(h)
            h[i] = keep ? h[i] : 0f;
            kd += keep ? 1 : 0;
        }
        if (stats != null) {
            stats.input(w.layer(), SparseStats.Site.GATE, kg, (long) batch * d);
            stats.input(w.layer(), SparseStats.Site.UP, ku, (long) batch * d);
            stats.input(w.layer(), SparseStats.Site.DOWN, kd, n);
        }
        if (tap.wants(w.layer())) {
            for (int b = 0; b < batch; b++) {
                tap.onFfn(w.layer(), pos0 + b, x, b * d, g, a, h, b * f);
            }
        }
        down.forward(h, batch, 0f, y, s.lin, s.gemm, par);                // y = W_down h (h as the tap left it)
    }

    @Override
    public float[] downColumnNorms() {
        float[] v = downNorms;
        if (v == null) {
            v = w.downColumnNorms();
            downNorms = v;
        }
        return v;
    }
}
