package dev.sparsa.cli.serve;

import dev.sparsa.io.ConfigJson;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.SafetensorsWriter;
import dev.sparsa.io.TinyModels;
import dev.sparsa.io.tokenizer.BpeTrainer;
import dev.sparsa.io.tokenizer.TrainedBpe;
import dev.sparsa.spec.ModelConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Tiny models for the server tests: a random-weight Llama (D 64, F 96, 2 layers, GQA) whose vocabulary is a
 * byte-level BPE trained here, so every id it generates decodes to text (and back), with a ChatML-style chat
 * template; made in milliseconds, nothing downloaded.
 */
final class ServeFixture {
    private ServeFixture() {
    }

    static final String TEXT = "The quick brown fox jumps over the lazy dog. A stitch in time saves nine. "
            + "Hello world, hello there! Sparse models skip the neurons that do not fire; dense ones do not.";

    /** ChatML, as Qwen2-style models carry it in tokenizer_config.json. */
    static final String CHATML = "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + "
            + "message['content'] + '<|im_end|>\\n' }}{%- endfor %}{%- if add_generation_prompt %}"
            + "{{- '<|im_start|>assistant\\n' }}{%- endif %}";

    /**
     * A model folder: config.json ({@code act} FFN activation), model.safetensors (seeded), tokenizer.json and
     * tokenizer_config.json (with the ChatML template when {@code chat}).
     */
    static Path model(Path dir, String act, long seed, boolean chat) {
        try {
            Files.createDirectories(dir);
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                lines.add(TEXT);
            }
            TrainedBpe bpe = BpeTrainer.train(lines, new BpeTrainer.Options(300, 2,
                    List.of(BpeTrainer.END_OF_TEXT, "<|im_start|>", "<|im_end|>")), BpeTrainer.Listener.NONE);
            bpe.write(dir.resolve(ModelFiles.TOKENIZER));
            if (chat) {
                com.fasterxml.jackson.databind.ObjectMapper om = new com.fasterxml.jackson.databind.ObjectMapper();
                var cfg = (com.fasterxml.jackson.databind.node.ObjectNode) om.readTree(bpe.tokenizerConfigJson());
                cfg.put("chat_template", CHATML);
                Files.write(dir.resolve("tokenizer_config.json"), om.writeValueAsBytes(cfg));
            }
            int eos = bpe.eosId();
            ModelConfig c = new ModelConfig("llama", 64, 96, 2, 4, 2, 16, bpe.size(), 256, 1e-5f, 10000f, null, act,
                    0f, false, false, 0, eos, eos);
            ConfigJson.write(c, dir.resolve(ModelFiles.CONFIG));
            SafetensorsWriter.write(dir.resolve(ModelFiles.SAFETENSORS), TinyModels.weights(c, seed),
                    Map.of("format", "pt"));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Serving options for tests: loopback, a free port, 2 threads. */
    static SparsaServer.Options options(int maxRunning, int maxWaiting, boolean batch) {
        return new SparsaServer.Options("127.0.0.1", 0, maxRunning, maxWaiting, batch, 64 * 1024, 2);
    }

    /** Serves the model folder {@code dir}. */
    static SparsaServer serve(Path dir, String sparse, SparsaServer.Options o) throws Exception {
        return SparsaServer.start(ServedModel.open(dir.toString(), dir.resolve("no-hub"), sparse, null, null, null,
                "tiny"), o);
    }
}
