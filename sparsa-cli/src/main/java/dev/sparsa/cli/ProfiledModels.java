package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.io.Fetch;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.onnx.Encoders;
import dev.sparsa.profile.adapter.BertProfiledModel;
import dev.sparsa.profile.adapter.LlamaProfiledModel;
import dev.sparsa.profile.ProfiledModel;
import dev.sparsa.profile.toy.ToyModel;
import dev.sparsa.tensor.Parallel;

import java.nio.file.Files;
import java.nio.file.Path;

/** Turns a {@code --model} argument into a {@link ProfiledModel}. */
final class ProfiledModels {
    private ProfiledModels() {
    }

    static final String MINILM = "all-MiniLM-L6-v2";

    static String help() {
        return "a built-in BERT encoder (" + Encoders.aliases() + "; fetched from Maven), an .onnx BERT encoder "
                + "(F32 or dynamic int8, tokenizer.json or NAME-tokenizer.json beside it), a Hugging Face directory "
                + "(Llama-family decoder or BERT encoder: config.json + safetensors + tokenizer.json), or toy-relu / "
                + "toy-gelu (tiny synthetic models)";
    }

    static ProfiledModel open(String spec, Parallel par) {
        return open(spec, par, null);
    }

    /** A decoder in the {@code sparse} mode (null or dense: dense); the other models only run dense. */
    static ProfiledModel open(String spec, Parallel par, SparseOption sparse) {
        return open(spec, par, sparse, null, msg -> { });
    }

    /**
     * As above; an encoder's windows are {@code maxLength} tokens long when it is given ({@code --max-length}),
     * else as its tokenizer's truncation allows, and {@code notice} is told which; other models refuse maxLength.
     */
    static ProfiledModel open(String spec, Parallel par, SparseOption sparse, Integer maxLength,
                              java.util.function.Consumer<String> notice) {
        if (maxLength != null && maxLength < 1) {
            throw new SparsaException.UsageException("--max-length must be positive, got " + maxLength);
        }
        ProfiledModel m = openAny(spec, par, sparse, maxLength == null ? 0 : maxLength, notice);
        if (maxLength != null && !(m instanceof BertProfiledModel)) {
            throw new SparsaException.UsageException("--max-length " + maxLength + ": only for BERT encoders (a "
                    + "decoder's windows are its context), not " + spec);
        }
        return m;
    }

    private static ProfiledModel openAny(String spec, Parallel par, SparseOption sparse, int maxLength,
                                         java.util.function.Consumer<String> notice) {
        String s = spec.strip();
        boolean dense = sparse == null || sparse.mode() == dev.sparsa.infer.mode.SparseMode.DENSE;
        Path path = Path.of(s);
        if (!dense && (Files.isDirectory(path) || Files.isRegularFile(path))) {
            return LlamaProfiledModel.open(path, par, files -> sparse.load(files, null).model());
        }
        if (!dense) {
            throw new SparsaException.UsageException("--sparse " + sparse.sparse + ": only a Llama-family model runs "
                    + "sparse, not " + spec);
        }
        if (s.equalsIgnoreCase("toy-relu") || s.equalsIgnoreCase("toy-gelu")) {
            return ToyModel.of(s.toLowerCase(java.util.Locale.ROOT));
        }
        if (Encoders.byAlias(s).isPresent()) {
            return openEncoder(s, par, maxLength, notice);
        }
        Path p = Path.of(s);
        if (Files.isRegularFile(p) && s.toLowerCase(java.util.Locale.ROOT).endsWith(".onnx")) {
            return openEncoder(s, par, maxLength, notice);
        }
        if (Files.isDirectory(p) || Files.isRegularFile(p)) {
            boolean encoder;
            try (ModelFiles mf = ModelFiles.open(p)) {
                encoder = !mf.config().isDecoder();
            }
            return encoder ? openEncoder(s, par, maxLength, notice) : openLlama(p, par);
        }
        throw new SparsaException.UsageException("--model " + spec + ": unknown model; use " + help());
    }

    /** A BERT encoder by alias, .onnx path or HF directory, as {@code sparsa embed} opens it. */
    private static ProfiledModel openEncoder(String spec, Parallel par, int maxLength,
                                             java.util.function.Consumer<String> notice) {
        return BertProfiledModel.open(Encoders.resolve(spec, null, Fetch.defaultCache()), par, maxLength, notice);
    }

    private static ProfiledModel openLlama(Path dir, Parallel par) {
        return LlamaProfiledModel.open(dir, par);
    }
}
