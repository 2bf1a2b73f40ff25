package dev.sparsa.train.method;

import dev.sparsa.SparsaException;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.train.TrainContext;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * SAP, Sparsity-informed Adaptive Pruning (Diao et al. 2023, "Pruning Deep Neural Networks from a Sparsity
 * Perspective", Algorithm 1), on the FFN matrices, layer-wise (their "layer" scope: one PQ Index and one amount per
 * weight matrix). At each round, for the d kept weights w of a matrix:
 * <pre>
 *   I(w) = 1 − d^{1/q − 1/p} · ‖w‖_p / ‖w‖_q                          PQ Index (eq. 1), 0 &lt; p &lt; q
 *   r    = ⌈ d · (1 + η_r)^{−q/(q−p)} · (1 − I(w))^{qp/(q−p)} ⌉        lower bound of the weights to keep (Thm. 2)
 *   c    = ⌊ d · min(γ · (1 − r/d), β) ⌋                              the round's amount (Algorithm 1, step 4)
 * </pre>
 * and the c kept weights of smallest magnitude are pruned; then every parameter is rewound to the starting model
 * (w₀ ⊙ m, the paper's retraining from the initialization) unless {@code rewind} is off. Defaults as their code:
 * p = 0.5, q = 1, η_r = 0, γ = 1, β = 0.9. Here w₀ is the pretrained model the run starts from (its random
 * initialization is not known), i.e. rewinding to the pretrained weights as lottery-ticket studies of pretrained
 * language models do.
 */
public final class Sap extends PruningRounds {
    public static final double P = 0.5;
    public static final double Q = 1.0;

    private final double p;
    private final double q;
    private final double etaR;
    private final double gamma;
    private final double beta;

    public Sap(LlamaWeights start, int rounds, int roundSteps, boolean rewind, double p, double q, double etaR,
               double gamma, double beta) {
        super(start, rounds, roundSteps, rewind);
        if (!(p > 0 && p < q) || !Double.isFinite(q)) {
            throw new SparsaException.UsageException("SAP needs 0 < p < q, got p = " + p + ", q = " + q);
        }
        if (!(etaR >= 0) || !Double.isFinite(etaR)) {
            throw new SparsaException.UsageException("SAP's η_r must be >= 0, got " + etaR);
        }
        if (!(gamma > 0) || !Double.isFinite(gamma)) {
            throw new SparsaException.UsageException("SAP's γ must be > 0, got " + gamma);
        }
        if (!(beta > 0 && beta < 1)) {
            throw new SparsaException.UsageException("SAP's β (largest share pruned per round) must be in (0, 1), got "
                    + beta);
        }
        this.p = p;
        this.q = q;
        this.etaR = etaR;
        this.gamma = gamma;
        this.beta = beta;
    }

    /** The reference defaults: p = 0.5, q = 1, η_r = 0, γ = 1, β = 0.9, rewinding. */
    public static Sap defaults(LlamaWeights start, int rounds, int roundSteps) {
        return new Sap(start, rounds, roundSteps, true, P, Q, 0, 1, 0.9);
    }

    @Override
    public String name() {
        return "sap";
    }

    /**
     * I(w) = 1 − d^{1/q−1/p}·‖w‖_p/‖w‖_q over the kept entries of matrix m (d of them; eq. 1); 0 when nothing is
     * kept or every kept weight is 0.
     */
    public static double pqIndex(float[] w, FfnMasks masks, int m, double p, double q) {
        double max = 0;
        int d = 0;
        for (int i = 0; i < w.length; i++) {
            if (masks.kept(m, i)) {
                max = Math.max(max, Math.abs(w[i]));
                d++;
            }
        }
        if (d == 0 || max == 0) {
            return 0;
        }
        double sp = 0;
        double sq = 0;
        for (int i = 0; i < w.length; i++) {
            if (masks.kept(m, i)) {
                double a = Math.abs(w[i]) / max;              // scale-free: I does not depend on a common factor
                sp += Math.pow(a, p);
                sq += Math.pow(a, q);
            }
        }
        return 1 - Math.pow(d, 1 / q - 1 / p) * Math.pow(sp, 1 / p) / Math.pow(sq, 1 / q);
    }

    /** r = ⌈d·(1+η_r)^{−q/(q−p)}·(1−I)^{qp/(q−p)}⌉, the bound on weights to keep (Theorem 2 / Algorithm 1). */
    public static long keepBound(long d, double pq, double p, double q, double etaR) {
        return (long) Math.ceil(d * Math.pow(1 + etaR, -q / (q - p)) * Math.pow(1 - pq, q * p / (q - p)));
    }

    /**
     * c = ⌊d·min(γ(1 − r/d), β)⌋, at least 0 (Algorithm 1), computed as ⌊min(γ(d − r), β·d)⌋ so that an exact
     * product is not rounded down by one (the reference's float32 {@code floor(d * ratio)} can be).
     */
    public static int amount(int d, long r, double gamma, double beta) {
        return (int) Math.floor(Math.max(0, Math.min(gamma * (d - r), beta * d)));
    }

    @Override
    protected void prune(int round, TrainContext ctx, FfnMasks masks, Map<String, Object> rec) {
        int n = masks.matrices().size();
        double[] pq = new double[n];
        long[] keep = new long[n];
        int[] cut = new int[n];
        for (int m = 0; m < n; m++) {
            float[] w = masks.values(m);
            int d = masks.retained(m);
            pq[m] = pqIndex(w, masks, m, p, q);
            keep[m] = keepBound(d, pq[m], p, q, etaR);
            cut[m] = amount(d, keep[m], gamma, beta);
            float[] score = new float[w.length];
            for (int i = 0; i < w.length; i++) {
                score[i] = Math.abs(w[i]);
            }
            masks.pruneLowest(m, score, cut[m], i -> true);
        }
        rec.put("pqIndex", list(pq));
        rec.put("keepBound", java.util.Arrays.stream(keep).mapToInt(Math::toIntExact).boxed().toList());
        rec.put("pruned", list(cut));
    }

    @Override
    public Map<String, String> options() {
        Map<String, String> m = new LinkedHashMap<>(super.options());
        m.put("pq", String.format(Locale.ROOT, "%s,%s", p, q));
        m.put("etaR", Double.toString(etaR));
        m.put("gamma", Double.toString(gamma));
        m.put("beta", Double.toString(beta));
        return m;
    }

    @Override
    public Map<String, Object> summary() {
        Map<String, Object> m = new LinkedHashMap<>(super.summary());
        m.put("p", p);
        m.put("q", q);
        m.put("etaR", etaR);
        m.put("gamma", gamma);
        m.put("beta", beta);
        return m;
    }
}
