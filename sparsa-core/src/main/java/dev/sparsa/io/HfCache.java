package dev.sparsa.io;

import dev.sparsa.SparsaException.FormatException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Model ids in the local Hugging Face hub cache, as transformers resolves them offline: {@code org/name} is the
 * folder {@code models--org--name} of the hub cache ({@code HF_HUB_CACHE}, else {@code HF_HOME/hub}, else
 * {@code ~/.cache/huggingface/hub}); its {@code refs/main} names the snapshot ({@code snapshots/<commit>/}), which
 * holds the files. Sparsa reads the cache only; it never downloads.
 */
public final class HfCache {
    /** A hub model id: {@code name} or {@code org/name}, letters, digits, '-', '_', '.'. */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][\\w.-]*(/[A-Za-z0-9][\\w.-]*)?");

    private HfCache() {
    }

    /** The hub cache folder for the environment {@code env} (e.g. {@code System.getenv()}) and home folder. */
    public static Path hubDir(Map<String, String> env, Path home) {
        String hub = env.get("HF_HUB_CACHE");
        if (hub != null && !hub.isBlank()) {
            return Path.of(hub);
        }
        String hfHome = env.get("HF_HOME");
        if (hfHome != null && !hfHome.isBlank()) {
            return Path.of(hfHome).resolve("hub");
        }
        return home.resolve(".cache").resolve("huggingface").resolve("hub");
    }

    /** The hub cache of this process's environment. */
    public static Path hubDir() {
        return hubDir(System.getenv(), Path.of(System.getProperty("user.home")));
    }

    /**
     * {@code model} itself when it exists; else, when it is a hub id cached in {@code hub}, its snapshot folder (or
     * the one .gguf file of a GGUF-only repository). Anything else is one error naming the path, the id and the
     * cache folder looked in.
     */
    public static Path resolve(String model, Path hub) {
        Path p = Path.of(model);
        if (Files.exists(p)) {
            return p;
        }
        if (!ID.matcher(model).matches()) {
            throw FormatException.of(model, "no such file or directory");
        }
        Path repo = hub.resolve("models--" + model.replace("/", "--"));
        if (!Files.isDirectory(repo)) {
            throw FormatException.of(model, "no such file or directory, and no model '" + model
                    + "' in the Hugging Face cache " + hub + " (Sparsa does not download from the hub; fetch it with "
                    + "huggingface-cli download or transformers first)");
        }
        Path snapshot = snapshot(model, repo);
        if (Files.isRegularFile(snapshot.resolve(ModelFiles.CONFIG))) {
            return snapshot;
        }
        List<Path> ggufs = list(snapshot).stream()
                .filter(f -> f.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".gguf"))
                .toList();
        if (ggufs.size() == 1) {
            return ggufs.getFirst();
        }
        if (ggufs.isEmpty()) {
            throw FormatException.of(snapshot, "cached snapshot of '" + model + "' has no config.json and no .gguf");
        }
        throw FormatException.of(snapshot, "cached snapshot of '" + model + "' has " + ggufs.size() + " .gguf files ("
                + String.join(", ", ggufs.stream().map(f -> f.getFileName().toString()).sorted().toList())
                + "); pass the one to use as a path");
    }

    /** The snapshot {@code refs/main} names, else the only snapshot. */
    private static Path snapshot(String model, Path repo) {
        Path snapshots = repo.resolve("snapshots");
        Path ref = repo.resolve("refs").resolve("main");
        if (Files.isRegularFile(ref)) {
            try {
                String commit = Files.readString(ref).strip();
                Path s = snapshots.resolve(commit);
                if (!commit.isEmpty() && !commit.contains("/") && Files.isDirectory(s)) {
                    return s;
                }
                throw FormatException.of(ref, "names snapshot '" + commit + "', which is not in " + snapshots);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        List<Path> all = Files.isDirectory(snapshots) ? list(snapshots).stream().filter(Files::isDirectory).toList()
                : List.of();
        if (all.size() == 1) {
            return all.getFirst();
        }
        throw FormatException.of(repo, "cached model '" + model + "' has no refs/main and " + all.size()
                + " snapshots; pass the snapshot folder to use as a path");
    }

    private static List<Path> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
