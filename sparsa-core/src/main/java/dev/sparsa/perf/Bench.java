package dev.sparsa.perf;

import dev.sparsa.SparsaException;
import dev.sparsa.infer.FfnKernels;
import dev.sparsa.infer.PredictedSparseFfn;
import dev.sparsa.infer.Sampler;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.llama.KvCache;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.tensor.Parallel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * End-to-end speed of a Llama model with Sparsa's kernels: prefill and decode tokens/s (warm-up, then several
 * repetitions: median and range, {@link Stats}), the bytes a decoded token reads ({@link DecodeBytes}), and for
 * ReLU-family models the active fraction ({@link ActivityTap}) and a predicted kernel's recall ({@link RecallTap}).
 * GB/s and the fraction of the memory bandwidth ({@link Bandwidth}) are filled in by {@link BenchRow#withBandwidth}.
 *
 * <p>Definitions, the same for every engine the benchmark compares: <b>prefill tok/s</b> = prompt tokens / time to
 * first token (prompt forward + first sample); <b>decode tok/s</b> = tokens after the first / time from the first to
 * the last token. Greedy sampling, no EOS stop.
 */
public final class Bench {
    private Bench() {
    }

    /** Timings of one Sparsa run. */
    public record Timings(Stats prefill, Stats decode) {
    }

    /**
     * Times {@code model}: {@code warmup} untimed runs, then {@code reps} runs of prefill({@code prompt}) +
     * {@code decode} greedy tokens. Progress lines go to {@code log}.
     */
    public static Timings time(LlamaModel model, int[] prompt, int decode, int warmup, int reps, Parallel par,
                               Consumer<String> log) {
        if (decode < 2) {
            throw new SparsaException.UsageException("--decode-tokens must be >= 2, got " + decode);
        }
        double[] pre = new double[reps];
        double[] dec = new double[reps];
        for (int r = -warmup; r < reps; r++) {
            KvCache cache = model.newCache(prompt.length + decode);
            long t0 = System.nanoTime();
            float[] logits = model.forward(cache, prompt, false, ActivationTap.NONE, par);
            int next = Sampler.argmax(logits);
            long t1 = System.nanoTime();
            for (int i = 1; i < decode; i++) {
                logits = model.decode(cache, next, ActivationTap.NONE, par);
                next = Sampler.argmax(logits);
            }
            long t2 = System.nanoTime();
            double p = prompt.length / ((t1 - t0) / 1e9);
            double d = (decode - 1) / ((t2 - t1) / 1e9);
            log.accept(String.format("  %s: prefill %.2f tok/s, decode %.2f tok/s", r < 0 ? "warm-up" : "run " + (r + 1),
                    p, d));
            if (r >= 0) {
                pre[r] = p;
                dec[r] = d;
            }
        }
        return new Timings(Stats.of(pre), Stats.of(dec));
    }

    /**
     * Loads {@code files} with the {@code ffn} kernel ({@link FfnKernels#byName}) and benchmarks it (see {@link #time}); bytes per token from the
     * measured activity for a sparse kernel. GB/s and the bandwidth fraction are filled in by
     * {@link BenchRow#withBandwidth}.
     */
    public static BenchRow sparsa(ModelFiles files, String label, String ffn, int[] prompt, int decode, int warmup,
                                  int reps, Parallel par, Consumer<String> log) {
        long l0 = System.nanoTime();
        LlamaModel m = LlamaModel.load(files.config(), files.weights(), FfnKernels.byName(ffn));
        log.accept(String.format("%s (%s FFN): loaded in %.1f s", label, ffn, (System.nanoTime() - l0) / 1e9));
        return sparsa(files, m, label, ffn, prompt, decode, warmup, reps, par, log);
    }

    /**
     * As {@link #sparsa(ModelFiles, String, String, int[], int, int, int, Parallel, Consumer)} for a model already
     * loaded (e.g. in a {@code --sparse} mode), named {@code ffn} in the row.
     */
    public static BenchRow sparsa(ModelFiles files, LlamaModel m, String label, String ffn, int[] prompt, int decode,
                                  int warmup, int reps, Parallel par, Consumer<String> log) {
        Timings t = time(m, prompt, decode, warmup, reps, par, log);
        int context = prompt.length + decode / 2;
        double dense = DecodeBytes.dense(files, context);
        String dtype = files.weights().tensor("model.layers.0.mlp.gate_proj.weight").dtype().name();
        BenchRow row = new BenchRow("sparsa", modelName(files.location()), dtype, ffn, par.threads(),
                prompt.length, decode, t.prefill(), t.decode(), dense, null, null, null, null, null, label);
        if (m.ffn(0).activation().zeroBelow()) {
            ActivityTap tap = ActivityTap.record(m, prompt, decode, par);
            double active = tap.activeFraction(m);
            if (ffn.equals("dense")) {
                return row.withBytes(dense, active, null, null, label);
            }
            double sparse = DecodeBytes.sparse(files, m, tap, context);
            Double recall = null;
            String note = label;
            if (m.ffn(0) instanceof PredictedSparseFfn p) {
                RecallTap rt = new RecallTap(m);
                KvCache cache = m.newCache(prompt.length + decode);
                int next = Sampler.argmax(m.forward(cache, prompt, false, ActivationTap.NONE, par));
                for (int i = 1; i < decode; i++) {
                    next = Sampler.argmax(m.decode(cache, next, rt, par));
                }
                recall = rt.recall();
                note = String.format("%s; rank %d, %.0f%% candidates, calibration recall %.3f", label,
                        p.predictorRank(), 100 * p.candidateFraction(), p.calibrationRecall());
            }
            return row.withBytes(sparse, active, dense / sparse, recall, note);
        }
        return row;
    }

    /** "dir" for a directory, "dir/file" for a file: short but unambiguous in a table. */
    public static String modelName(Path p) {
        Path a = p.toAbsolutePath().normalize();
        if (Files.isDirectory(a) || a.getParent() == null) {
            return String.valueOf(a.getFileName());
        }
        return a.getParent().getFileName() + "/" + a.getFileName();
    }
}
