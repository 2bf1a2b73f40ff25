package dev.sparsa.perf;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.sparsa.SparsaException;
import dev.sparsa.infer.ExactSparseFfn;
import dev.sparsa.infer.PredictedSparseFfn;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.model.llama.KvCache;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.function.Consumer;

/**
 * End-to-end speed of a Llama model: prefill and decode tokens/s (warm-up, then several repetitions: median and
 * range), the bytes a decoded token reads, the achieved GB/s and its fraction of the memory bandwidth measured in the
 * same process ({@link #bandwidth}).
 *
 * <p>Definitions, the same for every engine the benchmark compares: <b>prefill tok/s</b> = prompt tokens / time to
 * first token (prompt forward + first sample); <b>decode tok/s</b> = tokens after the first / time from the first to
 * the last token. Greedy sampling, no EOS stop.
 *
 * <p>Bytes per decoded token: every weight matrix a decode step reads (attention, FFN, lm_head; one embedding row)
 * plus the KV cache at the mean context; for a sparse FFN the up rows and down columns of the active neurons only,
 * counted from the measured activity of the same tokens (an untimed pass with a counting tap).
 */
public final class Bench {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;

    private Bench() {
    }

    /** Median and range of repeated measurements. */
    public record Stats(double median, double min, double max, int n) {
        public static Stats of(double[] v) {
            double[] s = v.clone();
            Arrays.sort(s);
            int n = s.length;
            double med = n == 0 ? Double.NaN : n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
            return new Stats(med, n == 0 ? Double.NaN : s[0], n == 0 ? Double.NaN : s[n - 1], n);
        }

        @Override
        public String toString() {
            return String.format("%.2f [%.2f–%.2f]", median, min, max);
        }
    }

    /** One benchmarked configuration (one row of the table). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Row(String engine, String model, String dtype, String ffn, int threads,
                      @JsonProperty("prompt_tokens") int promptTokens,
                      @JsonProperty("decode_tokens") int decodeTokens,
                      @JsonProperty("prefill_tok_s") Stats prefill,
                      @JsonProperty("decode_tok_s") Stats decode,
                      @JsonProperty("bytes_per_token") Double bytesPerToken,
                      @JsonProperty("gb_s") Double gbPerSecond,
                      @JsonProperty("fraction_of_bandwidth") Double fractionOfBandwidth,
                      @JsonProperty("active_fraction") Double activeFraction,
                      @JsonProperty("ideal_speedup") Double idealSpeedup,
                      Double recall,
                      String note) {
        /** Fills in GB/s and the fraction of {@code bandwidth} from the decode median and bytes per token. */
        public Row withBandwidth(double bandwidthGBs) {
            if (bytesPerToken == null || decode == null) {
                return this;
            }
            double gbs = bytesPerToken * decode.median() / 1e9;
            return new Row(engine, model, dtype, ffn, threads, promptTokens, decodeTokens, prefill, decode,
                    bytesPerToken, gbs, gbs / bandwidthGBs, activeFraction, idealSpeedup, recall, note);
        }

        public Row withBytes(double bytes, Double active, Double ideal, Double recall, String note) {
            return new Row(engine, model, dtype, ffn, threads, promptTokens, decodeTokens, prefill, decode, bytes,
                    gbPerSecond, fractionOfBandwidth, active, ideal, recall, note);
        }
    }

    // ------------------------------------------------------------------ memory bandwidth

    /**
     * STREAM-style read bandwidth in GB/s (1e9 bytes/s): a vector sum over {@code bytes} of off-heap memory, split
     * in contiguous 1 MiB chunks over the pool's threads; best of {@code reps} after one warm-up pass.
     */
    public static double bandwidth(Parallel par, long bytes, int reps) {
        long mib = Math.max(1, bytes >>> 20);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment big = arena.allocate(mib << 20, 4096);
            big.fill((byte) 1);
            double best = 0;
            for (int r = 0; r <= reps; r++) {
                DoubleAdder total = new DoubleAdder();
                long t0 = System.nanoTime();
                par.forRange((int) mib, Math.max(1, (int) mib / par.threads() / 4), (from, to) -> {
                    FloatVector s0 = FloatVector.zero(FS), s1 = s0, s2 = s0, s3 = s0;
                    long step = FS.vectorByteSize();
                    for (long o = (long) from << 20, end = (long) to << 20; o < end; o += 4 * step) {
                        s0 = s0.add(FloatVector.fromMemorySegment(FS, big, o, ByteOrder.LITTLE_ENDIAN));
                        s1 = s1.add(FloatVector.fromMemorySegment(FS, big, o + step, ByteOrder.LITTLE_ENDIAN));
                        s2 = s2.add(FloatVector.fromMemorySegment(FS, big, o + 2 * step, ByteOrder.LITTLE_ENDIAN));
                        s3 = s3.add(FloatVector.fromMemorySegment(FS, big, o + 3 * step, ByteOrder.LITTLE_ENDIAN));
                    }
                    total.add(s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD));
                });
                double s = (System.nanoTime() - t0) / 1e9;
                if (total.sum() == 42) {
                    throw new AssertionError();                    // keep the sum alive
                }
                if (r > 0) {
                    best = Math.max(best, (mib << 20) / s / 1e9);
                }
            }
            return best;
        }
    }

    // ------------------------------------------------------------------ prompt

    /**
     * A prompt text of random lowercase words whose encoding (with BOS) has at least {@code tokens} tokens, and its
     * first {@code tokens} ids. Deterministic for a seed, so every engine gets the same text.
     */
    public record Prompt(String text, int[] ids) {
    }

    public static Prompt prompt(Tokenizer tok, int tokens, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        StringBuilder sb = new StringBuilder();
        int[] ids = new int[0];
        while (ids.length < tokens) {
            for (int w = 0; w < 8; w++) {
                if (!sb.isEmpty()) {
                    sb.append(' ');
                }
                int len = 2 + r.nextInt(6);
                for (int i = 0; i < len; i++) {
                    sb.append((char) ('a' + r.nextInt(26)));
                }
            }
            ids = tok.encode(sb.toString(), true);
        }
        // trim words until the count is just at or above the target
        String text = sb.toString();
        while (true) {
            int cut = text.lastIndexOf(' ');
            if (cut <= 0) {
                break;
            }
            String shorter = text.substring(0, cut);
            int[] s = tok.encode(shorter, true);
            if (s.length < tokens) {
                break;
            }
            text = shorter;
            ids = s;
        }
        return new Prompt(text, Arrays.copyOf(ids, tokens));
    }

    // ------------------------------------------------------------------ Sparsa

    /** Bytes of the decode step for a dense model: see the class comment. */
    public static double denseBytesPerToken(ModelFiles files, int context) {
        var c = files.config();
        double bytes = 0;
        for (ModelFiles.TensorMeta t : files.describeAll()) {
            if (t.shape().length < 2) {
                bytes += t.bytes();
            } else if (t.name().equals("model.embed_tokens.weight")) {
                bytes += (double) t.bytes() / t.shape()[0];                       // one row
                if (c.tieWordEmbeddings()) {
                    bytes += t.bytes();                                            // read again as lm_head
                }
            } else {
                bytes += t.bytes();
            }
        }
        bytes += kvBytes(files, context);
        return bytes;
    }

    private static double kvBytes(ModelFiles files, int context) {
        var c = files.config();
        return (double) c.numLayers() * context * c.numKvHeads() * c.headDim() * 2 * Float.BYTES;
    }

    /** Counts active (act ≠ 0) neurons per layer over the tokens it sees. */
    public static final class ActivityTap implements ActivationTap {
        final long[] active;
        final long[] tokens;

        public ActivityTap(int layers) {
            active = new long[layers];
            tokens = new long[layers];
        }

        @Override
        public void onFfn(int layer, int position, float[] x, float[] gate, float[] act, float[] h) {
            long n = 0;
            for (float a : act) {
                if (a != 0f) {
                    n++;
                }
            }
            active[layer] += n;
            tokens[layer]++;
        }

        /** Mean active neurons per token in a layer. */
        public double meanActive(int layer) {
            return tokens[layer] == 0 ? 0 : (double) active[layer] / tokens[layer];
        }
    }

    /**
     * Bytes of a decode step with the kernels of {@code m}: dense bytes minus the FFN up/down bytes of every layer
     * whose kernel is sparse, plus the rows its active neurons read.
     */
    public static double sparseBytesPerToken(ModelFiles files, LlamaModel m, ActivityTap tap, int context) {
        double bytes = denseBytesPerToken(files, context);
        for (int l = 0; l < m.numLayers(); l++) {
            FfnKernel k = m.ffn(l);
            FfnWeights w = k.weights();
            if (k instanceof ExactSparseFfn e) {
                Tensor up = w.up();
                Tensor down = w.down();
                bytes -= up.data().byteSize() + down.data().byteSize();
                bytes += tap.meanActive(l) * (up.rowBytes() + e.downTransposed().rowBytes());
            } else if (k instanceof PredictedSparseFfn p) {
                Tensor gate = w.gate();
                Tensor up = w.up();
                Tensor down = w.down();
                bytes -= gate.data().byteSize() + up.data().byteSize() + down.data().byteSize();
                bytes += p.predictorBytes() + p.candidateFraction() * gate.data().byteSize();
                bytes += tap.meanActive(l) * (up.rowBytes() + p.downTransposed().rowBytes());
            }
        }
        return bytes;
    }

    /**
     * Recall of a sparse kernel on real tokens: for each FFN call, the true active set (act of the full, exact gate
     * computed here from x) against the neurons the kernel kept (act ≠ 0).
     */
    public static final class RecallTap implements ActivationTap {
        private final LlamaModel model;
        private final Parallel serial = Parallel.serial();
        private long trueActive;
        private long kept;

        public RecallTap(LlamaModel model) {
            this.model = model;
        }

        @Override
        public void onFfn(int layer, int position, float[] x, float[] gate, float[] act, float[] h) {
            FfnKernel k = model.ffn(layer);
            float[] g = new float[act.length];
            Kernels.matvec(k.weights().gate(), x, g, serial);
            for (int i = 0; i < g.length; i++) {
                if (k.activation().apply(g[i]) != 0f) {
                    trueActive++;
                    if (act[i] != 0f) {
                        kept++;
                    }
                }
            }
        }

        public double recall() {
            return trueActive == 0 ? 1 : (double) kept / trueActive;
        }
    }

    /** Timings of one Sparsa run. */
    public record Timings(Stats prefill, Stats decode) {
    }

    /**
     * Times {@code model}: one warm-up run, then {@code reps} runs of prefill({@code prompt}) + {@code decode}
     * greedy tokens. Progress lines go to {@code log}.
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
            int next = argmax(logits);
            long t1 = System.nanoTime();
            for (int i = 1; i < decode; i++) {
                logits = model.decode(cache, next, ActivationTap.NONE, par);
                next = argmax(logits);
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

    /** Runs prompt + decode untimed with an {@link ActivityTap}; returns it. */
    public static ActivityTap activity(LlamaModel model, int[] prompt, int decode, Parallel par) {
        ActivityTap tap = new ActivityTap(model.numLayers());
        ActivityTap none = new ActivityTap(model.numLayers());
        KvCache cache = model.newCache(prompt.length + decode);
        int next = argmax(model.forward(cache, prompt, false, none, par));
        for (int i = 1; i < decode; i++) {
            next = argmax(model.decode(cache, next, tap, par));
        }
        return tap;
    }

    /** Mean fraction of active neurons over layers. */
    public static double activeFraction(LlamaModel m, ActivityTap tap) {
        double s = 0;
        for (int l = 0; l < m.numLayers(); l++) {
            s += tap.meanActive(l) / m.config().intermediateSize();
        }
        return s / m.numLayers();
    }

    /** A FFN kernel factory by name: dense or exact-sparse. */
    public static FfnKernel.Factory kernel(String ffn) {
        return switch (ffn) {
            case "dense" -> dev.sparsa.model.DenseFfn::new;
            case "exact-sparse" -> ExactSparseFfn::new;
            case "predicted-sparse" -> PredictedSparseFfn.factory();
            default -> throw new SparsaException.UsageException("--ffn must be dense, exact-sparse, predicted-sparse or "
                    + "both, got " + ffn);
        };
    }

    /** The prompt ids for a model: the tokenized {@link #prompt} text with its tokenizer.json, else random ids. */
    public static int[] promptIds(ModelFiles files, Tokenizer tok, int tokens, long seed) {
        if (tok != null) {
            return prompt(tok, tokens, seed).ids();
        }
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[tokens];
        for (int i = 0; i < tokens; i++) {
            ids[i] = r.nextInt(files.config().vocabSize());
        }
        return ids;
    }

    /**
     * Loads {@code files} with the {@code ffn} kernel and benchmarks it (see {@link #time}); bytes per token from the
     * measured activity for a sparse kernel. GB/s and the bandwidth fraction are filled in by
     * {@link Row#withBandwidth}.
     */
    public static Row sparsa(ModelFiles files, String label, String ffn, int[] prompt, int decode, int warmup,
                             int reps, Parallel par, Consumer<String> log) {
        long l0 = System.nanoTime();
        LlamaModel m = LlamaModel.load(files.config(), files.weights(), kernel(ffn));
        log.accept(String.format("%s (%s FFN): loaded in %.1f s", label, ffn, (System.nanoTime() - l0) / 1e9));
        Timings t = time(m, prompt, decode, warmup, reps, par, log);
        int context = prompt.length + decode / 2;
        double dense = denseBytesPerToken(files, context);
        String dtype = files.weights().tensor("model.layers.0.mlp.gate_proj.weight").dtype().name();
        Row row = new Row("sparsa", modelName(files.location()), dtype, ffn, par.threads(),
                prompt.length, decode, t.prefill(), t.decode(), dense, null, null, null, null, null, label);
        if (m.ffn(0).activation().zeroBelow()) {
            ActivityTap tap = activity(m, prompt, decode, par);
            double active = activeFraction(m, tap);
            if (ffn.equals("dense")) {
                return row.withBytes(dense, active, null, null, label);
            }
            double sparse = sparseBytesPerToken(files, m, tap, context);
            Double recall = null;
            String note = label;
            if (m.ffn(0) instanceof PredictedSparseFfn p) {
                RecallTap rt = new RecallTap(m);
                KvCache cache = m.newCache(prompt.length + decode);
                int next = argmax(m.forward(cache, prompt, false, ActivationTap.NONE, par));
                for (int i = 1; i < decode; i++) {
                    next = argmax(m.decode(cache, next, rt, par));
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
    public static String modelName(java.nio.file.Path p) {
        java.nio.file.Path a = p.toAbsolutePath().normalize();
        if (java.nio.file.Files.isDirectory(a) || a.getParent() == null) {
            return String.valueOf(a.getFileName());
        }
        return a.getParent().getFileName() + "/" + a.getFileName();
    }

    public static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }
}
