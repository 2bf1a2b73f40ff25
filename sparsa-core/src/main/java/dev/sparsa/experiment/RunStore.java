package dev.sparsa.experiment;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sparsa.SparsaException;
import dev.sparsa.io.AtomicFile;
import dev.sparsa.train.Checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The finished runs of an experiment, one file each ({@code OUT/runs/ID.json}: the run's fingerprint, the options
 * and data it depends on, and its value), so that {@code --resume} takes the runs already done and recomputes the
 * rest; a file whose fingerprint differs is an error (another experiment's folder), never silently reused.
 */
public final class RunStore {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private final Path dir;
    private final boolean resume;

    /** @param out the experiment's folder; runs go to {@code out/runs} */
    public RunStore(Path out, boolean resume) {
        this.dir = out.resolve("runs");
        this.resume = resume;
    }

    /** Writes run {@code id} atomically. */
    public void save(String id, Map<String, String> fingerprint, Object value) {
        Path f = dir.resolve(id + ".json");
        try {
            Files.createDirectories(dir);
            AtomicFile.write(f, JSON.writeValueAsBytes(Map.of("fingerprint", fingerprint, "value", value)));
        } catch (IOException e) {
            throw new SparsaException(f + ": cannot write: " + e.getMessage(), e);
        }
    }

    /** The folder of the run files, {@code out/runs}. */
    public Path dir() {
        return dir;
    }

    /** Whether finished runs are taken from the folder ({@code --resume}). */
    public boolean resuming() {
        return resume;
    }

    /**
     * What differs between a saved fingerprint and the current one, by option: "--lr is 0.001 there, 0.002 now;
     * ..." ({@link Checkpoint#mismatch}; a record's value by the fields that differ).
     */
    public static String differences(Map<?, ?> saved, Map<String, String> now) {
        List<String> d = new ArrayList<>();
        Set<Object> keys = new LinkedHashSet<>(now.keySet());
        keys.addAll(saved.keySet());
        for (Object k : keys) {
            Object had = saved.get(k);
            String is = now.get(k);
            if (!Objects.equals(had == null ? null : had.toString(), is)) {
                d.add(Checkpoint.mismatch(k.toString(), had == null ? "absent" : had.toString(),
                        is == null ? "absent" : is));
            }
        }
        return String.join("; ", d);
    }

    /** The saved value of {@code id} when resuming and its fingerprint matches; null when not resuming or absent. */
    public <T> T load(String id, Map<String, String> fingerprint, Class<T> type) {
        Path f = dir.resolve(id + ".json");
        if (!resume || !Files.isRegularFile(f)) {
            return null;
        }
        try {
            var node = JSON.readTree(f.toFile());
            Map<?, ?> saved = JSON.treeToValue(node.get("fingerprint"), Map.class);
            if (!fingerprint.equals(saved)) {
                throw new SparsaException.UsageException(f + ": made with other options or another model ("
                        + differences(saved, fingerprint) + "); use another --out, or leave out --resume to start "
                        + "over");
            }
            return JSON.treeToValue(node.get("value"), type);
        } catch (IOException | NullPointerException e) {
            throw SparsaException.FormatException.of(f, "not a saved run of this experiment: " + e.getMessage());
        }
    }
}
