package dev.sparsa.train;

import dev.sparsa.model.Activation;
import dev.sparsa.spec.ModelConfig;

import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

/**
 * A Llama forward and {@link Backprop}'s loss in double precision, written from the equations with plain loops and
 * nothing of the project's kernels or model code: the reference the finite-difference test perturbs. The same
 * definitions as {@link dev.sparsa.model.llama.LlamaBlock} and {@link Backprop}: pre-norm blocks, RMSNorm
 * {@code x/√(mean x² + ε)·g}, RoPE in the "rotate_half" pairing with {@code inv_freq_i = θ^(−2i/d)} (in double; the
 * float model's float32 inv_freq differs by ~1e-7 relative, far below the test's tolerance), causal GQA attention
 * per sequence, gated FFN {@code W_down(act(W_gate x) ⊙ up')} with up' = ReLU(up) for dReLU, final norm, LM head
 * (the embedding when tied), and
 * <pre>
 *   loss = (1 − α)·CE + α·KL(teacher ‖ student) + λ·(1/L) Σ_ℓ mean|a_ℓ|      (α = 0 without a teacher)
 * </pre>
 * CE and KL means over the seqs·t predictions.
 */
final class DoubleLlama {
    private final ModelConfig c;
    private final Activation.Kind act;
    private final double thr;
    /** Every parameter as doubles, by Hugging Face name (perturb these). */
    final Map<String, double[]> w = new HashMap<>();
    /**
     * After {@link #loss}: the smallest distance of a gate pre-activation (and, for dReLU, an up projection) to a
     * point where the loss is not differentiable (0, or T for FATReLU; 0 for |a| with an L1 term).
     */
    double kinkMargin;
    /** After {@link #loss}: CE, KL (means) and the L1 term (1/L) Σ_ℓ mean|a_ℓ|. */
    double ce;
    double kl;
    double l1Term;
    /** When ≥ 0: {@link #delta} is added to h of layer {@code hLayer}, row {@code hRow}, neuron {@code hNeuron}. */
    int hLayer = -1;
    int hRow;
    int hNeuron;
    double delta;
    /** When set: the targets of the seqs·t predictions, instead of the next tokens. */
    int[] targets;
    /**
     * When > 0: LTE's routers on every FFN (router ℓ in {@link #w} as {@code lte.router.ℓ}, [N, D], N = F / size):
     * G_e = σ(xn·W_r,e); soft: h'_i = G_{e(i)} h_i and the loss adds (1/(n·L·N)) Σ (η G² + λ_s/(G − τ)²); hard:
     * h'_i = 1[G_{e(i)} > τ] h_i.
     */
    int lteSize;
    boolean lteHard;
    double lteTau = 0.5;
    double lteEta;
    double lteSep;
    /** After {@link #loss}: the LTE loss term and the smallest |G − τ|. */
    double lteTerm;
    double lteMargin;
    /** After {@link #loss}: every score G. */
    final java.util.List<Double> lteScores = new java.util.ArrayList<>();

    DoubleLlama(LlamaParams p) {
        this.c = p.config();
        Activation a = Activation.of(c.hiddenAct(), c.fatreluThreshold());
        this.act = a.kind();
        this.thr = a.threshold();
        for (LlamaParams.Param q : p.params()) {
            double[] d = new double[q.size()];
            for (int i = 0; i < d.length; i++) {
                d[i] = q.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            }
            w.put(q.name(), d);
        }
    }

    /** The loss of {@code seqs} rows of t + 1 tokens (row b predicts tokens 1..t from 0..t−1). */
    double loss(int[] tokens, int seqs, int t, float[] teacher, double alpha, double lambda) {
        int d = c.hiddenSize();
        int v = c.vocabSize();
        int n = seqs * t;
        kinkMargin = Double.POSITIVE_INFINITY;
        double[][] x = new double[n][];
        int[] targets = new int[n];
        double[] emb = w.get("model.embed_tokens.weight");
        for (int b = 0; b < seqs; b++) {
            for (int i = 0; i < t; i++) {
                int id = tokens[b * (t + 1) + i];
                x[b * t + i] = java.util.Arrays.copyOfRange(emb, id * d, (id + 1) * d);      // x = E[id]
                targets[b * t + i] = this.targets != null ? this.targets[b * t + i] : tokens[b * (t + 1) + i + 1];
            }
        }
        double l1 = 0;
        lteTerm = 0;
        lteMargin = Double.POSITIVE_INFINITY;
        lteScores.clear();
        for (int l = 0; l < c.numLayers(); l++) {
            l1 += layer(l, x, seqs, t, lambda != 0);
        }
        l1Term = l1 / c.numLayers();
        double[][] xf = rmsnorm(x, w.get("model.norm.weight"));
        double[] head = w.get(c.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight");
        double[][] logits = linear(xf, head, v, null);                                    // z = xf W_lmᵀ
        double ceSum = 0;
        double klSum = 0;
        for (int r = 0; r < n; r++) {
            double lse = logSumExp(logits[r]);
            ceSum += lse - logits[r][targets[r]];                                         // ℓ = lse(z) − z_y
            if (teacher != null) {
                double[] tz = new double[v];
                for (int j = 0; j < v; j++) {
                    tz[j] = teacher[r * v + j];
                }
                double lt = logSumExp(tz);
                for (int j = 0; j < v; j++) {                                             // Σ q (log q − log p)
                    double lq = tz[j] - lt;
                    klSum += Math.exp(lq) * (lq - (logits[r][j] - lse));
                }
            }
        }
        ce = ceSum / n;
        kl = klSum / n;
        double a = teacher == null ? 0 : alpha;
        return (1 - a) * ce + a * kl + lambda * l1Term + lteTerm;
    }

    // one block over x (in place); returns mean|a| of its FFN activations
    private double layer(int l, double[][] x, int seqs, int t, boolean withL1) {
        String p = "model.layers." + l + ".";
        String at = p + "self_attn.";
        int hd = c.headDim();
        int heads = c.numHeads();
        int kvHeads = c.numKvHeads();
        int f = c.intermediateSize();
        int n = x.length;
        double[][] xn = rmsnorm(x, w.get(p + "input_layernorm.weight"));
        double[][] q = linear(xn, w.get(at + "q_proj.weight"), heads * hd, w.get(at + "q_proj.bias"));
        double[][] k = linear(xn, w.get(at + "k_proj.weight"), kvHeads * hd, w.get(at + "k_proj.bias"));
        double[][] v = linear(xn, w.get(at + "v_proj.weight"), kvHeads * hd, w.get(at + "v_proj.bias"));
        for (int r = 0; r < n; r++) {
            rope(q[r], heads, r % t);
            rope(k[r], kvHeads, r % t);
        }
        double[][] att = new double[n][heads * hd];
        int group = heads / kvHeads;
        double scale = 1 / Math.sqrt(hd);
        for (int b = 0; b < seqs; b++) {
            for (int h = 0; h < heads; h++) {
                int ko = (h / group) * hd;
                for (int i = 0; i < t; i++) {
                    double[] s = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {                                        // s_j = q·k_j / √d
                        double dot = 0;
                        for (int e = 0; e < hd; e++) {
                            dot += q[b * t + i][h * hd + e] * k[b * t + j][ko + e];
                        }
                        s[j] = dot * scale;
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j <= i; j++) {                                        // o = Σ_j P_j v_j
                        for (int e = 0; e < hd; e++) {
                            att[b * t + i][h * hd + e] += s[j] / sum * v[b * t + j][ko + e];
                        }
                    }
                }
            }
        }
        add(x, linear(att, w.get(at + "o_proj.weight"), c.hiddenSize(), w.get(at + "o_proj.bias")));
        double[][] xn2 = rmsnorm(x, w.get(p + "post_attention_layernorm.weight"));
        double[][] gate = linear(xn2, w.get(p + "mlp.gate_proj.weight"), f, null);
        double[][] up = linear(xn2, w.get(p + "mlp.up_proj.weight"), f, null);
        double[][] h = new double[n][f];
        double absSum = 0;
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < f; j++) {
                double g = gate[r][j];
                double a = act(g);
                double u = act == Activation.Kind.DRELU ? Math.max(up[r][j], 0) : up[r][j];
                h[r][j] = a * u;                                                          // h = act(gate) ⊙ up'
                if (l == hLayer && r == hRow && j == hNeuron) {
                    h[r][j] += delta;
                }
                absSum += Math.abs(a);
                margin(g, up[r][j], withL1);
            }
        }
        if (lteSize > 0) {
            int experts = f / lteSize;
            double[][] z = linear(xn2, w.get("lte.router." + l), experts, null);          // z = xn W_rᵀ
            for (int r = 0; r < n; r++) {
                for (int e = 0; e < experts; e++) {
                    double ge = 1 / (1 + Math.exp(-z[r][e]));                             // G = σ(z)
                    lteMargin = Math.min(lteMargin, Math.abs(ge - lteTau));
                    lteScores.add(ge);
                    for (int j = e * lteSize; j < (e + 1) * lteSize; j++) {
                        h[r][j] = lteHard ? (ge > lteTau ? h[r][j] : 0) : ge * h[r][j];
                    }
                    if (!lteHard) {
                        lteTerm += (lteEta * ge * ge + lteSep / ((ge - lteTau) * (ge - lteTau)))
                                / ((double) n * c.numLayers() * experts);
                    }
                }
            }
        }
        add(x, linear(h, w.get(p + "mlp.down_proj.weight"), c.hiddenSize(), null));
        return absSum / ((double) n * f);
    }

    private double act(double g) {
        return switch (act) {
            case SILU -> g / (1 + Math.exp(-g));
            case GELU -> throw new UnsupportedOperationException("erf GELU: see FiniteDifferenceTest");
            case GELU_TANH -> 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g * g * g)));
            case RELU, DRELU -> Math.max(g, 0);
            case RELU2 -> Math.max(g, 0) * Math.max(g, 0);
            case FATRELU -> g >= thr ? g : 0;
        };
    }

    private void margin(double g, double u, boolean withL1) {
        switch (act) {
            case RELU, RELU2 -> kinkMargin = Math.min(kinkMargin, Math.abs(g));
            case FATRELU -> kinkMargin = Math.min(kinkMargin, Math.min(Math.abs(g - thr), withL1 ? Math.abs(g)
                    : Double.POSITIVE_INFINITY));
            case DRELU -> kinkMargin = Math.min(kinkMargin, Math.min(Math.abs(g), Math.abs(u)));
            default -> {
                if (withL1) {
                    kinkMargin = Math.min(kinkMargin, Math.abs(g));                       // |a| at a = 0
                }
            }
        }
    }

    // RoPE, pairs (i, i + d/2) of each head rotated by pos·θ^(−2i/d)
    private void rope(double[] x, int heads, int pos) {
        int hd = c.headDim();
        int half = hd / 2;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                double th = pos * Math.pow(c.ropeTheta(), -2.0 * i / hd);
                int i0 = h * hd + i;
                int i1 = i0 + half;
                double x0 = x[i0];
                double x1 = x[i1];
                x[i0] = x0 * Math.cos(th) - x1 * Math.sin(th);
                x[i1] = x0 * Math.sin(th) + x1 * Math.cos(th);
            }
        }
    }

    private double[][] rmsnorm(double[][] x, double[] g) {
        double[][] out = new double[x.length][];
        for (int r = 0; r < x.length; r++) {
            double ms = 0;
            for (double e : x[r]) {
                ms += e * e;
            }
            double inv = 1 / Math.sqrt(ms / x[r].length + c.normEps());
            out[r] = new double[x[r].length];
            for (int i = 0; i < x[r].length; i++) {
                out[r][i] = x[r][i] * inv * g[i];
            }
        }
        return out;
    }

    // y = x Wᵀ (+ b), W row-major [out, in]
    private static double[][] linear(double[][] x, double[] wt, int out, double[] bias) {
        double[][] y = new double[x.length][out];
        for (int r = 0; r < x.length; r++) {
            int in = x[r].length;
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) {
                    s += wt[o * in + i] * x[r][i];
                }
                y[r][o] = s;
            }
        }
        return y;
    }

    private static void add(double[][] x, double[][] y) {
        for (int r = 0; r < x.length; r++) {
            for (int i = 0; i < x[r].length; i++) {
                x[r][i] += y[r][i];
            }
        }
    }

    private static double logSumExp(double[] z) {
        double m = Double.NEGATIVE_INFINITY;
        for (double e : z) {
            m = Math.max(m, e);
        }
        double s = 0;
        for (double e : z) {
            s += Math.exp(e - m);
        }
        return m + Math.log(s);
    }
}
