package dev.sparsa.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.io.ConfigJson;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.model.llama.GoldenWeights;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.io.MapWeights;
import dev.sparsa.tensor.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The evaluation golden of scripts/golden/make_eval_golden.py under src/test/resources/golden/eval/: the text, the
 * tokenizer trained on it, and per variant (silu, relu) the HF config and the protocol's numbers from transformers.
 * Models are regenerated from the deterministic weight generator ({@link GoldenWeights}).
 */
public final class EvalGolden {
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final String DIR = "/golden/eval/";

    public final JsonNode golden;
    public final Path text;
    public final Path tokenizerJson;

    private EvalGolden(JsonNode golden, Path text, Path tokenizerJson) {
        this.golden = golden;
        this.text = text;
        this.tokenizerJson = tokenizerJson;
    }

    private static final String[] FILES = {"golden.json", "text.txt", "tokenizer.json", "config-silu.json",
            "config-relu.json", "sparse-modes.json"};
    private static Path copied;

    public static EvalGolden load() {
        try {
            Path d = files();
            return new EvalGolden(JSON.readTree(d.resolve("golden.json").toFile()), d.resolve("text.txt"),
                    d.resolve("tokenizer.json"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The golden files copied once into a temporary directory (they may sit in a jar: the CLI tests read them from
     * sparsa-core's test jar).
     */
    private static synchronized Path files() throws IOException {
        if (copied == null) {
            Path d = Files.createTempDirectory("sparsa-eval-golden");
            d.toFile().deleteOnExit();
            for (String f : FILES) {
                try (InputStream in = EvalGolden.class.getResourceAsStream(DIR + f)) {
                    if (in == null) {
                        throw new IOException("missing test resource " + DIR + f);
                    }
                    Files.copy(in, d.resolve(f));
                    d.resolve(f).toFile().deleteOnExit();
                }
            }
            copied = d;
        }
        return copied;
    }

    /** A golden file as a path. */
    public static Path resource(String name) {
        try {
            return files().resolve(name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Corpus corpus() {
        return Corpus.ofTextFile(text);
    }

    public Tokenizer tokenizer() {
        return TokenizerJson.load(tokenizerJson);
    }

    public int eosId() {
        return golden.get("eos_id").asInt();
    }

    public int ctx() {
        return golden.get("ctx").asInt();
    }

    public int[] ints(String field) {
        return JSON.convertValue(golden.get(field), int[].class);
    }

    public JsonNode variant(String act) {
        return golden.get("variants").get(act);
    }

    public Path config(String act) {
        return resource(variant(act).get("config").asText());
    }

    public ModelConfig modelConfig(String act) {
        return ConfigJson.read(config(act));
    }

    /** The variant's weights, regenerated. */
    public MapWeights weights(String act) {
        MapWeights w = new MapWeights("golden/eval/" + act);
        long seed = golden.get("seed").asLong();
        for (JsonNode t : variant(act).get("tensors")) {
            int[] shape = JSON.convertValue(t.get("shape"), int[].class);
            int n = 1;
            for (int d : shape) {
                n *= d;
            }
            String name = t.get("name").asText();
            w.put(Tensor.f32(name, GoldenWeights.generate(name, n, t.get("scale").asDouble(),
                    t.get("offset").asDouble(), seed), shape));
        }
        return w;
    }

    public LlamaModel model(String act) {
        return LlamaModel.load(modelConfig(act), weights(act));
    }

    /**
     * The variant as a Hugging Face directory under {@code dir}: config.json, model.safetensors (Sparsa's writer) and
     * the golden tokenizer.json. Returns the directory.
     */
    public Path writeModelDir(String act, Path dir) {
        try {
            Files.createDirectories(dir);
            Files.copy(config(act), dir.resolve("config.json"));
            Files.copy(tokenizerJson, dir.resolve("tokenizer.json"));
            dev.sparsa.io.SafetensorsWriter.write(dir.resolve("model.safetensors"),
                    new java.util.ArrayList<>(weights(act).asMap().values()), Map.of("format", "pt"));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
