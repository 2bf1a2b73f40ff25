package dev.sparsa.io;

import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Tiny random Llama-family checkpoints in Hugging Face layout, for tests. */
public final class TinyModels {
    private TinyModels() {
    }

    /** llama: D 64, F 96, 2 layers, 4 heads, 2 KV heads, vocab 40. */
    public static ModelConfig llama() {
        return new ModelConfig("llama", 64, 96, 2, 4, 2, 16, 40, 256, 1e-5f, 10000f, null, "silu", 0f, false, false, 0,
                1, 2);
    }

    /** qwen2: attention biases, tied embeddings, byte-level BPE vocabulary. */
    public static ModelConfig qwen2() {
        return new ModelConfig("qwen2", 64, 96, 2, 4, 2, 16, 40, 512, 1e-6f, 1e6f, null, "silu", 0f, true, true, 0, -1,
                3);
    }

    /** Random F32 weights for every tensor {@code c} needs, in ModelFiles' order. */
    public static List<Tensor> weights(ModelConfig c, long seed) {
        Random rnd = new Random(seed);
        List<Tensor> out = new ArrayList<>();
        for (Map.Entry<String, int[]> e : ModelFiles.decoderTensors(c).entrySet()) {
            int n = 1;
            for (int d : e.getValue()) {
                n *= d;
            }
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = (float) rnd.nextGaussian() * 0.5f;
            }
            out.add(Tensor.f32(e.getKey(), v, e.getValue()));
        }
        return out;
    }

    /** A model directory: config.json, model.safetensors, tokenizer.json (SentencePiece-style for llama). */
    public static Path writeDir(Path dir, ModelConfig c, long seed) {
        try {
            Files.createDirectories(dir);
            ConfigJson.write(c, dir.resolve(ModelFiles.CONFIG));
            SafetensorsWriter.write(dir.resolve(ModelFiles.SAFETENSORS), weights(c, seed), Map.of("format", "pt"));
            Files.writeString(dir.resolve(ModelFiles.TOKENIZER), c.architecture().equals("qwen2") ? BYTE_BPE : SPM_BPE);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A BERT folder that is only a config.json (hidden 8, 1 layer, vocab 20) and one tensor: enough for a command
     * that must refuse a BERT model by its config. Returns {@code dir}.
     */
    public static Path bertStub(Path dir) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(ModelFiles.CONFIG), "{\"model_type\": \"bert\", \"hidden_size\": 8, "
                    + "\"intermediate_size\": 16, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, "
                    + "\"vocab_size\": 20, \"max_position_embeddings\": 16, \"type_vocab_size\": 2, "
                    + "\"hidden_act\": \"gelu\", \"layer_norm_eps\": 1e-12}");
            SafetensorsWriter.write(dir.resolve(ModelFiles.SAFETENSORS),
                    List.of(Tensor.f32("embeddings.word_embeddings.weight", new float[160], 20, 8)), Map.of());
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** SentencePiece-style BPE (byte fallback): ids 0..9 in the vocab, 10..11 added, rest unused. */
    public static final String SPM_BPE = """
            {"version":"1.0","added_tokens":[
              {"id":0,"content":"<unk>","special":true},{"id":1,"content":"<s>","special":true},
              {"id":2,"content":"</s>","special":true},{"id":10,"content":"<tool>","special":false},
              {"id":11,"content":"<|im_end|>","special":true}],
             "model":{"type":"BPE","byte_fallback":true,"unk_token":"<unk>",
              "vocab":{"<unk>":0,"<s>":1,"</s>":2,"<0x0A>":3,"▁":4,"a":5,"b":6,"▁a":7,"ab":8,"▁ab":9},
              "merges":["▁ a","a b","▁a b","▁ ab"]}}
            """;

    /** Byte-level BPE with merges as pairs (the newer tokenizer.json form). */
    public static final String BYTE_BPE = """
            {"version":"1.0","added_tokens":[{"id":3,"content":"<|endoftext|>","special":true}],
             "model":{"type":"BPE","byte_fallback":false,
              "vocab":{"a":0,"b":1,"Ġ":2,"Ġa":4,"ab":5},
              "merges":[["Ġ","a"],["a","b"]]}}
            """;
}
