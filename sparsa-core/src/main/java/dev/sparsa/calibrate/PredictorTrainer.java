package dev.sparsa.calibrate;

import dev.sparsa.infer.Predictor;
import dev.sparsa.tensor.Gemm;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Trains one layer's {@link Predictor} as Deja Vu trains its MLP sparse predictor (FMInference/DejaVu,
 * sparse_predictor/trainer_mlp.py): logits {@code s = P(x)}, weighted binary cross-entropy with the batch's positive
 * rate w = mean(y) + 0.005 as the weight of negatives (positives weigh 1),
 * <pre>
 *   L = (1 / (B·F)) Σ_{b,i} ω_{bi} · BCE(σ(s_{bi}), y_{bi}),   ω = y + (1 − y)·w
 * </pre>
 * and AdamW (β = (0.9, 0.999), ε = 1e-8, weight decay 0.01) over shuffled mini-batches; then τ is chosen on held-out
 * tokens for a target recall ({@link #chooseThreshold}). The forward and its backward are written out below and
 * checked against finite differences in the tests; the products run on {@link Gemm}, which splits over outputs only,
 * so a run gives the same bits for any thread count.
 */
final class PredictorTrainer {

    /**
     * @param kind        lowrank (Deja Vu: s = W2 W1 x) or mlp (PowerInfer: s = W2 ReLU(W1 x + b1) + b2)
     * @param rank        hidden width r
     * @param epochs      passes over the training rows
     * @param lr          AdamW learning rate
     * @param batch       rows per step
     * @param weightDecay AdamW decoupled weight decay (Deja Vu: 0.01)
     * @param seed        initialization and batch order
     */
    record Options(Predictor.Kind kind, int rank, int epochs, double lr, int batch, double weightDecay, long seed) {
    }

    /** The trained predictor and the mean training loss of its last epoch. */
    record Result(Predictor predictor, double loss) {
    }

    /** What a threshold τ gives on held-out rows. */
    record Eval(float tau, double recall, double precision, double candidates, double activeShare) {
    }

    /** Parameters and their gradients, flat: W1 [r, D], b1 [r], W2 [F, r], b2 [F]. */
    static final class Params {
        final int d;
        final int r;
        final int f;
        final boolean mlp;
        final float[] w1;
        final float[] b1;
        final float[] w2;
        final float[] b2;

        Params(int d, int r, int f, boolean mlp) {
            this.d = d;
            this.r = r;
            this.f = f;
            this.mlp = mlp;
            w1 = new float[r * d];
            b1 = new float[mlp ? r : 0];
            w2 = new float[f * r];
            b2 = new float[mlp ? f : 0];
        }

        /** PyTorch's nn.Linear initialization: U(−1/√in, 1/√in) for weights and biases. */
        void init(SplittableRandom rnd) {
            fill(w1, rnd, 1 / Math.sqrt(d));
            fill(b1, rnd, 1 / Math.sqrt(d));
            fill(w2, rnd, 1 / Math.sqrt(r));
            fill(b2, rnd, 1 / Math.sqrt(r));
        }

        private static void fill(float[] a, SplittableRandom rnd, double bound) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
            }
        }

        float[][] all() {
            return new float[][] {w1, b1, w2, b2};
        }
    }

    /** Work arrays of one mini-batch of up to {@code rows} rows. */
    static final class Work {
        final float[] x;
        final float[] z;
        final float[] phi;
        final float[] s;
        final float[] ds;
        final float[] dphi;
        final Gemm gemm = new Gemm();

        Work(int rows, Params p) {
            x = new float[rows * p.d];
            z = new float[rows * p.r];
            phi = new float[rows * p.r];
            s = new float[rows * p.f];
            ds = new float[rows * p.f];
            dphi = new float[rows * p.r];
        }
    }

    /** s = P(x) for the {@code rows} rows of {@code w.x}: z = x W1ᵀ (+ b1), φ = ReLU(z) (mlp) or z, s = φ W2ᵀ (+ b2). */
    static void forward(Params p, Work w, int rows, Parallel par) {
        w.gemm.multiply(rows, p.r, p.d, Gemm.Mat.of(w.x, 0, p.d), Gemm.Mat.of(p.w1, 0, p.d).t(),
                Gemm.Mat.of(w.z, 0, p.r), false, par);                    // z = x W1ᵀ
        for (int b = 0; b < rows; b++) {
            for (int j = 0; j < p.r; j++) {
                int k = b * p.r + j;
                float zz = p.mlp ? w.z[k] + p.b1[j] : w.z[k];              // z = W1 x + b1
                w.z[k] = zz;
                w.phi[k] = p.mlp ? Math.max(0f, zz) : zz;                  // φ = ReLU(z) (mlp), z (lowrank)
            }
        }
        w.gemm.multiply(rows, p.f, p.r, Gemm.Mat.of(w.phi, 0, p.r), Gemm.Mat.of(p.w2, 0, p.r).t(),
                Gemm.Mat.of(w.s, 0, p.f), false, par);                    // s = φ W2ᵀ
        if (p.mlp) {
            for (int b = 0; b < rows; b++) {
                for (int i = 0; i < p.f; i++) {
                    w.s[b * p.f + i] += p.b2[i];                           // (+ b2)
                }
            }
        }
    }

    /** −log σ(s) for y, −log(1 − σ(s)) otherwise, stably. */
    static double bce(double s, boolean y) {
        double m = y ? -s : s;
        return m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m));
    }

    static double sigmoid(double v) {
        return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
    }

    /**
     * Loss and gradients (into {@code g}) of the rows {@code idx[0 .. rows)} of {@code data}: forward, then
     * dL/ds = ω(σ(s) − y)/(B·F), dW2 = dsᵀ φ, db2 = Σ ds, dφ = ds W2, dz = dφ ⊙ [z &gt; 0] (mlp), dW1 = dzᵀ x, db1 = Σ dz.
     */
    static double lossAndGradient(Params p, Params g, Work w, PredictorData.Layer data, int[] idx, int rows,
                                  Parallel par) {
        for (int b = 0; b < rows; b++) {
            System.arraycopy(data.x(), idx[b] * p.d, w.x, b * p.d, p.d);
        }
        forward(p, w, rows, par);
        long pos = 0;
        for (int b = 0; b < rows; b++) {
            for (int i = 0; i < p.f; i++) {
                pos += data.label(idx[b], i) ? 1 : 0;
            }
        }
        double n = (double) rows * p.f;
        double wNeg = pos / n + 0.005;                                    // w = mean(y) + 0.005
        double loss = 0;
        for (int b = 0; b < rows; b++) {
            for (int i = 0; i < p.f; i++) {
                int k = b * p.f + i;
                boolean y = data.label(idx[b], i);
                double om = y ? 1 : wNeg;                                 // ω = y·(1 − w) + w
                loss += om * bce(w.s[k], y);
                w.ds[k] = (float) (om * (sigmoid(w.s[k]) - (y ? 1 : 0)) / n); // dL/ds = ω(σ(s) − y)/(B·F)
            }
        }
        w.gemm.multiply(p.f, p.r, rows, Gemm.Mat.of(w.ds, 0, p.f).t(), Gemm.Mat.of(w.phi, 0, p.r),
                Gemm.Mat.of(g.w2, 0, p.r), false, par);                   // dW2 = dsᵀ φ
        w.gemm.multiply(rows, p.r, p.f, Gemm.Mat.of(w.ds, 0, p.f), Gemm.Mat.of(p.w2, 0, p.r),
                Gemm.Mat.of(w.dphi, 0, p.r), false, par);                 // dφ = ds W2
        if (p.mlp) {
            Arrays.fill(g.b2, 0f);
            Arrays.fill(g.b1, 0f);
            for (int b = 0; b < rows; b++) {
                for (int i = 0; i < p.f; i++) {
                    g.b2[i] += w.ds[b * p.f + i];                          // db2 = Σ_b ds
                }
                for (int j = 0; j < p.r; j++) {
                    int k = b * p.r + j;
                    float dz = w.z[k] > 0 ? w.dphi[k] : 0f;                // dz = dφ ⊙ [z > 0]
                    w.dphi[k] = dz;
                    g.b1[j] += dz;                                         // db1 = Σ_b dz
                }
            }
        }
        w.gemm.multiply(p.r, p.d, rows, Gemm.Mat.of(w.dphi, 0, p.r).t(), Gemm.Mat.of(w.x, 0, p.d),
                Gemm.Mat.of(g.w1, 0, p.d), false, par);                   // dW1 = dzᵀ x
        return loss / n;
    }

    /** AdamW, as torch.optim.AdamW: p ← p − lr·λ·p, then the Adam step with bias correction. */
    static final class AdamW {
        private final float[][] m;
        private final float[][] v;
        private int t;

        AdamW(Params p) {
            float[][] a = p.all();
            m = new float[a.length][];
            v = new float[a.length][];
            for (int i = 0; i < a.length; i++) {
                m[i] = new float[a[i].length];
                v[i] = new float[a[i].length];
            }
        }

        void step(Params p, Params g, double lr, double wd) {
            t++;
            double b1 = 0.9;
            double b2 = 0.999;
            double c1 = 1 - Math.pow(b1, t);
            double c2 = 1 - Math.pow(b2, t);
            float[][] ps = p.all();
            float[][] gs = g.all();
            for (int a = 0; a < ps.length; a++) {
                float[] x = ps[a];
                float[] gr = gs[a];
                for (int i = 0; i < x.length; i++) {
                    x[i] -= (float) (lr * wd * x[i]);                        // decoupled weight decay
                    m[a][i] = (float) (b1 * m[a][i] + (1 - b1) * gr[i]);     // m = β1 m + (1 − β1) g
                    v[a][i] = (float) (b2 * v[a][i] + (1 - b2) * gr[i] * gr[i]); // v = β2 v + (1 − β2) g²
                    x[i] -= (float) (lr * (m[a][i] / c1) / (Math.sqrt(v[a][i] / c2) + 1e-8));
                }
            }
        }
    }

    /** Trains on rows [0, train) of {@code data}. */
    static Result train(PredictorData.Layer data, int train, Options o, Parallel par) {
        int d = data.x().length / data.rows();
        boolean mlp = o.kind() == Predictor.Kind.MLP;
        Params p = new Params(d, o.rank(), data.f(), mlp);
        Params g = new Params(d, o.rank(), data.f(), mlp);
        SplittableRandom rnd = new SplittableRandom(o.seed());
        p.init(rnd);
        AdamW opt = new AdamW(p);
        int bs = Math.min(o.batch(), train);
        Work w = new Work(bs, p);
        int[] order = new int[train];
        for (int i = 0; i < train; i++) {
            order[i] = i;
        }
        int[] idx = new int[bs];
        double last = Double.NaN;
        for (int e = 0; e < o.epochs(); e++) {
            for (int i = train - 1; i > 0; i--) {                         // a seeded shuffle per epoch
                int j = rnd.nextInt(i + 1);
                int tmp = order[i];
                order[i] = order[j];
                order[j] = tmp;
            }
            double sum = 0;
            for (int from = 0; from < train; from += bs) {
                int rows = Math.min(bs, train - from);
                System.arraycopy(order, from, idx, 0, rows);
                sum += lossAndGradient(p, g, w, data, idx, rows, par) * rows;
                opt.step(p, g, o.lr(), o.weightDecay());
            }
            last = sum / train;
        }
        return new Result(toPredictor(p), last);
    }

    static Predictor toPredictor(Params p) {
        Arena arena = Arena.ofAuto();
        Tensor w1 = Tensor.f32("predictor.w1", p.w1, p.r, p.d).copyTo(arena);
        Tensor w2 = Tensor.f32("predictor.w2", p.w2, p.f, p.r).copyTo(arena);
        return p.mlp ? new Predictor(Predictor.Kind.MLP, w1, p.b1.clone(), w2, p.b2.clone())
                : new Predictor(Predictor.Kind.LOW_RANK, w1, null, w2, null);
    }

    /**
     * τ for a target recall R on rows [from, to): the logits of the truly active entries sorted, τ the one at index
     * ⌊(1 − R)·|A|⌋, so that at least a share R of them score ≥ τ; with the recall, precision and candidate share τ
     * gives on those rows (scored by the inference code, {@link Predictor#scores}).
     */
    static Eval chooseThreshold(Predictor pr, PredictorData.Layer data, int from, int to, double recall,
                                Parallel par) {
        int d = pr.inputs();
        int f = pr.neurons();
        int n = to - from;
        float[] scores = new float[n * f];
        float[] z = pr.newHidden();
        float[] s = new float[f];
        long active = 0;
        for (int t = 0; t < n; t++) {
            pr.scores(data.x(), (from + t) * d, z, s, par);
            System.arraycopy(s, 0, scores, t * f, f);
            for (int i = 0; i < f; i++) {
                active += data.label(from + t, i) ? 1 : 0;
            }
        }
        float tau;
        if (active == 0) {
            tau = Float.MAX_VALUE;
        } else {
            float[] act = new float[(int) active];
            int k = 0;
            for (int t = 0; t < n; t++) {
                for (int i = 0; i < f; i++) {
                    if (data.label(from + t, i)) {
                        act[k++] = scores[t * f + i];
                    }
                }
            }
            Arrays.sort(act);
            tau = act[(int) Math.min(act.length - 1, Math.floor((1 - recall) * act.length))];
        }
        long cand = 0;
        long hit = 0;
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < f; i++) {
                if (scores[t * f + i] >= tau) {
                    cand++;
                    hit += data.label(from + t, i) ? 1 : 0;
                }
            }
        }
        double total = (double) n * f;
        return new Eval(tau, active == 0 ? 1 : (double) hit / active, cand == 0 ? 1 : (double) hit / cand,
                cand / total, active / total);
    }
}
