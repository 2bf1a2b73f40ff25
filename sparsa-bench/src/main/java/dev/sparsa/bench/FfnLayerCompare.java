package dev.sparsa.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import dev.sparsa.infer.ExactSparseFfn;
import dev.sparsa.infer.FfnLayout;
import dev.sparsa.infer.LteFfn;
import dev.sparsa.infer.NeuronRule;
import dev.sparsa.infer.PredictedSparseFfn;
import dev.sparsa.infer.PredictorFfn;
import dev.sparsa.io.RandomWeights;
import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnActivations;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.model.LteRouters;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Quant;
import dev.sparsa.tensor.Tensor;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The FFN layer of {@link FfnLayerBench} (LLaMA2-7B shape, FATReLU at a chosen sparsity), timed with the kernels
 * interleaved: each repetition runs dense, split and bundled (and per-token bundled for batches) one after the
 * other, so a noisy machine disturbs all of them alike; ratios are taken per repetition and reported as the median
 * (and the ratio of the minima, the least disturbed reading). Ideal speedup = dense bytes / bytes the sparse kernel
 * reads (gate + the active neurons' up rows and down columns, per token; for a batch the union of the tokens'
 * active sets). Prints one Markdown table.
 */
@Command(name = "bench-ffn", mixinStandardHelpOptions = true,
        description = "Dense vs exact-sparse (split, bundled), predicted or LTE FFN layer at LLaMA2-7B shape, "
                + "interleaved timing.")
public final class FfnLayerCompare implements Callable<Integer> {
    @Option(names = "--dtypes", split = ",", defaultValue = "BF16,Q8_0,Q4_0", paramLabel = "T",
            description = "Weight dtypes, one table block each (default ${DEFAULT-VALUE}).")
    List<DType> dtypes;
    @Option(names = "--sparsity", split = ",", defaultValue = "0.5,0.7,0.8,0.9,0.95", paramLabel = "S",
            description = "Shares of FFN neurons skipped per token (default ${DEFAULT-VALUE}).")
    List<Double> sparsities;
    @Option(names = "--batch", split = ",", defaultValue = "1", paramLabel = "B",
            description = "Tokens per FFN call; above 1 the table adds the one-token path in a loop "
                    + "(default ${DEFAULT-VALUE}).")
    List<Integer> batches;
    @Option(names = "--threads", defaultValue = "2", paramLabel = "N",
            description = "Worker threads (default ${DEFAULT-VALUE}).")
    int threads;
    @Option(names = "--reps", defaultValue = "15", paramLabel = "N",
            description = "Interleaved timed repetitions after 3 warm-up rounds (default ${DEFAULT-VALUE}).")
    int reps;
    @Option(names = "--d", defaultValue = "4096", paramLabel = "D",
            description = "Hidden size (default ${DEFAULT-VALUE}, LLaMA2-7B).")
    int d;
    @Option(names = "--f", defaultValue = "11008", paramLabel = "F",
            description = "FFN width (default ${DEFAULT-VALUE}, LLaMA2-7B).")
    int f;
    @Option(names = "--kernel", defaultValue = "exact", paramLabel = "K",
            description = "exact (gate-first exact-sparse), predicted (a rank-64 predictor built from W_gate, 30%% "
                    + "candidates: PredictedSparseFfn; its batch path keeps each token's candidates) or lte (LteFfn, "
                    + "SiLU, experts of --expert-size neurons, a random router with τ set so that 1 − sparsity of "
                    + "the batch's (token, expert) pairs are selected; its batch path reads the union of the tokens' "
                    + "experts once). Default: ${DEFAULT-VALUE}.")
    String kernel;
    @Option(names = "--order", defaultValue = "random", paramLabel = "O",
            description = "Neuron order (exact kernel): random (the weights' own: a token's active set is "
                    + "scattered over the records) or active-first (the neurons permuted, gate and up rows and down "
                    + "columns alike, so that the timed tokens' union is contiguous: the best case of a hot/cold "
                    + "neuron order such as PowerInfer's). Default: ${DEFAULT-VALUE}.")
    String order;
    @Option(names = "--copies", defaultValue = "1", paramLabel = "N",
            description = "Copies of the layer (weights and each kernel's own copies), the calls cycling through them, "
                    + "so that the working set passes the last-level cache: one layer (the default) may sit in a large "
                    + "LLC and then times compute, not memory (exact kernel; memory N times the layer's). "
                    + "Default: ${DEFAULT-VALUE}.")
    int copies;
    @Option(names = "--expert-size", defaultValue = "32", paramLabel = "N", description = "LTE expert size (--kernel lte). Default: "
            + "${DEFAULT-VALUE}.")
    int expertSize;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs with {@code args}; bad options are one line ({@code sparsa: ...}) and exit code 2, as the CLI's. */
    static int run(String... args) {
        CommandLine cl = new CommandLine(new FfnLayerCompare());
        cl.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("sparsa: " + ex.getMessage());
            return 2;
        });
        return cl.execute(args);
    }

    @Override
    public Integer call() throws Exception {
        if (!kernel.equals("exact") && !kernel.equals("predicted") && !kernel.equals("lte")) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--kernel must be exact, predicted or lte, "
                    + "got " + kernel);
        }
        CommandLine cl = new CommandLine(this);
        if (threads < 1 || reps < 1 || d < 1 || f < 1) {
            throw new CommandLine.ParameterException(cl, "--threads, --reps, --d and --f must be >= 1");
        }
        for (double sp : sparsities) {
            if (!(sp >= 0 && sp < 1)) {
                throw new CommandLine.ParameterException(cl, "--sparsity: a sparsity must be in [0, 1), got " + sp);
            }
        }
        for (int b : batches) {
            if (b < 1) {
                throw new CommandLine.ParameterException(cl, "--batch: a batch must be >= 1, got " + b);
            }
        }
        if (!order.equals("random") && !order.equals("active-first")) {
            throw new CommandLine.ParameterException(cl, "--order must be random or active-first, got " + order);
        }
        if (copies < 1) {
            throw new CommandLine.ParameterException(cl, "--copies must be >= 1, got " + copies);
        }
        if (copies > 1 && !kernel.equals("exact")) {
            throw new CommandLine.ParameterException(cl, "--copies is for --kernel exact");
        }
        if (order.equals("active-first") && !kernel.equals("exact")) {
            throw new CommandLine.ParameterException(cl, "--order active-first is for --kernel exact");
        }
        if (kernel.equals("lte") && (expertSize < 1 || f % expertSize != 0)) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--expert-size " + expertSize
                    + " must divide --f " + f);
        }
        System.out.printf(Locale.ROOT, "FFN layer D %d x F %d, %s kernels, %d threads, %d interleaved repetitions%s; load "
                + "average %s%n%n", d, f, kernel, threads, reps, copies > 1 ? ", " + copies + " copies of the layer "
                + "cycled" : "", load());
        if (kernel.equals("lte")) {
            System.out.println("| dtype | sparsity | batch | experts per token (union) | ideal | dense ms | lte ms | "
                    + "per-token ms | speedup | per-token speedup | lte / ideal | lte GB/s | dense GB/s |");
            System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        } else {
            System.out.println("| dtype | sparsity | batch | active (union) | ideal | dense ms | split ms | bundled ms |"
                    + (batches.size() > 1 || batches.get(0) > 1 ? " per-token ms |" : "")
                    + " split speedup | bundled speedup | bundled / ideal | bundled GB/s | dense GB/s |");
            System.out.println("|---|---|---|---|---|---|---|---|"
                    + (batches.size() > 1 || batches.get(0) > 1 ? "---|" : "") + "---|---|---|---|---|");
        }
        try (Parallel par = new Parallel(threads)) {
            for (DType t : dtypes) {
                try (Arena arena = Arena.ofShared()) {
                    this.arena = arena;
                    FfnWeights w = new FfnWeights(0, RandomWeights.matrix("gate", t, f, d, 11, arena),
                            RandomWeights.matrix("up", t, f, d, 12, arena), RandomWeights.matrix("down", t, d, f, 13, arena));
                    long denseBytes = w.gate().data().byteSize() + w.up().data().byteSize() + w.down().data().byteSize();
                    for (double sp : sparsities) {
                        for (int batch : batches) {
                            if (kernel.equals("lte")) {
                                lteRow(w, t, sp, batch, denseBytes, par);
                            } else {
                                row(w, t, sp, batch, denseBytes, par);
                            }
                        }
                    }
                }
            }
        }
        System.out.printf(Locale.ROOT, "%nload average at the end %s%n", load());
        return 0;
    }

    private void row(FfnWeights w0, DType t, double sp, int batch, long denseBytes, Parallel par) {
        float[] x = Inputs.gaussian(batch * d, 5);
        float[] g = new float[f];
        Kernels.matvec(w0.gate(), x, g, par);
        float[] sorted = g.clone();
        Arrays.sort(sorted);
        float thr = sorted[(int) Math.min(f - 1, Math.round(sp * f))];
        FfnWeights w = w0;
        if (order.equals("active-first")) {
            float[] gb0 = new float[batch * f];
            Kernels.matmul(w0.gate(), x, batch, gb0, par);
            boolean[] any = new boolean[f];
            for (int i = 0; i < batch * f; i++) {
                any[i % f] |= gb0[i] >= thr;
            }
            int[] perm = new int[f];
            int k = 0;
            for (int pass = 0; pass < 2; pass++) {               // the union first, then the rest, each ascending
                for (int i = 0; i < f; i++) {
                    if (any[i] == (pass == 0)) {
                        perm[k++] = i;
                    }
                }
            }
            w = permuted(w0, perm, arena);
        }
        Activation act = Activation.of("fatrelu", thr);
        boolean[] union = new boolean[f];
        float[] gb = new float[batch * f];
        Kernels.matmul(w.gate(), x, batch, gb, par);
        long pairs = 0;
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < f; i++) {
                if (gb[b * f + i] >= thr) {
                    union[i] = true;
                    pairs++;
                }
            }
        }
        int u = 0;
        for (boolean v : union) {
            u += v ? 1 : 0;
        }
        DType down = t.quantized() ? DType.Q8_0 : t;
        long perNeuron = w.up().rowBytes() + down.bytesFor(d);
        double sparseBytes = w.gate().data().byteSize() + (double) u * perNeuron;
        List<FfnKernel> ks = new ArrayList<>();
        ks.add(new DenseFfn(w, act));
        FfnKernel bundled;
        if (kernel.equals("predicted")) {          // predictor (once per batch) + c·gate + union·(up + down)
            PredictedSparseFfn p = new PredictedSparseFfn(w, act, PredictedSparseFfn.DEFAULT_RANK,
                    PredictedSparseFfn.DEFAULT_CANDIDATES, 7);
            ks.add(new PredictorFfn(w, act, p.predictor(), p.threshold(), new NeuronRule.NonZero(), null,
                    FfnLayout.SPLIT));
            bundled = p;
            boolean[] kept = new boolean[f];                         // the union of the kept sets (h ≠ 0)
            boolean[] cands = new boolean[f];                        // g is computed for candidates only
            long[] keptPairs = new long[1];
            p.forward(x, batch, 0, new float[batch * d], p.newActivations(batch), (layer, pos, xx, xo, gate, a, h,
                    off) -> {
                for (int i = 0; i < f; i++) {
                    kept[i] |= h[off + i] != 0f;
                    cands[i] |= gate[off + i] != 0f;
                    keptPairs[0] += h[off + i] != 0f ? 1 : 0;
                }
            }, par);
            u = 0;
            int c = 0;
            for (int i = 0; i < f; i++) {
                u += kept[i] ? 1 : 0;
                c += cands[i] ? 1 : 0;
            }
            pairs = keptPairs[0];
            sparseBytes = (double) p.predictorBytes() + (double) c / f * w.gate().data().byteSize()
                    + (double) u * perNeuron;
        } else {
            ks.add(new ExactSparseFfn(w, act, down, FfnLayout.SPLIT));
            bundled = new ExactSparseFfn(w, act);
        }
        ks.add(bundled);
        List<List<FfnKernel>> all = new ArrayList<>(List.of(ks));  // copy c: the same kernels on a byte copy of w
        for (int c = 1; c < copies; c++) {
            FfnWeights wc = new FfnWeights(w.layer(), copyOf(w.gate(), arena), copyOf(w.up(), arena),
                    copyOf(w.down(), arena));
            all.add(List.of(new DenseFfn(wc, act), new ExactSparseFfn(wc, act, down, FfnLayout.SPLIT),
                    new ExactSparseFfn(wc, act)));
        }
        boolean perToken = batch > 1 || batches.size() > 1;
        int n = ks.size() + (perToken ? 1 : 0);
        double[][] ms = new double[n][reps];
        FfnActivations[] acts = new FfnActivations[ks.size()];
        for (int k = 0; k < ks.size(); k++) {
            acts[k] = ks.get(k).newActivations(batch);
        }
        float[] y = new float[batch * d];
        float[] xr = new float[d];
        float[] yr = new float[d];
        int inner = Math.max(copies, (int) (2e8 / denseBytes / batch));   // ~ 0.2 GB of dense reads per timing
        for (int rep = -3; rep < reps; rep++) {                      // 3 warm-up rounds
            for (int k = 0; k < n; k++) {
                long t0 = System.nanoTime();
                for (int it = 0; it < inner; it++) {
                    List<FfnKernel> kc = all.get(it % copies);
                    if (k < ks.size()) {
                        kc.get(k).forward(x, batch, 0, y, acts[k], ActivationTap.NONE, par);
                    } else {
                        for (int b = 0; b < batch; b++) {
                            System.arraycopy(x, b * d, xr, 0, d);
                            kc.get(2).forward(xr, 1, b, yr, acts[2], ActivationTap.NONE, par);
                            System.arraycopy(yr, 0, y, b * d, d);
                        }
                    }
                }
                if (rep >= 0) {
                    ms[k][rep] = (System.nanoTime() - t0) / 1e6 / inner;
                }
            }
        }
        double ideal = denseBytes / sparseBytes;
        double[] med = new double[n];
        for (int k = 0; k < n; k++) {
            med[k] = median(ms[k]);
        }
        double sSplit = medianRatio(ms[0], ms[1]);
        double sBund = medianRatio(ms[0], ms[2]);
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "| %s | %.2f | %d | %d (%d) | %.2fx | %.2f | %.2f | %.2f |", t, sp, batch,
                pairs / batch, u, ideal, med[0], med[1], med[2]));
        if (perToken) {
            sb.append(String.format(Locale.ROOT, " %.2f |", med[3]));
        }
        sb.append(String.format(Locale.ROOT, " %.2fx | %.2fx | %.2f | %.1f | %.1f |", sSplit, sBund, sBund / ideal,
                sparseBytes / med[2] / 1e6, denseBytes / med[0] / 1e6));
        System.out.println(sb);
        System.out.flush();
    }

    /** The arena of the current dtype's weights (a permuted copy is freed with them). */
    private Arena arena;

    /**
     * The same FFN with its neurons in the order {@code perm} (new neuron k = old neuron perm[k]): gate and up rows
     * copied as they are, the down projection's columns permuted row by row (re-quantized for a quantized dtype: the
     * values move by at most one rounding, which the timing does not see).
     */
    static FfnWeights permuted(FfnWeights w, int[] perm, Arena arena) {
        return new FfnWeights(w.layer(), permuteRows(w.gate(), perm, arena), permuteRows(w.up(), perm, arena),
                permuteColumns(w.down(), perm, arena));
    }

    /** A byte copy of {@code m} in {@code arena} (64-byte aligned, as the weights). */
    static Tensor copyOf(Tensor m, Arena arena) {
        MemorySegment seg = arena.allocate(m.data().byteSize(), 64);
        MemorySegment.copy(m.data(), 0, seg, 0, m.data().byteSize());
        return new Tensor(m.name(), m.dtype(), m.shape().clone(), seg);
    }

    private static Tensor permuteRows(Tensor m, int[] perm, Arena arena) {
        long rb = m.rowBytes();
        MemorySegment seg = arena.allocate(m.data().byteSize(), 64);
        for (int k = 0; k < perm.length; k++) {
            MemorySegment.copy(m.data(), perm[k] * rb, seg, k * rb, rb);
        }
        return new Tensor(m.name(), m.dtype(), m.shape().clone(), seg);
    }

    private static Tensor permuteColumns(Tensor m, int[] perm, Arena arena) {
        int rows = m.rows();
        int cols = m.cols();
        long rb = m.rowBytes();
        MemorySegment seg = arena.allocate(m.data().byteSize(), 64);
        float[] src = new float[cols];
        float[] dst = new float[cols];
        for (int r = 0; r < rows; r++) {
            Kernels.getRow(m, r, src, 0);
            for (int k = 0; k < cols; k++) {
                dst[k] = src[perm[k]];
            }
            Quant.quantize(m.dtype(), dst, 0, cols, seg, r * rb);
        }
        return new Tensor(m.name(), m.dtype(), m.shape().clone(), seg);
    }

    /**
     * LTE: dense SiLU against {@link LteFfn} (batch path) and its one-token path in a loop. Ideal = dense bytes /
     * (router F32 + the union of the batch's selected experts' [gate | up | down] records).
     */
    private void lteRow(FfnWeights w, DType t, double sp, int batch, long denseBytes, Parallel par) {
        float[] x = Inputs.gaussian(batch * d, 5);
        int n = f / expertSize;
        float[] router = Inputs.gaussian(n * d, 7);
        for (int j = 0; j < router.length; j++) {
            router[j] /= (float) Math.sqrt(d);             // N(0, 1/D) as LTE draws it: σ(z) not saturated
        }
        float[] z = new float[batch * n];
        for (int b = 0; b < batch; b++) {
            LteRouters.logits(router, n, d, x, b * d, z, b * n);
        }
        float[] sorted = z.clone();
        Arrays.sort(sorted);
        int keep = (int) Math.max(1, Math.min(z.length - 1, Math.round((1 - sp) * z.length)));
        // τ between two logits: exactly `keep` (token, expert) pairs have σ(z) > τ
        float tau = LteRouters.sigmoid(0.5f * (sorted[z.length - keep - 1] + sorted[z.length - keep]));
        int u = 0;
        for (int e = 0; e < n; e++) {
            boolean any = false;
            for (int b = 0; b < batch; b++) {
                any |= LteRouters.selected(z[b * n + e], tau);
            }
            u += any ? 1 : 0;
        }
        int pairs = 0;
        for (float v : z) {
            pairs += LteRouters.selected(v, tau) ? 1 : 0;          // what the kernel will select
        }
        Activation act = Activation.of("silu", 0f);
        DType down = t.quantized() ? DType.Q8_0 : t;
        FfnKernel dense = new DenseFfn(w, act);
        LteFfn lte = new LteFfn(w, act, router, expertSize, tau, down);
        double perNeuron = w.gate().rowBytes() + w.up().rowBytes() + down.bytesFor(d);
        double sparseBytes = 4.0 * n * d + (double) u * expertSize * perNeuron;
        FfnActivations da = dense.newActivations(batch);
        FfnActivations la = lte.newActivations(batch);
        FfnActivations one = lte.newActivations(1);
        float[] y = new float[batch * d];
        float[] xr = new float[d];
        float[] yr = new float[d];
        double[][] ms = new double[3][reps];
        int inner = Math.max(1, (int) (2e8 / denseBytes / batch));   // ~ 0.2 GB of dense reads per timing
        for (int rep = -3; rep < reps; rep++) {                      // 3 warm-up rounds
            for (int k = 0; k < 3; k++) {
                long t0 = System.nanoTime();
                for (int it = 0; it < inner; it++) {
                    switch (k) {
                        case 0 -> dense.forward(x, batch, 0, y, da, ActivationTap.NONE, par);
                        case 1 -> lte.forward(x, batch, 0, y, la, ActivationTap.NONE, par);
                        default -> {
                            for (int b = 0; b < batch; b++) {
                                System.arraycopy(x, b * d, xr, 0, d);
                                lte.forward(xr, 1, b, yr, one, ActivationTap.NONE, par);
                                System.arraycopy(yr, 0, y, b * d, d);
                            }
                        }
                    }
                }
                if (rep >= 0) {
                    ms[k][rep] = (System.nanoTime() - t0) / 1e6 / inner;
                }
            }
        }
        double ideal = denseBytes / sparseBytes;
        double sLte = medianRatio(ms[0], ms[1]);
        System.out.println(String.format(Locale.ROOT, "| %s | %.2f | %d | %d of %d (%d) | %.2fx | %.2f | %.2f | %.2f | "
                + "%.2fx | %.2fx | %.2f | %.1f | %.1f |", t, sp, batch, pairs / batch, n, u, ideal, median(ms[0]),
                median(ms[1]), median(ms[2]), sLte, medianRatio(ms[0], ms[2]), sLte / ideal,
                sparseBytes / median(ms[1]) / 1e6, denseBytes / median(ms[0]) / 1e6));
        System.out.flush();
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    // median over repetitions of dense/sparse time of the same repetition
    static double medianRatio(double[] dense, double[] sparse) {
        double[] r = new double[dense.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = dense[i] / sparse[i];
        }
        return median(r);
    }

    static String load() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException e) {
            return "?";
        }
    }
}
