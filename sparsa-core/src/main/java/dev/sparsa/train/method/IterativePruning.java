package dev.sparsa.train.method;

import dev.sparsa.SparsaException;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.train.TrainContext;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Fixed-ratio iterative pruning: every round prunes the share P of each FFN matrix's kept weights with the lowest
 * score of a {@link Pruner} (per matrix for magnitude, per output row for Wanda), so after R rounds a share
 * 1 − (1 − P)^R is pruned. With magnitude and rewinding this is lottery-ticket iterative magnitude pruning
 * (Frankle &amp; Carbin 2019), SAP's fixed-ratio baseline; without rewinding, gradual pruning with fine-tuning.
 */
public class IterativePruning extends PruningRounds {
    protected final Pruner pruner;
    protected final double ratio;

    /** @param ratio P, the share of the kept weights pruned per round, in [0, 1) */
    public IterativePruning(LlamaWeights start, Pruner pruner, double ratio, int rounds, int roundSteps,
                            boolean rewind) {
        super(start, rounds, roundSteps, rewind);
        checkRatio("per-round pruning ratio", ratio);
        this.pruner = pruner;
        this.ratio = ratio;
    }

    /** The per-round share P that reaches {@code target} after {@code rounds} rounds: 1 − (1 − S)^{1/R}. */
    public static double perRound(double target, int rounds) {
        checkRatio("pruning ratio", target);
        return 1 - Math.pow(1 - target, 1.0 / rounds);
    }

    static void checkRatio(String what, double r) {
        if (!(r >= 0 && r < 1)) {
            throw new SparsaException.UsageException(what + " must be in [0, 1), got " + r);
        }
    }

    @Override
    public String name() {
        return "imp-" + pruner.name();
    }

    /** How many of the kept weights (of the matrix, or of the row for per-row pruners) this round prunes. */
    static int share(int kept, double fraction) {
        return (int) Math.floor(kept * fraction);
    }

    @Override
    protected void prune(int round, TrainContext ctx, FfnMasks masks, Map<String, Object> rec) {
        Pruner.InputStats in = pruner.perRow() ? Pruner.InputStats.of(ctx.backprop()) : null;
        int n = masks.matrices().size();
        int[] cut = new int[n];
        for (int m = 0; m < n; m++) {
            cut[m] = pruneBase(masks, m, in, ratio);
        }
        rec.put("pruned", list(cut));
    }

    /** Prunes {@code fraction} of matrix m's kept weights (of each row's, per row) by the pruner's score. */
    protected int pruneBase(FfnMasks masks, int m, Pruner.InputStats in, double fraction) {
        FfnMasks.Matrix mx = masks.matrices().get(m);
        float[] w = masks.values(m);
        float[] score = new float[w.length];
        pruner.scores(mx, w, in, score);
        if (!pruner.perRow()) {
            return masks.pruneLowest(m, score, share(masks.retained(m), fraction), i -> true);
        }
        int total = 0;
        int c = mx.cols();
        for (int r = 0; r < mx.rows(); r++) {
            total += masks.pruneLowest(m, score, r * c, (r + 1) * c, share(masks.retainedInRow(m, r), fraction),
                    i -> true);
        }
        return total;
    }

    @Override
    public Map<String, String> options() {
        Map<String, String> m = new LinkedHashMap<>(super.options());
        m.put("pruner", pruner.name());
        m.put("ratio", Double.toString(ratio));
        return m;
    }

    @Override
    public Map<String, Object> summary() {
        Map<String, Object> m = new LinkedHashMap<>(super.summary());
        m.put("pruner", pruner.name());
        m.put("ratio", ratio);
        return m;
    }
}
