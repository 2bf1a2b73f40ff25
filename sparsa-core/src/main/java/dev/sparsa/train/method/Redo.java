package dev.sparsa.train.method;

import dev.sparsa.SparsaException;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.train.AdamW;
import dev.sparsa.train.Backprop;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.Method;
import dev.sparsa.train.TrainContext;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * ReDo, Recycling Dormant neurons (Sokar et al. 2023, "The Dormant Neuron Phenomenon in Deep Reinforcement
 * Learning", Algorithm 1), on the FFN neurons of every layer. Every {@code every} steps, on the last micro-batch D:
 * <pre>
 *   s_i = E_{x∈D} |h_i(x)| / ( (1/F) Σ_k E_{x∈D} |h_k(x)| )      the neuron's normalized score (eq. 1)
 *   neuron i is τ-dormant when s_i ≤ τ                            (Definition 3.1)
 * </pre>
 * and each τ-dormant neuron is recycled: its incoming weights are drawn again from the initializer, its outgoing
 * weights set to 0 (so the network's output does not change), and the Adam moments of both reset to 0.
 *
 * <p>What maps to what: the paper's neuron is a unit of a dense/conv layer of the agent's Q-network, its incoming
 * weights the layer's row, its outgoing weights the next layer's column, D a batch from the replay buffer. Here the
 * neuron is FFN neuron i of a layer, h_i = act(gate_i)·up_i (the value the down projection reads), its incoming
 * weights the gate row i and up row i (both re-drawn from N(0, σ²), the initializer of {@link LlamaParams#init},
 * σ = config initializer_range, 0.02), its outgoing weights the down column i, D the step's last micro-batch. The
 * draw uses a generator seeded by (seed, step, layer), so a resumed run recycles the same way and the method keeps no
 * state but its log.
 */
public final class Redo implements Method {
    private final int every;
    private final double tau;
    private final double initStd;
    private final long seed;
    private final List<int[]> log = new ArrayList<>();      // {step, recycled neurons in layer 0, 1, ...}

    /**
     * @param every   recycle every N steps (the paper's F)
     * @param tau     τ in [0, 1]
     * @param initStd σ of the re-initialization
     */
    public Redo(int every, double tau, double initStd, long seed) {
        if (every < 1) {
            throw new SparsaException.UsageException("--redo-every must be >= 1, got " + every);
        }
        checkTau(tau);
        if (!(initStd > 0) || !Double.isFinite(initStd)) {
            throw new SparsaException.UsageException("ReDo's initializer σ must be > 0, got " + initStd);
        }
        this.every = every;
        this.tau = tau;
        this.initStd = initStd;
        this.seed = seed;
    }

    /** A usage error unless 0 ≤ τ ≤ 1. */
    public static void checkTau(double tau) {
        if (!(tau >= 0 && tau <= 1)) {
            throw new SparsaException.UsageException("τ (the dormant threshold) must be in [0, 1], got " + tau);
        }
    }

    @Override
    public String name() {
        return "redo";
    }

    @Override
    public ModelConfig studentConfig(ModelConfig start) {
        return start;
    }

    /**
     * The scores s_i of one layer from its h ({@code rows × f}, row-major): E|h_i| / mean_k E|h_k| (eq. 1); all 0 when
     * the layer is silent.
     */
    public static double[] scores(float[] h, int rows, int f) {
        double[] s = new double[f];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < f; i++) {
                s[i] += Math.abs(h[r * f + i]);
            }
        }
        double mean = 0;
        for (double v : s) {
            mean += v;
        }
        mean /= f;
        for (int i = 0; i < f; i++) {
            s[i] = mean == 0 ? 0 : s[i] / mean;     // the common 1/rows cancels
        }
        return s;
    }

    /** The τ-dormant share of each layer's neurons on the last micro-batch of {@code bp}, for each τ. */
    public static double[][] dormantRatios(Backprop bp, double[] taus) {
        int rows = bp.seqs() * bp.seqLen();
        int layers = bp.state().slots.length;
        double[][] out = new double[taus.length][layers];
        for (int l = 0; l < layers; l++) {
            int f = bp.state().slot(l).ffn.width();
            double[] s = scores(bp.state().slot(l).ffn.h, rows, f);
            for (int k = 0; k < taus.length; k++) {
                int n = 0;
                for (double v : s) {
                    if (v <= taus[k]) {
                        n++;
                    }
                }
                out[k][l] = (double) n / f;
            }
        }
        return out;
    }

    @Override
    public void afterStep(TrainContext ctx) {
        if (ctx.step() % every != 0) {
            return;
        }
        Backprop bp = ctx.backprop();
        int rows = bp.seqs() * bp.seqLen();
        int layers = ctx.params().config().numLayers();
        int[] rec = new int[layers + 1];
        rec[0] = ctx.step();
        for (int l = 0; l < layers; l++) {
            var ffn = bp.state().slot(l).ffn;
            rec[l + 1] = recycle(ctx.params(), ctx.optimizer(), l, ffn.h, rows, ctx.step());
        }
        log.add(rec);
    }

    /**
     * Recycles the τ-dormant neurons of layer l given its h ({@code rows × F}) at step {@code step}; returns how many.
     */
    public int recycle(LlamaParams p, AdamW opt, int l, float[] h, int rows, int step) {
        int f = p.config().intermediateSize();
        int d = p.config().hiddenSize();
        double[] s = scores(h, rows, f);
        String pre = "model.layers." + l + ".mlp.";
        LlamaParams.Param gate = p.param(pre + "gate_proj.weight");
        LlamaParams.Param up = p.param(pre + "up_proj.weight");
        LlamaParams.Param down = p.param(pre + "down_proj.weight");
        int gi = p.params().indexOf(gate);
        int ui = p.params().indexOf(up);
        int di = p.params().indexOf(down);
        SplittableRandom rnd = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (step * 1024L + l + 1)));
        int n = 0;
        for (int i = 0; i < f; i++) {
            if (!(s[i] <= tau)) {
                continue;
            }
            n++;
            redraw(gate.data(), opt.m(gi), opt.v(gi), i * d, d, rnd);      // incoming: gate row i
            redraw(up.data(), opt.m(ui), opt.v(ui), i * d, d, rnd);        //           up row i
            for (int r = 0; r < d; r++) {                                  // outgoing: down column i ← 0
                int at = r * f + i;
                down.data().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, at, 0f);
                opt.m(di)[at] = 0f;
                opt.v(di)[at] = 0f;
            }
        }
        return n;
    }

    private void redraw(MemorySegment w, float[] m, float[] v, int from, int n, SplittableRandom rnd) {
        for (int k = from; k < from + n; k++) {
            w.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, k, (float) (rnd.nextGaussian() * initStd));
        }
        Arrays.fill(m, from, from + n, 0f);
        Arrays.fill(v, from, from + n, 0f);
    }

    /** The recycling steps so far, each {step, neurons recycled in layer 0, 1, ...} (copies). */
    public List<int[]> recycled() {
        return log.stream().map(int[]::clone).toList();
    }

    @Override
    public Map<String, String> state() {
        StringBuilder b = new StringBuilder();
        for (int[] r : log) {
            if (!b.isEmpty()) {
                b.append(';');
            }
            for (int k = 0; k < r.length; k++) {
                b.append(k == 0 ? "" : ",").append(r[k]);
            }
        }
        return Map.of("log", b.toString());
    }

    @Override
    public void restore(Map<String, String> state) {
        log.clear();
        String s = state.getOrDefault("log", "");
        if (s.isEmpty()) {
            return;
        }
        try {
            for (String r : s.split(";")) {
                log.add(Arrays.stream(r.split(",")).mapToInt(Integer::parseInt).toArray());
            }
        } catch (NumberFormatException e) {
            throw new SparsaException.FormatException("checkpoint: ReDo state 'log' is malformed");
        }
    }

    @Override
    public Map<String, String> options() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("every", Integer.toString(every));
        m.put("tau", Double.toString(tau));
        m.put("initStd", Double.toString(initStd));
        m.put("seed", Long.toString(seed));
        return m;
    }

    /** {@code every}, {@code tau}, {@code recycled}: per recycling step, the step and the count per layer. */
    @Override
    public Map<String, Object> summary() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("every", every);
        m.put("tau", tau);
        m.put("initStd", initStd);
        List<Map<String, Object>> r = new ArrayList<>();
        for (int[] x : log) {
            r.add(Map.of("step", x[0], "perLayer", Arrays.copyOfRange(x, 1, x.length)));
        }
        m.put("recycled", r);
        return m;
    }
}
