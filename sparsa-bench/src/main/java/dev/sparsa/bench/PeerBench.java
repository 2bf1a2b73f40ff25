package dev.sparsa.bench;

import java.io.File;
import java.util.Locale;
import java.util.UUID;

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

/**
 * End-to-end peers for Sparsa's generation bench: prefill and decode tokens/s of llama.cpp (through de.kherud's
 * JNI binding, on a GGUF file) and of Jlama (pure Java, on a Hugging Face safetensors folder). Greedy, fixed
 * prompt, N generated tokens, EOS ignored where the peer allows it.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *      -cp 'sparsa-bench/target/sparsa-bench.jar:sparsa-bench/target/lib/*' dev.sparsa.bench.PeerBench \
 *      llamacpp MODEL.gguf [threads=2] [tokens=64]
 * ... dev.sparsa.bench.PeerBench jlama MODEL_DIR [threads=2] [tokens=64]
 * </pre>
 * Prints one line: {@code peer model promptTokens prefillTokPerS generatedTokens decodeTokPerS}.
 */
public final class PeerBench {
    static final String PROMPT = "The history of the Brown corpus begins in 1961, when researchers at Brown University"
            + " set out to collect a million words of American English prose. They chose five hundred samples";

    private PeerBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: PeerBench (llamacpp MODEL.gguf | jlama MODEL_DIR) [threads=2] [tokens=64]");
            System.exit(2);
        }
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        int tokens = args.length > 3 ? Integer.parseInt(args[3]) : 64;
        Result r = switch (args[0]) {
            case "llamacpp" -> llamaCpp(args[1], threads, tokens);
            case "jlama" -> jlama(args[1], threads, tokens);
            default -> throw new IllegalArgumentException("unknown peer " + args[0] + " (llamacpp | jlama)");
        };
        System.out.println(String.format(Locale.ROOT, "%s %s prompt=%d prefill=%.2f tok/s generated=%d decode=%.2f tok/s",
                args[0], args[1], r.promptTokens, r.prefillTokPerS(), r.generated, r.decodeTokPerS()));
    }

    record Result(int promptTokens, double prefillSeconds, int generated, double decodeSeconds) {
        double prefillTokPerS() {
            return promptTokens / prefillSeconds;
        }

        double decodeTokPerS() {
            return generated / decodeSeconds;
        }
    }

    /**
     * llama.cpp: time to the first streamed token = prefill (plus one sampling step); the rest = decode. One
     * streamed output per token, as llama.cpp's server streams them.
     */
    static Result llamaCpp(String gguf, int threads, int tokens) {
        ModelParameters mp = new ModelParameters().setModel(gguf).setThreads(threads).setThreadsBatch(threads)
                .setCtxSize(2048).setGpuLayers(0);
        try (LlamaModel model = new LlamaModel(mp)) {
            int promptTokens = model.encode(PROMPT).length;
            InferenceParameters ip = new InferenceParameters(PROMPT).setNPredict(tokens).setTemperature(0f)
                    .setTopK(1).setSeed(42).setIgnoreEos(true);
            long t0 = System.nanoTime();
            long first = 0;
            int outputs = 0;
            for (LlamaOutput ignored : model.generate(ip)) {
                if (outputs++ == 0) {
                    first = System.nanoTime();
                }
            }
            long end = System.nanoTime();
            return new Result(promptTokens, (first - t0) / 1e9, Math.max(0, outputs - 1), (end - first) / 1e9);
        }
    }

    /** Jlama: its own prompt/generate timers. Working memory F32, activations quantized to I8 (Jlama's default). */
    static Result jlama(String dir, int threads, int tokens) {
        PhysicalCoreExecutor.overrideThreadCount(threads);
        AbstractModel model = ModelSupport.loadModel(new File(dir), DType.F32, DType.I8);
        Generator.Response r = model.generate(UUID.randomUUID(), PromptContext.of(PROMPT), 0.0f, tokens, (s, f) -> {
        });
        return new Result(r.promptTokens, r.promptTimeMs / 1e3, r.generatedTokens, r.generateTimeMs / 1e3);
    }
}
