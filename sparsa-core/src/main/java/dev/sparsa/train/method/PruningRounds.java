package dev.sparsa.train.method;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.SparsaException;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.train.AdamW;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.Method;
import dev.sparsa.train.TrainContext;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Iterative pruning of the FFN weights as the trainer runs it: R rounds of E steps each after a first E steps on the
 * unpruned model, so {@code (R + 1)·E} steps in all. At the end of round k's training (steps k·E, k = 1..R) the
 * subclass prunes ({@link #prune}); then, when {@code rewind} is on, every parameter goes back to the starting
 * model's value (times the mask) and the optimizer starts afresh (moments 0, step 0), as the lottery-ticket / SAP
 * loop retrains from w₀ ⊙ m; otherwise training simply continues with the pruned weights and their moments zeroed
 * (fine-tuning). Between rounds the masks are held after every step ({@link FfnMasks#apply}).
 *
 * <p>The learning-rate schedule is the trainer's (one warm-up, then its schedule), not restarted per round as the
 * reference code's per-iteration scheduler does. Each round is logged: its step, the PQ Index of every matrix's kept
 * weights before the prune, what was pruned, and the sparsity after.
 */
public abstract class PruningRounds implements Method {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Observes the rounds: the experiments evaluate the model just before each prune. */
    public interface Probe {
        void beforePrune(int round, int step, LlamaParams p);

        Probe NONE = (round, step, p) -> {
        };
    }

    protected final int rounds;
    protected final int roundSteps;
    protected final boolean rewind;
    private final ModelConfig startConfig;
    private final float[][] start;             // every parameter of the starting model, when rewinding
    private FfnMasks masks;
    private Map<String, String> pending;       // restored state waiting for the first step's parameters
    private final List<Map<String, Object>> log = new ArrayList<>();
    private Probe probe = Probe.NONE;

    protected PruningRounds(LlamaWeights startModel, int rounds, int roundSteps, boolean rewind) {
        if (rounds < 1) {
            throw new SparsaException.UsageException("--rounds must be >= 1, got " + rounds);
        }
        if (roundSteps < 1) {
            throw new SparsaException.UsageException("--round-steps must be >= 1, got " + roundSteps);
        }
        this.rounds = rounds;
        this.roundSteps = roundSteps;
        this.rewind = rewind;
        this.startConfig = startModel.config();
        if (rewind) {
            List<float[]> s = new ArrayList<>();
            for (var t : startModel.named().values()) {
                s.add(Kernels.toFloats(t));
            }
            this.start = s.toArray(float[][]::new);
        } else {
            this.start = null;
        }
    }

    /** Called before each prune (null: nobody). */
    public void probe(Probe p) {
        this.probe = p == null ? Probe.NONE : p;
    }

    /** The masks (null before the first step). */
    public FfnMasks masks() {
        return masks;
    }

    @Override
    public ModelConfig studentConfig(ModelConfig start) {
        return start;
    }

    /** (R + 1)·E; an explicit --steps must agree. */
    @Override
    public int steps(Integer requested) {
        int total = Math.multiplyExact(rounds + 1, roundSteps);
        if (requested != null && requested != total) {
            throw new SparsaException.UsageException(name() + " runs (" + rounds + " rounds + 1) x " + roundSteps
                    + " steps = " + total + " steps; --steps " + requested + " disagrees (leave it out)");
        }
        return total;
    }

    /**
     * Prunes round {@code round} (1-based) into {@code masks}, recording what it did into {@code rec}; the weights
     * are those of the model trained to this point and {@code ctx.backprop()} holds the last micro-batch's
     * activations (calibration for data-aware criteria).
     */
    protected abstract void prune(int round, TrainContext ctx, FfnMasks masks, Map<String, Object> rec);

    /** After each round's prune (and rewind): e.g. a snapshot of the weights the next round starts from. */
    protected void roundStarted(int round, FfnMasks masks) {
    }

    @Override
    public void afterStep(TrainContext ctx) {
        if (masks == null) {
            masks = FfnMasks.dense(ctx.params());
            if (pending != null) {
                restoreNow(pending);
                pending = null;
            }
        }
        int step = ctx.step();
        if (step % roundSteps != 0 || step / roundSteps > rounds) {
            masks.apply(ctx.optimizer());
            return;
        }
        int round = step / roundSteps;
        probe.beforePrune(round, step, ctx.params());
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("round", round);
        rec.put("step", step);
        rec.put("sparsityBefore", masks.sparsity());
        rec.put("pqIndexBefore", list(pqIndexes(masks)));
        prune(round, ctx, masks, rec);
        masks.apply(ctx.optimizer());
        if (rewind) {
            rewind(ctx.params(), ctx.optimizer());
        }
        roundStarted(round, masks);
        rec.put("sparsity", masks.sparsity());
        double[] perMatrix = new double[masks.matrices().size()];
        for (int m = 0; m < perMatrix.length; m++) {
            perMatrix[m] = masks.sparsity(m);
        }
        rec.put("sparsityPerMatrix", list(perMatrix));
        log.add(rec);
    }

    // every parameter back to the starting model's (times the mask), a fresh optimizer
    private void rewind(LlamaParams p, AdamW opt) {
        List<LlamaParams.Param> ps = p.params();
        for (int i = 0; i < ps.size(); i++) {
            java.lang.foreign.MemorySegment.copy(start[i], 0, ps.get(i).data(),
                    java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0, start[i].length);
            Arrays.fill(opt.m(i), 0f);
            Arrays.fill(opt.v(i), 0f);
        }
        opt.setSteps(0);
        masks.apply(opt);
    }

    /** PQ Index (p = 0.5, q = 1) of every matrix's kept weights, in {@link FfnMasks#matrices()} order. */
    static double[] pqIndexes(FfnMasks masks) {
        double[] out = new double[masks.matrices().size()];
        for (int m = 0; m < out.length; m++) {
            out[m] = Sap.pqIndex(masks.values(m), masks, m, Sap.P, Sap.Q);
        }
        return out;
    }

    /** A round-log value as JSON reads it back (so a resumed log equals the original). */
    protected static List<Double> list(double[] a) {
        return Arrays.stream(a).boxed().toList();
    }

    protected static List<Integer> list(int[] a) {
        return Arrays.stream(a).boxed().toList();
    }

    /** The names of the pruned matrices, in the order of the per-matrix arrays of the round log. */
    public List<String> matrixNames() {
        List<String> n = new ArrayList<>();
        int layers = startConfig.numLayers();
        for (int l = 0; l < layers; l++) {
            for (FfnMasks.Kind k : FfnMasks.Kind.values()) {
                n.add("model.layers." + l + "." + k.suffix);
            }
        }
        return n;
    }

    /** The round log so far (one map per round). */
    public List<Map<String, Object>> rounds() {
        return List.copyOf(log);
    }

    @Override
    public Map<String, String> state() {
        Map<String, String> s = new LinkedHashMap<>();
        if (masks != null) {
            masks.state("mask.", s);
        } else if (pending != null) {
            return pending;
        }
        try {
            s.put("rounds", JSON.writeValueAsString(log));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        extraState(s);
        return s;
    }

    /** A subclass's own state (put into the checkpoint beside the masks). */
    protected void extraState(Map<String, String> s) {
    }

    /** Restores {@link #extraState}. */
    protected void restoreExtra(Map<String, String> s) {
    }

    @Override
    public void restore(Map<String, String> state) {
        if (masks == null) {
            pending = Map.copyOf(state);       // the parameters come with the first step
        } else {
            restoreNow(state);
        }
    }

    private void restoreNow(Map<String, String> state) {
        masks.restore("mask.", state);
        log.clear();
        String r = state.get("rounds");
        if (r != null) {
            try {
                log.addAll(JSON.readValue(r, new TypeReference<List<Map<String, Object>>>() {
                }));
            } catch (IOException e) {
                throw new SparsaException.FormatException("checkpoint: method state 'rounds' is not JSON");
            }
        }
        restoreExtra(state);
    }

    @Override
    public Map<String, String> options() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("rounds", Integer.toString(rounds));
        m.put("roundSteps", Integer.toString(roundSteps));
        m.put("rewind", Boolean.toString(rewind));
        return m;
    }

    @Override
    public Map<String, Object> summary() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("rounds", rounds);
        m.put("roundSteps", roundSteps);
        m.put("rewind", rewind);
        m.put("matrices", matrixNames());
        m.put("roundLog", rounds());
        m.put("finalSparsity", masks == null ? 0.0 : masks.sparsity());
        return m;
    }
}
