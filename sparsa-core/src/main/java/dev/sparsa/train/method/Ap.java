package dev.sparsa.train.method;

import dev.sparsa.SparsaException;
import dev.sparsa.model.Activation;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.train.TrainContext;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AP, Activate-while-Pruning (Liu et al. 2023, "AP: Selective Activation for De-sparsifying Pruned Neural Networks"),
 * in tandem with a fixed-ratio {@link IterativePruning} round: of the share P a round prunes, the base pruner takes
 * (1 − a)·P and AP takes a·P, chosen to lower the dynamic dead-neuron rate (the share of ReLU outputs that are 0):
 * the kept weights that push the neuron's pre-activation down (negative contribution) and moved least since the
 * round started, |w_T − w_0| smallest (the authors' code: {@code (|w − w_prev| <= pivot) & (w < 0)}, with w_prev the
 * weights at the start of the cycle's training). The reference default is a = 2/20 (prune 20% per cycle, 2 of them
 * by AP).
 *
 * <p>What maps to what on a Llama FFN: a "node" is an FFN neuron i, its ReLU is act(gate_i), h_i = act(g_i·x)·(u_i·x),
 * and the weights feeding that ReLU are the gate row g_i; AP's share is taken from the gate matrices only (up and
 * down do not feed a ReLU, so the base pruner prunes them at the full P). In a CNN a conv's input is a ReLU output
 * (≥ 0), so a negative weight is a negative contribution; the gate's input is RMSNorm(x), signed, so the contribution
 * of g_ij is negative on average when g_ij·E[x_j] &lt; 0 (E over the calibration tokens: the last micro-batch), which
 * is the paper's w &lt; 0 whenever the inputs are non-negative (e.g. a relufied model's ReLU after the norm).
 *
 * <p>Needs a ReLU-family activation (dead neurons are exact zeros).
 */
public final class Ap extends IterativePruning {
    private final double apShare;
    private final float[][] roundStart;      // gate weights when the current round began, per layer

    /** @param apShare a, AP's part of each round's pruning, in [0, 1) (0: the base pruner alone) */
    public Ap(LlamaWeights start, Pruner pruner, double ratio, int rounds, int roundSteps, boolean rewind,
              double apShare) {
        super(start, pruner, ratio, rounds, roundSteps, rewind);
        checkRatio("AP's share of each round's pruning", apShare);
        this.apShare = apShare;
        int layers = start.config().numLayers();
        roundStart = new float[layers][];
        for (int l = 0; l < layers; l++) {
            roundStart[l] = Kernels.toFloats(start.layers().get(l).ffn().gate());
        }
    }

    /** The authors' default split: prune 20% per round, 2% of them (a = 0.1) by AP. */
    public static final double DEFAULT_SHARE = 0.1;

    @Override
    public String name() {
        return "ap-" + pruner.name();
    }

    /** A usage error unless the model's FFN activation is of the ReLU family. */
    public static void requireRelu(String method, ModelConfig c) {
        if (!Activation.of(c.hiddenAct(), c.fatreluThreshold()).zeroBelow()) {
            throw new SparsaException.UsageException(method + " needs a ReLU-family model (dead neurons are the exact "
                    + "zeros of act(gate)); this model is " + c.hiddenAct() + ": convert it first, e.g. ./sparsa "
                    + "sparsify --method relu (or prosparse) --model DIR --out RELU_DIR");
        }
    }

    @Override
    public ModelConfig studentConfig(ModelConfig start) {
        requireRelu("ap", start);
        return start;
    }

    @Override
    protected void prune(int round, TrainContext ctx, FfnMasks masks, Map<String, Object> rec) {
        Pruner.InputStats in = Pruner.InputStats.of(ctx.backprop());
        int n = masks.matrices().size();
        int[] base = new int[n];
        int[] byAp = new int[n];
        for (int m = 0; m < n; m++) {
            FfnMasks.Matrix mx = masks.matrices().get(m);
            if (mx.kind() != FfnMasks.Kind.GATE || apShare == 0) {
                base[m] = pruneBase(masks, m, in, ratio);
                continue;
            }
            int total = share(masks.retained(m), ratio);
            base[m] = pruneBase(masks, m, in, ratio * (1 - apShare));
            int want = total - base[m];
            byAp[m] = activate(masks, m, in.xMean()[mx.layer()], roundStart[mx.layer()], want);
            if (byAp[m] < want) {                     // too few eligible: the base criterion prunes the rest
                float[] score = new float[mx.size()];
                pruner.scores(mx, masks.values(m), in, score);
                base[m] += masks.pruneLowest(m, score, want - byAp[m], i -> true);
            }
        }
        rec.put("pruned", list(base));
        rec.put("prunedByAp", list(byAp));
    }

    /**
     * AP's selection in gate matrix m: among kept weights g_ij with g_ij·μ_j &lt; 0 (negative contribution to the
     * pre-activation), the {@code count} with the smallest |g_ij − g0_ij|. Returns how many it pruned (fewer when
     * fewer are eligible).
     */
    static int activate(FfnMasks masks, int m, double[] mu, float[] w0, int count) {
        FfnMasks.Matrix mx = masks.matrices().get(m);
        float[] w = masks.values(m);
        int c = mx.cols();
        float[] moved = new float[w.length];
        for (int i = 0; i < w.length; i++) {
            moved[i] = Math.abs(w[i] - w0[i]);                   // |w_T − w_0|
        }
        return masks.pruneLowest(m, moved, count, i -> w[i] * mu[i % c] < 0);
    }

    @Override
    protected void roundStarted(int round, FfnMasks masks) {
        for (int m = 0; m < masks.matrices().size(); m++) {
            FfnMasks.Matrix mx = masks.matrices().get(m);
            if (mx.kind() == FfnMasks.Kind.GATE) {
                roundStart[mx.layer()] = masks.values(m);
            }
        }
    }

    @Override
    protected void extraState(Map<String, String> s) {
        for (int l = 0; l < roundStart.length; l++) {
            ByteBuffer b = ByteBuffer.allocate(roundStart[l].length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(roundStart[l]);
            s.put("roundStart." + l, Base64.getEncoder().encodeToString(b.array()));
        }
    }

    @Override
    protected void restoreExtra(Map<String, String> s) {
        for (int l = 0; l < roundStart.length; l++) {
            String v = s.get("roundStart." + l);
            if (v == null) {
                throw new SparsaException.FormatException("checkpoint: AP state has no roundStart." + l);
            }
            byte[] raw = Base64.getDecoder().decode(v);
            if (raw.length != roundStart[l].length * Float.BYTES) {
                throw new SparsaException.FormatException("checkpoint: AP state roundStart." + l + " has the wrong size");
            }
            ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(roundStart[l]);
        }
    }

    @Override
    public Map<String, String> options() {
        Map<String, String> m = new LinkedHashMap<>(super.options());
        m.put("apShare", Double.toString(apShare));
        return m;
    }

    @Override
    public Map<String, Object> summary() {
        Map<String, Object> m = new LinkedHashMap<>(super.summary());
        m.put("apShare", apShare);
        return m;
    }
}
