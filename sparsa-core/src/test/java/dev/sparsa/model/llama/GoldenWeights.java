package dev.sparsa.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.io.MapWeights;
import dev.sparsa.tensor.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The deterministic weight generator shared with scripts/golden/make_llama_goldens.py (see its header), and the
 * golden files it wrote under src/test/resources/golden/VARIANT/.
 */
public final class GoldenWeights {
    private static final long G = 0x9E3779B97F4A7C15L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private GoldenWeights() {
    }

    static long fnv1a64(String name) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }

    /** w[i] = float32(offset + (u − 2²³) · 2⁻²³ · scale), u = top 24 bits of splitmix64(state + (i+1)·G). */
    public static float[] generate(String name, int numel, double scale, double offset, long seed) {
        long state = fnv1a64(name) ^ (seed * G);
        float[] out = new float[numel];
        for (int i = 0; i < numel; i++) {
            long z = state + (i + 1L) * G;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z = z ^ (z >>> 31);
            long u = z >>> 40;
            out[i] = (float) (offset + (u - 8388608.0) * 0x1p-23 * scale);
        }
        return out;
    }

    /** One golden variant: its HF config.json, golden.json and logits. */
    public record Golden(String variant, JsonNode config, JsonNode golden, float[] logits, int seqLen, int vocab) {

        public MapWeights weights() {
            MapWeights w = new MapWeights("golden/" + variant);
            long seed = golden.get("seed").asLong();
            for (JsonNode t : golden.get("tensors")) {
                int[] shape = JSON.convertValue(t.get("shape"), int[].class);
                int n = 1;
                for (int d : shape) {
                    n *= d;
                }
                String name = t.get("name").asText();
                w.put(Tensor.f32(name, generate(name, n, t.get("scale").asDouble(), t.get("offset").asDouble(), seed),
                        shape));
            }
            return w;
        }

        public int[] promptIds() {
            return JSON.convertValue(golden.get("prompt_ids"), int[].class);
        }

        public int[] greedyIds() {
            return JSON.convertValue(golden.get("greedy_ids"), int[].class);
        }

        /** prompt + greedy ids: the sequence the logits belong to. */
        public int[] allIds() {
            return JSON.convertValue(golden.get("logits").get("ids"), int[].class);
        }

        /**
         * Writes the model as a Hugging Face directory: config.json, model.safetensors (SafetensorsWriter) and a tiny
         * tokenizer.json (ids beyond its vocabulary are padding; the GGUF export needs one). Returns {@code dir}.
         */
        public java.nio.file.Path writeDir(java.nio.file.Path dir) {
            try {
                java.nio.file.Files.createDirectories(dir);
                java.nio.file.Files.write(dir.resolve("config.json"), configBytes());
                java.nio.file.Files.writeString(dir.resolve("tokenizer.json"),
                        config.get("model_type").asText().equals("qwen2")
                                ? dev.sparsa.io.TinyModels.BYTE_BPE : dev.sparsa.io.TinyModels.SPM_BPE);
                dev.sparsa.io.SafetensorsWriter.write(dir.resolve("model.safetensors"),
                        new java.util.ArrayList<>(weights().asMap().values()), java.util.Map.of("format", "pt"));
                return dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        public byte[] configBytes() {
            try {
                return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(config);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    public static Golden load(String variant) {
        try {
            JsonNode config = JSON.readTree(resource(variant + "/config.json"));
            JsonNode golden = JSON.readTree(resource(variant + "/golden.json"));
            int seq = golden.get("logits").get("shape").get(0).asInt();
            int vocab = golden.get("logits").get("shape").get(1).asInt();
            byte[] bin = resource(variant + "/logits.bin");
            float[] logits = new float[seq * vocab];
            ByteBuffer.wrap(bin).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(logits);
            return new Golden(variant, config, golden, logits, seq, vocab);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] resource(String path) throws IOException {
        try (InputStream in = GoldenWeights.class.getResourceAsStream("/golden/" + path)) {
            if (in == null) {
                throw new IOException("missing test resource golden/" + path);
            }
            return in.readAllBytes();
        }
    }
}
