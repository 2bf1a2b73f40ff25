package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.io.Fetch;
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
        return "all-MiniLM-L6-v2 (alias minilm; fetched from Maven), a Hugging Face Llama-family directory "
                + "(config.json + safetensors + tokenizer.json), or toy-relu / toy-gelu (tiny synthetic models)";
    }

    static ProfiledModel open(String spec, Parallel par) {
        return open(spec, par, null);
    }

    /** A decoder in the {@code sparse} mode (null or dense: dense); the other models only run dense. */
    static ProfiledModel open(String spec, Parallel par, SparseOption sparse) {
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
        if (s.equalsIgnoreCase("minilm") || s.equalsIgnoreCase(MINILM)) {
            return openMiniLm(par);
        }
        Path p = Path.of(s);
        if (Files.isDirectory(p) || Files.isRegularFile(p)) {
            return openLlama(p, par);
        }
        throw new SparsaException.UsageException("--model " + spec + ": unknown model; use " + help());
    }

    private static ProfiledModel openMiniLm(Parallel par) {
        return BertProfiledModel.miniLm(Fetch.defaultCache(), par);
    }

    private static ProfiledModel openLlama(Path dir, Parallel par) {
        return LlamaProfiledModel.open(dir, par);
    }
}
