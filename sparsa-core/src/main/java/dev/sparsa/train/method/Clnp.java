package dev.sparsa.train.method;

import dev.sparsa.SparsaException;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.train.Continual;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.TrainContext;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * CLNP, Continual Learning via Neural Pruning (Golkar, Kagan &amp; Cho 2019), on the Llama FFN. The paper's MLP unit
 * is an FFN neuron i of a layer: its incoming weights are row i of W_gate and of W_up, its outgoing weights column i
 * of W_down, its activity |h_i| with h = ReLU(gate) ⊙ up. Per task k:
 * <ol>
 *   <li>train with the L1 term λ · (1/L) Σ_ℓ mean|a_ℓ| on the FFN activations (sparsifies the neurons);</li>
 *   <li>score each neuron by its average activity over the task's validation set, s_i = mean_t |h_i(t)| (the paper's
 *   criterion: average activation on a validation set);</li>
 *   <li>prune the least active of the neurons that were free at the task's start: the largest share q (a grid of
 *   tenths, the same share in every layer) whose removal raises the task's validation bits/byte by at most ε, the
 *   graceful-forgetting parameter (§3.2: a small controlled loss in exchange for capacity), and never keeping more
 *   than {@code freezeRatio} of a layer's free neurons; pruned neurons get fresh gate/up rows (N(0, σ²)) and a zero
 *   down column, so they contribute exactly 0 and are free again;</li>
 *   <li>the kept neurons are claimed by task k and frozen: from task k + 1 on their gate/up rows and down column
 *   never change (gradients zeroed before the optimizer, values restored after it, bit for bit).</li>
 * </ol>
 * Interference: in an MLP, CLNP zeroes the weights from free neurons into used ones, so a later task cannot change
 * an earlier task's computation. In a Llama every FFN neuron writes into the shared residual stream, so the same
 * cut is made at evaluation: task j is evaluated with the neurons claimed by tasks ≤ j only (the later ones masked:
 * their down columns zeroed in a copy), which gives task j exactly its own network, as CLNP's task-specific heads do
 * (CLNP is task-incremental: the task is known at test time). Without the task's identity ({@link
 * #agnosticWeights}) every task runs the network of all the claimed neurons: the experiment reports both. Attention, embeddings, norms and the LM head are shared
 * by every task: they train with task 1 and are frozen from task 2 on (else every earlier task would drift); so later
 * tasks learn only through their new FFN neurons, as the paper's later tasks learn only through free neurons (and
 * may reuse the frozen ones: the reuse count).
 *
 * <p>Reported per task: free neurons after it, neurons it claimed, the share of earlier tasks' neurons it reuses
 * (active on its validation text above its pruning threshold, the largest activity it pruned), q, and the bits/byte
 * before and after pruning.
 */
public final class Clnp implements Continual {
    private static final ValueLayout.OfFloat F32 =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    private final float lambda;
    private final double graceful;
    private final double freezeRatio;
    private final double initStd;
    private final long seed;
    private int[][] owner;                            // [layer][neuron]: −1 free, else the claiming task
    private Map<String, boolean[]> frozen = Map.of(); // parameter → entries frozen (restored after every step)
    private Map<String, float[]> snapshot = Map.of();
    private final Map<String, double[]> perTask = new LinkedHashMap<>();

    /**
     * @param lambda      λ of the L1 term on the FFN activations, ≥ 0
     * @param graceful    ε: bits/byte a task may lose to pruning, ≥ 0
     * @param freezeRatio the largest share of a layer's free neurons one task may claim, in [0, 1]
     * @param initStd     σ of the re-drawn rows of pruned neurons
     */
    public Clnp(float lambda, double graceful, double freezeRatio, double initStd, long seed) {
        if (!(lambda >= 0)) {
            throw new SparsaException.UsageException("--lambda must be >= 0, got " + lambda);
        }
        if (!(graceful >= 0)) {
            throw new SparsaException.UsageException("--graceful must be >= 0 (bits/byte), got " + graceful);
        }
        if (!(freezeRatio >= 0 && freezeRatio <= 1)) {
            throw new SparsaException.UsageException("--freeze-ratio must be in [0, 1], got " + freezeRatio);
        }
        this.lambda = lambda;
        this.graceful = graceful;
        this.freezeRatio = freezeRatio;
        this.initStd = initStd;
        this.seed = seed;
    }

    @Override
    public String name() {
        return "clnp";
    }

    @Override
    public float l1(int step) {
        return lambda;
    }

    @Override
    public Map<String, String> options() {
        return Map.of("lambda", Float.toString(lambda), "graceful", Double.toString(graceful), "freezeRatio",
                Double.toString(freezeRatio));
    }

    /**
     * Between tasks: each layer's owners ({@code owner.L}: comma-separated, −1 free) and the per-task diagnostics
     * ({@code perTask.KEY}: doubles in their shortest round-trip form). The frozen masks and snapshots are made
     * again by {@link #startTask} from the owners and the weights.
     */
    @Override
    public Map<String, String> state() {
        Map<String, String> m = new LinkedHashMap<>();
        if (owner != null) {
            for (int l = 0; l < owner.length; l++) {
                m.put("owner." + l, Arrays.stream(owner[l]).mapToObj(Integer::toString)
                        .collect(java.util.stream.Collectors.joining(",")));
            }
        }
        perTask.forEach((k, v) -> m.put("perTask." + k, Continual.doubles(v)));
        return m;
    }

    @Override
    public void restore(Map<String, String> state) {
        List<int[]> own = new java.util.ArrayList<>();
        for (int l = 0; state.containsKey("owner." + l); l++) {
            own.add(Arrays.stream(state.get("owner." + l).split(",")).mapToInt(Integer::parseInt).toArray());
        }
        owner = own.isEmpty() ? null : own.toArray(int[][]::new);
        perTask.clear();
        state.forEach((k, v) -> {
            if (k.startsWith("perTask.")) {
                perTask.put(k.substring("perTask.".length()), Continual.doubles(v));
            }
        });
    }

    /** Each layer's owners (−1 free), a copy. */
    public int[][] owners() {
        int[][] c = new int[owner.length][];
        for (int l = 0; l < c.length; l++) {
            c[l] = owner[l].clone();
        }
        return c;
    }

    @Override
    public void startTask(Task t) {
        LlamaParams p = t.params();
        int layers = p.config().numLayers();
        int f = p.config().intermediateSize();
        int d = p.config().hiddenSize();
        if (owner == null) {
            owner = new int[layers][f];
            for (int[] o : owner) {
                Arrays.fill(o, -1);
            }
        }
        Map<String, boolean[]> fr = new LinkedHashMap<>();
        if (t.index() > 0) {
            for (LlamaParams.Param q : p.params()) {
                boolean[] m = new boolean[q.size()];
                int l = layerOf(q.name());
                if (l < 0 || !q.name().contains(".mlp.")) {
                    Arrays.fill(m, true);                                      // shared: frozen after task 1
                } else if (q.name().endsWith("down_proj.weight")) {
                    for (int r = 0; r < d; r++) {
                        for (int i = 0; i < f; i++) {
                            m[r * f + i] = owner[l][i] >= 0;                   // column i of [D, F]
                        }
                    }
                } else {
                    for (int i = 0; i < f; i++) {
                        Arrays.fill(m, i * d, (i + 1) * d, owner[l][i] >= 0);  // row i of [F, D]
                    }
                }
                fr.put(q.name(), m);
            }
        }
        frozen = fr;
        Map<String, float[]> snap = new LinkedHashMap<>();
        for (String n : fr.keySet()) {
            snap.put(n, values(p.param(n)));
        }
        snapshot = snap;
    }

    @Override
    public void beforeOptimizerStep(TrainContext ctx) {
        for (Map.Entry<String, boolean[]> e : frozen.entrySet()) {
            float[] g = ctx.params().param(e.getKey()).grad();
            boolean[] m = e.getValue();
            for (int i = 0; i < g.length; i++) {
                if (m[i]) {
                    g[i] = 0f;                                                 // no gradient into frozen weights
                }
            }
        }
    }

    @Override
    public void afterStep(TrainContext ctx) {
        for (Map.Entry<String, boolean[]> e : frozen.entrySet()) {
            MemorySegment w = ctx.params().param(e.getKey()).data();
            float[] s = snapshot.get(e.getKey());
            boolean[] m = e.getValue();
            for (int i = 0; i < m.length; i++) {
                if (m[i]) {
                    w.setAtIndex(F32, i, s[i]);                                // undo weight decay and momentum
                }
            }
        }
    }

    @Override
    public void endTask(Task t) {
        LlamaParams p = t.params();
        int layers = owner.length;
        int f = owner[0].length;
        double[][] act = activity(p.weights(), t);
        // the free neurons of each layer, least active first
        int[][] cand = new int[layers][];
        for (int l = 0; l < layers; l++) {
            final double[] a = act[l];
            final int[] own = owner[l];
            cand[l] = java.util.stream.IntStream.range(0, f).filter(i -> own[i] < 0).boxed()
                    .sorted((x, y) -> Double.compare(a[x], a[y])).mapToInt(Integer::intValue).toArray();
        }
        double base;
        try (Arena a = Arena.ofShared()) {
            base = t.bitsPerByte(masked(p, keepWith(cand, 0, t.index()), a));
        }
        double minQ = 1 - freezeRatio;
        double chosen = minQ;
        double after = Double.NaN;
        for (int k = 10; k >= 0; k--) {
            double q = k / 10.0;
            if (q < minQ - 1e-12) {
                break;
            }
            double b;
            try (Arena a = Arena.ofShared()) {
                b = t.bitsPerByte(masked(p, keepWith(cand, q, t.index()), a));
            }
            chosen = q;
            after = b;
            if (b <= base + graceful) {                                        // graceful forgetting: within ε
                break;
            }
        }
        if (Double.isNaN(after)) {                                             // freezeRatio 0 < 1 − 1: prune all
            try (Arena a = Arena.ofShared()) {
                after = t.bitsPerByte(masked(p, keepWith(cand, chosen, t.index()), a));
            }
        }
        // apply: the pruned neurons are free (fresh rows in, zero column out), the rest claimed by this task
        SplittableRandom rnd = new SplittableRandom(seed * 6364136223846793005L + t.index());
        int claimed = 0;
        double[] threshold = new double[layers];
        for (int l = 0; l < layers; l++) {
            int prune = (int) Math.floor(chosen * cand[l].length + 1e-9);
            threshold[l] = prune == 0 ? 0 : act[l][cand[l][prune - 1]];
            for (int r = 0; r < cand[l].length; r++) {
                int i = cand[l][r];
                if (r < prune) {
                    free(p, l, i, rnd.split());
                } else {
                    owner[l][i] = t.index();
                    claimed++;
                }
            }
        }
        int earlier = 0;
        int reused = 0;
        int free = 0;
        for (int l = 0; l < layers; l++) {
            for (int i = 0; i < f; i++) {
                if (owner[l][i] >= 0 && owner[l][i] < t.index()) {
                    earlier++;
                    if (act[l][i] > threshold[l]) {
                        reused++;                                              // an earlier neuron active on this task
                    }
                }
                if (owner[l][i] < 0) {
                    free++;
                }
            }
        }
        put("freeNeurons", t, free);
        put("claimedNeurons", t, claimed);
        put("reusedShare", t, earlier == 0 ? 0 : (double) reused / earlier);
        put("prunedShare", t, chosen);
        put("bitsPerByteBeforePrune", t, base);
        put("bitsPerByteAfterPrune", t, after);
        t.log().say(String.format(Locale.ROOT, "clnp: task %s: pruned %.0f%% of the free neurons (bits/byte %.4f → "
                        + "%.4f, ε %s), claimed %d, %d free, reuse %.3f", t.name(), 100 * chosen, base, after,
                graceful, claimed, free, earlier == 0 ? 0 : (double) reused / earlier));
    }

    private void put(String key, Task t, double v) {
        perTask.computeIfAbsent(key, k -> new double[t.count()])[t.index()] = v;
    }

    @Override
    public Map<String, double[]> perTask() {
        return perTask;
    }

    /** Task j's network: the neurons claimed by tasks ≤ j (the rest masked by zero down columns, in a copy). */
    @Override
    public LlamaWeights weightsFor(int task, LlamaParams p, Arena arena) {
        boolean[][] keep = new boolean[owner.length][owner[0].length];
        for (int l = 0; l < keep.length; l++) {
            for (int i = 0; i < keep[l].length; i++) {
                keep[l][i] = owner[l][i] >= 0 && owner[l][i] <= task;
            }
        }
        return masked(p, keep, arena);
    }

    /**
     * Without the task's identity: every task runs the network of all claimed neurons (tasks ≤ the last finished);
     * the free ones have zero down columns and contribute 0 anyway, so this is the trained weights as they are.
     */
    @Override
    public LlamaWeights agnosticWeights(LlamaParams p, Arena arena) {
        boolean[][] keep = new boolean[owner.length][owner[0].length];
        for (int l = 0; l < keep.length; l++) {
            for (int i = 0; i < keep[l].length; i++) {
                keep[l][i] = owner[l][i] >= 0;
            }
        }
        return masked(p, keep, arena);
    }

    // neurons kept when pruning the share q of each layer's candidates (least active first), with those of tasks ≤ k
    private boolean[][] keepWith(int[][] cand, double q, int k) {
        boolean[][] keep = new boolean[owner.length][owner[0].length];
        for (int l = 0; l < keep.length; l++) {
            for (int i = 0; i < keep[l].length; i++) {
                keep[l][i] = owner[l][i] >= 0 && owner[l][i] <= k;
            }
            int prune = (int) Math.floor(q * cand[l].length + 1e-9);
            for (int r = prune; r < cand[l].length; r++) {
                keep[l][cand[l][r]] = true;
            }
        }
        return keep;
    }

    /**
     * A copy of p's weights in which the neurons not kept contribute exactly 0: their down columns are zero, so
     * y = Σ_i h_i d_i only sums kept neurons (h_i · 0 = ±0 leaves every sum unchanged).
     */
    public static LlamaWeights masked(LlamaParams p, boolean[][] keep, Arena arena) {
        LlamaParams c = LlamaParams.copyOf(p.weights(), p.config(), arena);
        int f = p.config().intermediateSize();
        int d = p.config().hiddenSize();
        for (int l = 0; l < keep.length; l++) {
            MemorySegment down = c.param("model.layers." + l + ".mlp.down_proj.weight").data();
            for (int i = 0; i < f; i++) {
                if (!keep[l][i]) {
                    for (int r = 0; r < d; r++) {
                        down.setAtIndex(F32, (long) r * f + i, 0f);
                    }
                }
            }
        }
        return c.weights();
    }

    // a free neuron: fresh incoming rows, zero outgoing column (it contributes 0 until trained)
    private void free(LlamaParams p, int l, int i, SplittableRandom r) {
        int f = p.config().intermediateSize();
        int d = p.config().hiddenSize();
        String pre = "model.layers." + l + ".mlp.";
        for (String n : List.of("gate_proj.weight", "up_proj.weight")) {
            MemorySegment w = p.param(pre + n).data();
            for (int c = 0; c < d; c++) {
                w.setAtIndex(F32, (long) i * d + c, (float) (r.nextGaussian() * initStd));
            }
        }
        MemorySegment down = p.param(pre + "down_proj.weight").data();
        for (int c = 0; c < d; c++) {
            down.setAtIndex(F32, (long) c * f + i, 0f);
        }
        owner[l][i] = -1;
    }

    /** s_i = mean over the task's validation tokens of |h_i|, per layer (the inference forward with a tap). */
    static double[][] activity(LlamaWeights w, Task t) {
        int layers = w.config().numLayers();
        int f = w.config().intermediateSize();
        double[][] s = new double[layers][f];
        long[] n = new long[layers];
        LlamaModel m = LlamaModel.of(w, DenseFfn::new);
        ActivationTap tap = (layer, pos, x, xo, gate, a, h, off) -> {
            double[] sl = s[layer];
            for (int i = 0; i < f; i++) {
                sl[i] += Math.abs(h[off + i]);
            }
            n[layer]++;
        };
        for (int win = 0; win < t.valid().count(); win++) {
            int[] ids = t.valid().ids(win);
            m.forward(m.newCache(ids.length), ids, false, tap, t.par());
        }
        for (int l = 0; l < layers; l++) {
            for (int i = 0; i < f; i++) {
                s[l][i] /= Math.max(1, n[l]);
            }
        }
        return s;
    }

    static int layerOf(String name) {
        if (!name.startsWith("model.layers.")) {
            return -1;
        }
        int a = "model.layers.".length();
        return Integer.parseInt(name.substring(a, name.indexOf('.', a)));
    }

    static float[] values(LlamaParams.Param q) {
        float[] v = new float[q.size()];
        MemorySegment.copy(q.data(), F32, 0, v, 0, v.length);
        return v;
    }
}
