package dev.sparsa.train.method;

import dev.sparsa.SparsaException;
import dev.sparsa.train.AdamW;
import dev.sparsa.train.Continual;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.TrainContext;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SparCL, Sparse Continual Learning on the Edge (Wang et al., NeurIPS 2022), on the replay batches (the paper puts
 * it on top of a rehearsal method). Three parts, on the linear weights of every layer (q, k, v, o, gate, up, down;
 * embeddings, norms and the LM head stay dense):
 * <ul>
 *   <li><b>TDM</b>, task-aware dynamic masking: a weight mask M_w of density 1 − s over the whole sequence (magnitude
 *   at the start). Every ΔT steps, and at the first step of each task (the task transition), the mask is updated by
 *   shrink and expand: drop the share p of active weights with the lowest importance CWI(θ) = |θ| + α·|∂L/∂θ| (eq. 1;
 *   the gradient of the batch, whose rows are the current task's and the buffer's: the two terms of eq. 1 merged with
 *   α = β, as the authors' code does), then grow as many inactive weights with the largest |∂L/∂θ|; grown weights
 *   start at 0 with zero Adam moments. Masked weights are zeroed after every step (so the forward multiplies only
 *   M_w's weights).</li>
 *   <li><b>DGM</b>, dynamic gradient masking: at each mask update, of the active weights only the share {@code
 *   gradKeep} with the largest CGI(θ) = |∂L/∂θ| (eq. 3, merged likewise) keep their gradient until the next update;
 *   the others' gradients are zeroed before the optimizer and are not computed in the FLOP count. (AdamW's moments
 *   still move a weight for a while after its gradient is masked.)</li>
 *   <li><b>DDR</b>, dynamic data removal: before given epochs of each task, the share {@code removal[e − 1]} of the
 *   task's remaining training windows with the lowest loss (the easiest, least informative) is removed from it; the
 *   scoring forward passes are counted. The paper scores samples by how often they were misclassified; CE per
 *   window is a language model's counterpart.</li>
 * </ul>
 * At a mask update the dense gradient is needed, so those steps count dW dense.
 */
public final class SparCl implements Continual {
    private static final ValueLayout.OfFloat F32 =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    private final double sparsity;
    private final int every;
    private final double updateShare;
    private final double alpha;
    private final double gradKeep;
    private final double[] removal;
    private final Map<String, boolean[]> weightMask = new LinkedHashMap<>();
    private final Map<String, boolean[]> gradMask = new LinkedHashMap<>();
    private final Map<String, Long> weightNnz = new LinkedHashMap<>();
    private final Map<String, Long> gradNnz = new LinkedHashMap<>();
    private final Map<String, double[]> perTask = new LinkedHashMap<>();
    private Map<String, Integer> index;
    private boolean taskStart;
    private boolean denseGrad;
    private int steps;
    private long swapped;
    private int updates;

    /**
     * @param sparsity    s: share of each masked matrix held at zero, in [0, 1)
     * @param every       ΔT: steps between mask updates, ≥ 1
     * @param updateShare p: share of the active weights dropped (and regrown) per update, in [0, 1]
     * @param alpha       α of CWI's gradient term, ≥ 0
     * @param gradKeep    share of the active weights whose gradient DGM keeps, in (0, 1]
     * @param removal     DDR: share of the remaining windows removed before epoch e (index e − 1), each in [0, 1)
     */
    public SparCl(double sparsity, int every, double updateShare, double alpha, double gradKeep, double[] removal) {
        if (!(sparsity >= 0 && sparsity < 1)) {
            throw new SparsaException.UsageException("--sparsity must be in [0, 1), got " + sparsity);
        }
        if (every < 1) {
            throw new SparsaException.UsageException("--update-every must be >= 1, got " + every);
        }
        if (!(updateShare >= 0 && updateShare <= 1)) {
            throw new SparsaException.UsageException("--update-share must be in [0, 1], got " + updateShare);
        }
        if (!(alpha >= 0)) {
            throw new SparsaException.UsageException("--alpha must be >= 0, got " + alpha);
        }
        if (!(gradKeep > 0 && gradKeep <= 1)) {
            throw new SparsaException.UsageException("--grad-keep must be in (0, 1], got " + gradKeep);
        }
        for (double r : removal) {
            if (!(r >= 0 && r < 1)) {
                throw new SparsaException.UsageException("--removal: each share must be in [0, 1), got " + r);
            }
        }
        this.sparsity = sparsity;
        this.every = every;
        this.updateShare = updateShare;
        this.alpha = alpha;
        this.gradKeep = gradKeep;
        this.removal = removal.clone();
    }

    @Override
    public String name() {
        return "sparcl";
    }

    @Override
    public Map<String, String> options() {
        return Map.of("sparsity", Double.toString(sparsity), "every", Integer.toString(every), "updateShare",
                Double.toString(updateShare), "alpha", Double.toString(alpha), "gradKeep", Double.toString(gradKeep),
                "removal", Arrays.toString(removal));
    }

    /** The weight mask of a matrix (true: active), a copy; null when not masked. */
    public boolean[] weightMask(String name) {
        boolean[] m = weightMask.get(name);
        return m == null ? null : m.clone();
    }

    public boolean[] gradientMask(String name) {
        boolean[] m = gradMask.get(name);
        return m == null ? null : m.clone();
    }

    @Override
    public void startTask(Task t) {
        LlamaParams p = t.params();
        if (index == null) {
            index = new LinkedHashMap<>();
            List<LlamaParams.Param> ps = p.params();
            for (int i = 0; i < ps.size(); i++) {
                index.put(ps.get(i).name(), i);
            }
        }
        if (weightMask.isEmpty()) {                                            // the first task (not restored)
            for (String n : linears(p.config())) {
                LlamaParams.Param q = p.param(n);
                float[] w = Clnp.values(q);
                float[] score = new float[w.length];
                for (int i = 0; i < w.length; i++) {
                    score[i] = Math.abs(w[i]);
                }
                int keep = keepCount(w.length);
                boolean[] m = top(score, null, keep);                          // magnitude at the start
                weightMask.put(n, m);
                gradMask.put(n, m.clone());
                weightNnz.put(n, (long) keep);
                gradNnz.put(n, (long) keep);
                apply(q.data(), m);
            }
        }
        taskStart = true;
        swapped = 0;
        updates = 0;
    }

    /**
     * Between tasks: each masked matrix's weight and gradient masks ({@code mask.NAME}, {@code grad.NAME}: the bits
     * packed little-endian, Base64), their non-zero counts ({@code nnz.NAME}: "weights,gradients"), the step count
     * that places the next mask update, and the per-task diagnostics.
     */
    @Override
    public Map<String, String> state() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("steps", Integer.toString(steps));
        for (String n : weightMask.keySet()) {
            m.put("mask." + n, bits(weightMask.get(n)));
            m.put("grad." + n, bits(gradMask.get(n)));
            m.put("nnz." + n, weightNnz.get(n) + "," + gradNnz.get(n));
        }
        perTask.forEach((k, v) -> m.put("perTask." + k, Continual.doubles(v)));
        return m;
    }

    @Override
    public void restore(Map<String, String> state) {
        steps = Integer.parseInt(state.getOrDefault("steps", "0"));
        weightMask.clear();
        gradMask.clear();
        weightNnz.clear();
        gradNnz.clear();
        perTask.clear();
        state.forEach((k, v) -> {
            if (k.startsWith("mask.")) {
                String n = k.substring("mask.".length());
                String[] nz = state.get("nnz." + n).split(",");
                weightMask.put(n, bits(v));
                gradMask.put(n, bits(state.get("grad." + n)));
                weightNnz.put(n, Long.parseLong(nz[0]));
                gradNnz.put(n, Long.parseLong(nz[1]));
            } else if (k.startsWith("perTask.")) {
                perTask.put(k.substring("perTask.".length()), Continual.doubles(v));
            }
        });
    }

    // a mask as its length, a colon and its bits packed little-endian in Base64
    static String bits(boolean[] m) {
        byte[] b = new byte[(m.length + 7) / 8];
        for (int i = 0; i < m.length; i++) {
            if (m[i]) {
                b[i >> 3] |= (byte) (1 << (i & 7));
            }
        }
        return m.length + ":" + java.util.Base64.getEncoder().encodeToString(b);
    }

    static boolean[] bits(String s) {
        int c = s.indexOf(':');
        boolean[] m = new boolean[Integer.parseInt(s.substring(0, c))];
        byte[] b = java.util.Base64.getDecoder().decode(s.substring(c + 1));
        for (int i = 0; i < m.length; i++) {
            m[i] = (b[i >> 3] >> (i & 7) & 1) != 0;
        }
        return m;
    }

    /** The matrices SparCL masks, by HF name: q, k, v, o, gate, up, down of every layer. */
    public static List<String> linears(dev.sparsa.spec.ModelConfig c) {
        List<String> n = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            for (String s : List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")) {
                n.add(p + s + ".weight");
            }
        }
        return n;
    }

    int keepCount(int size) {
        return (int) Math.round(size * (1 - sparsity));
    }

    @Override
    public void beforeOptimizerStep(TrainContext ctx) {
        steps++;
        denseGrad = taskStart || steps % every == 0;
        if (denseGrad) {
            update(ctx.params(), ctx.optimizer());
            taskStart = false;
        }
        for (Map.Entry<String, boolean[]> e : gradMask.entrySet()) {
            float[] g = ctx.params().param(e.getKey()).grad();
            boolean[] m = e.getValue();
            for (int i = 0; i < g.length; i++) {
                if (!m[i]) {
                    g[i] = 0f;                                                 // DGM (and the inactive weights)
                }
            }
        }
    }

    // TDM's shrink and expand, then DGM's gradient mask, from this step's dense gradient
    private void update(LlamaParams p, AdamW opt) {
        updates++;
        for (Map.Entry<String, boolean[]> e : weightMask.entrySet()) {
            LlamaParams.Param q = p.param(e.getKey());
            boolean[] m = e.getValue();
            float[] w = Clnp.values(q);
            float[] g = q.grad();
            int active = 0;
            for (boolean b : m) {
                active += b ? 1 : 0;
            }
            int k = (int) Math.round(updateShare * active);
            k = Math.min(k, m.length - active);                                // as many can regrow
            float[] cwi = new float[w.length];
            float[] mag = new float[w.length];
            boolean[] inactive = new boolean[m.length];
            for (int i = 0; i < w.length; i++) {
                cwi[i] = (float) (Math.abs(w[i]) + alpha * Math.abs(g[i]));   // CWI(θ) = |θ| + α|∇θ L|
                mag[i] = Math.abs(g[i]);
                inactive[i] = !m[i];
            }
            boolean[] drop = bottom(cwi, m, k);                                // shrink: lowest CWI of the active
            boolean[] grow = top(mag, inactive, k);                            // expand: largest |∇| of the inactive
            int pi = index.get(e.getKey());
            float[] mo = opt.m(pi);
            float[] vo = opt.v(pi);
            for (int i = 0; i < m.length; i++) {
                if (drop[i] || grow[i]) {
                    m[i] = grow[i];
                    mo[i] = 0f;
                    vo[i] = 0f;
                    swapped++;
                }
            }
            apply(q.data(), m);                                                // dropped weights are 0 now, grown 0
            int keep = (int) Math.round(gradKeep * (active));
            boolean[] gm = top(mag, m, keep);                                  // DGM: largest CGI = |∇θ L|
            gradMask.put(e.getKey(), gm);
            gradNnz.put(e.getKey(), (long) keep);
            weightNnz.put(e.getKey(), (long) active);
        }
    }

    @Override
    public void afterStep(TrainContext ctx) {
        for (Map.Entry<String, boolean[]> e : weightMask.entrySet()) {
            apply(ctx.params().param(e.getKey()).data(), e.getValue());       // masked weights stay exactly 0
        }
    }

    @Override
    public void endTask(Task t) {
        long nnz = weightNnz.values().stream().mapToLong(Long::longValue).sum();
        long all = weightMask.values().stream().mapToLong(m -> m.length).sum();
        long gnz = gradNnz.values().stream().mapToLong(Long::longValue).sum();
        perTask.computeIfAbsent("weightDensity", k -> new double[t.count()])[t.index()] = (double) nnz / all;
        perTask.computeIfAbsent("gradientDensity", k -> new double[t.count()])[t.index()] = (double) gnz / all;
        perTask.computeIfAbsent("maskUpdates", k -> new double[t.count()])[t.index()] = updates;
        perTask.computeIfAbsent("swappedShare", k -> new double[t.count()])[t.index()] = (double) swapped / all;
    }

    @Override
    public double removeShare(int task, int epoch) {
        return epoch >= 1 && epoch - 1 < removal.length ? removal[epoch - 1] : 0;
    }

    @Override
    public long weightNonZeros(String name) {
        Long n = weightNnz.get(name);
        return n == null ? -1 : n;
    }

    @Override
    public long gradientNonZeros(String name) {
        Long n = gradNnz.get(name);
        return n == null || denseGrad ? -1 : n;
    }

    @Override
    public Map<String, double[]> perTask() {
        return perTask;
    }

    private static void apply(MemorySegment w, boolean[] m) {
        for (int i = 0; i < m.length; i++) {
            if (!m[i]) {
                w.setAtIndex(F32, i, 0f);
            }
        }
    }

    /** The k entries with the largest score among the eligible (null: all); ties to the lower index. */
    static boolean[] top(float[] score, boolean[] eligible, int k) {
        return select(score, eligible, k, true);
    }

    /** The k entries with the smallest score among the eligible. */
    static boolean[] bottom(float[] score, boolean[] eligible, int k) {
        return select(score, eligible, k, false);
    }

    // scores are ≥ 0, so their float bits sort as the values do; the index breaks ties
    private static boolean[] select(float[] score, boolean[] eligible, int k, boolean largest) {
        long[] key = new long[score.length];
        int n = 0;
        for (int i = 0; i < score.length; i++) {
            if (eligible == null || eligible[i]) {
                long bits = Float.floatToIntBits(score[i]);
                key[n++] = ((largest ? (0x7FFFFFFFL - bits) : bits) << 32) | i;
            }
        }
        long[] sorted = Arrays.copyOf(key, n);
        Arrays.sort(sorted);
        boolean[] out = new boolean[score.length];
        for (int j = 0; j < Math.min(k, n); j++) {
            out[(int) (sorted[j] & 0xFFFFFFFFL)] = true;
        }
        return out;
    }
}
