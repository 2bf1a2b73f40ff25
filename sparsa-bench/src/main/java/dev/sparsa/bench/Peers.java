package dev.sparsa.bench;

import com.github.tjake.jlama.model.AbstractModel;
import com.github.tjake.jlama.model.ModelSupport;
import com.github.tjake.jlama.model.functions.Generator;
import com.github.tjake.jlama.safetensors.DType;
import com.github.tjake.jlama.safetensors.prompt.PromptContext;
import com.github.tjake.jlama.util.PhysicalCoreExecutor;
import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.LogFormat;
import dev.sparsa.perf.BenchPrompt;
import dev.sparsa.perf.Stats;

import java.nio.file.Path;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * The peers of the end-to-end benchmark, timed exactly like Sparsa ({@link Bench}): time to first streamed token
 * for prefill, first-to-last streamed token for decode. They live in this module only.
 */
final class Peers {
    private Peers() {
    }

    record Result(int promptTokens, Stats prefill, Stats decode, String note) {
    }

    /** llama.cpp (de.kherud:llama JNI, CPU build shipped in its jar) on a GGUF file. */
    static Result llamaCpp(Path gguf, BenchPrompt prompt, int decode, int threads, int warmup, int reps,
                           Consumer<String> log) {
        StringBuilder sys = new StringBuilder();
        LlamaModel.setLogger(LogFormat.TEXT, (level, msg) -> {
            if (msg.contains("system_info") || msg.contains("CPU :") || msg.contains("AVX")) {
                sys.append(msg.trim()).append(' ');
            }
        });
        ModelParameters mp = new ModelParameters()
                .setModel(gguf.toString())
                .setThreads(threads)
                .setThreadsBatch(threads)
                .setCtxSize(prompt.ids().length + decode + 64)
                .setGpuLayers(0)
                .disableLog();
        long l0 = System.nanoTime();
        try (LlamaModel model = new LlamaModel(mp)) {
            log.accept(String.format("llama.cpp: loaded %s in %.1f s", gguf, (System.nanoTime() - l0) / 1e9));
            int promptTokens = model.encode(prompt.text()).length + 1;     // + BOS
            double[] pre = new double[reps];
            double[] dec = new double[reps];
            for (int r = -warmup; r < reps; r++) {
                InferenceParameters ip = new InferenceParameters(prompt.text())
                        .setNPredict(decode)
                        .setTemperature(0f)
                        .setIgnoreEos(true)
                        .setCachePrompt(false)
                        .setSeed(1);
                long t0 = System.nanoTime();
                long first = 0;
                long last = 0;
                int n = 0;
                for (LlamaOutput o : model.generate(ip)) {
                    long t = System.nanoTime();
                    if (n == 0) {
                        first = t;
                    }
                    last = t;
                    n++;
                }
                double p = promptTokens / ((first - t0) / 1e9);
                double d = (decode - 1) / ((last - first) / 1e9);
                log.accept(String.format("  llama.cpp %s: prefill %.2f tok/s, decode %.2f tok/s (%d outputs)",
                        r < 0 ? "warm-up" : "run " + (r + 1), p, d, n));
                if (r >= 0) {
                    pre[r] = p;
                    dec[r] = d;
                }
            }
            return new Result(promptTokens, Stats.of(pre), Stats.of(dec),
                    "de.kherud:llama 4.2.0" + (sys.isEmpty() ? "" : "; " + sys.toString().trim()));
        }
    }

    /**
     * Jlama (com.github.tjake:jlama-core + jlama-native) on a safetensors folder; {@code quantize} "Q4" quantizes the
     * weights at load (Jlama has no Q8_0 weight type), null keeps the file's dtype.
     */
    static Result jlama(Path dir, String quantize, BenchPrompt prompt, int decode, int threads, int warmup, int reps,
                        Consumer<String> log) {
        try {
            PhysicalCoreExecutor.overrideThreadCount(threads);
        } catch (RuntimeException e) {
            // already started with this count by an earlier Jlama row
        }
        long l0 = System.nanoTime();
        AbstractModel model = ModelSupport.loadModel(dir.toFile(), null, DType.F32, quantize == null ? DType.I8 : DType.F32,
                quantize == null ? Optional.empty() : Optional.of(DType.valueOf(quantize)), Optional.empty());
        try {
            log.accept(String.format("jlama: loaded %s in %.1f s (working %s)", dir, (System.nanoTime() - l0) / 1e9,
                    model.getWorkingDType()));
            int promptTokens = model.getTokenizer().encode(prompt.text()).length + 1;
            double[] pre = new double[reps];
            double[] dec = new double[reps];
            for (int r = -warmup; r < reps; r++) {
                long[] times = new long[decode + 8];
                int[] n = {0};
                long t0 = System.nanoTime();
                Generator.Response resp = model.generate(UUID.randomUUID(), PromptContext.of(prompt.text()), 0.0f,
                        promptTokens + decode, (text, ms) -> {
                            if (n[0] < times.length) {
                                times[n[0]] = System.nanoTime();
                            }
                            n[0]++;
                        });
                int got = Math.min(n[0], times.length);
                double p = promptTokens / ((times[0] - t0) / 1e9);
                double d = (got - 1) / ((times[got - 1] - times[0]) / 1e9);
                log.accept(String.format("  jlama %s: prefill %.2f tok/s, decode %.2f tok/s (%d tokens; Jlama's own: "
                                + "%d prompt tokens in %d ms, %d generated in %d ms)", r < 0 ? "warm-up" : "run " + (r + 1),
                        p, d, n[0], resp.promptTokens, resp.promptTimeMs, resp.generatedTokens, resp.generateTimeMs));
                if (r >= 0) {
                    pre[r] = p;
                    dec[r] = d;
                }
            }
            return new Result(promptTokens, Stats.of(pre), Stats.of(dec),
                    "jlama 0.8.4, working " + (quantize == null ? "F32/I8" : "F32/F32, weights " + quantize));
        } finally {
            model.close();
        }
    }
}
