package dev.sparsa.train;

import dev.sparsa.SparsaException;
import dev.sparsa.io.AtomicFile;
import dev.sparsa.io.SafetensorsFile;
import dev.sparsa.io.SafetensorsWriter;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * Training checkpoints under {@code OUT/checkpoints/}: one safetensors file per checkpoint,
 * {@code step-00000100.safetensors}, holding every parameter ({@code param/NAME}), both AdamW moments
 * ({@code adam_m/NAME}, {@code adam_v/NAME}), and in {@code __metadata__} the step, the data position, the
 * optimizer's step count, the method's state, the run's options (compared on resume, so a run with other options is
 * refused by name) and a CRC-32C of all tensor bytes and of the other metadata. Written atomically (temp file,
 * fsync, rename, fsync of the directory); the newest {@code keep} are kept, older ones deleted only after a newer
 * one is complete. Everything the next step depends on is in the file, so a resumed run continues to the same bits.
 */
public final class Checkpoint {
    private Checkpoint() {
    }

    public static final String DIR = "checkpoints";
    /** Format 2: the CRC covers the metadata too (format 1's covered the tensors only). */
    static final String FORMAT = "sparsa-train-checkpoint-2";
    private static final String CRC = "crc32c";
    private static final Pattern NAME = Pattern.compile("step-(\\d{8})\\.safetensors");

    /** What a checkpoint restores besides the tensors. */
    public record Meta(int step, TrainData.Position data, long adamSteps, Map<String, String> method,
                       Map<String, String> run) {
    }

    /** Writes the checkpoint of {@code meta.step()} and prunes to the newest {@code keep}; returns its path. */
    public static Path write(Path outDir, Meta meta, LlamaParams p, AdamW opt, int keep) {
        Path dir = outDir.resolve(DIR);
        List<Tensor> ts = tensors(p, opt);
        Map<String, String> md = new LinkedHashMap<>();
        md.put("format", FORMAT);
        md.put("step", Integer.toString(meta.step()));
        md.put("epoch", Integer.toString(meta.data().epoch()));
        md.put("cursor", Integer.toString(meta.data().cursor()));
        md.put("adamSteps", Long.toString(meta.adamSteps()));
        meta.method().forEach((k, v) -> md.put("method." + k, v));
        meta.run().forEach((k, v) -> md.put("run." + k, v));
        md.put(CRC, Long.toHexString(crc(ts, md)));
        Path file = dir.resolve(String.format("step-%08d.safetensors", meta.step()));
        SafetensorsWriter.write(file, ts, md);
        prune(dir, keep);
        return file;
    }

    /** The newest checkpoint under {@code outDir}, if any (by step number in its name). */
    public static Optional<Path> latest(Path outDir) {
        TreeMap<Integer, Path> all = list(outDir.resolve(DIR));
        return all.isEmpty() ? Optional.empty() : Optional.of(all.lastEntry().getValue());
    }

    /**
     * Loads {@code file} into {@code p} and {@code opt}, after checking it completely: format, the run's options
     * against {@code run}, every tensor's presence, dtype and shape, and the CRC. Nothing is changed when a check
     * fails (a {@link SparsaException.FormatException} naming the file and what is wrong).
     */
    public static Meta read(Path file, LlamaParams p, AdamW opt, Map<String, String> run) {
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            Map<String, Object> md = st.metadata();
            if (!FORMAT.equals(md.get("format"))) {
                throw SparsaException.FormatException.of(file, "not a Sparsa training checkpoint (format "
                        + md.get("format") + ")");
            }
            List<Tensor> want = tensors(p, opt);
            List<Tensor> got = new ArrayList<>();
            String misfit = null;               // the first tensor this model cannot take
            for (Tensor w : want) {
                if (!st.contains(w.name())) {
                    misfit = "missing tensor " + w.name();
                    break;
                }
                Tensor t = st.tensor(w.name());
                if (t.dtype() != DType.F32 || !java.util.Arrays.equals(t.shape(), w.shape())) {
                    misfit = "tensor " + w.name() + " is " + t.describe() + ", this model needs F32"
                            + java.util.Arrays.toString(w.shape());
                    break;
                }
                got.add(t);
            }
            if (misfit != null) {
                checkRun(file, md, run);        // another model: say which option, not which tensor
                throw SparsaException.FormatException.of(file, misfit);
            }
            String crc = Long.toHexString(crc(got, md));
            if (!crc.equals(md.get(CRC))) {
                throw SparsaException.FormatException.of(file, "corrupt: CRC-32C of the tensors and metadata is " + crc
                        + ", the file records " + md.get(CRC) + " (delete it to resume from the checkpoint before)");
            }
            checkRun(file, md, run);            // the bytes are known good: a difference is another run, not damage
            Meta meta = new Meta(integer(file, md, "step"), new TrainData.Position(integer(file, md, "epoch"),
                    integer(file, md, "cursor")), Long.parseLong(string(file, md, "adamSteps")), prefixed(md, "method."),
                    prefixed(md, "run."));
            for (int i = 0; i < want.size(); i++) {
                MemorySegment.copy(got.get(i).data(), 0, want.get(i).data(), 0, got.get(i).data().byteSize());
            }
            opt.setSteps(meta.adamSteps());
            return meta;
        } catch (NumberFormatException e) {
            throw SparsaException.FormatException.of(file, "corrupt metadata: " + e.getMessage());
        }
    }

    private static void checkRun(Path file, Map<String, Object> md, Map<String, String> run) {
        for (Map.Entry<String, String> e : run.entrySet()) {
            Object had = md.get("run." + e.getKey());
            if (!e.getValue().equals(had)) {
                throw SparsaException.FormatException.of(file, "was written by another run: "
                        + mismatch(e.getKey(), had == null ? null : had.toString(), e.getValue())
                        + " (resume with the same options, or use another --out)");
            }
        }
    }

    /** Deletes leftover temp files of an interrupted write (they are never read). */
    public static void cleanTemp(Path outDir) {
        Path dir = outDir.resolve(DIR);
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : s.filter(f -> f.getFileName().toString().startsWith(".")
                    && f.getFileName().toString().endsWith(".tmp")).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            throw new SparsaException(dir + ": cannot list: " + e.getMessage(), e);
        }
    }

    // params, then m and v, as views (no copies): param/NAME, adam_m/NAME, adam_v/NAME
    private static List<Tensor> tensors(LlamaParams p, AdamW opt) {
        List<Tensor> ts = new ArrayList<>();
        List<LlamaParams.Param> ps = p.params();
        for (LlamaParams.Param q : ps) {
            ts.add(new Tensor("param/" + q.name(), DType.F32, q.value().shape(), q.data()));
        }
        for (int i = 0; i < ps.size(); i++) {
            int[] shape = ps.get(i).value().shape();
            ts.add(new Tensor("adam_m/" + ps.get(i).name(), DType.F32, shape, MemorySegment.ofArray(opt.m(i))));
            ts.add(new Tensor("adam_v/" + ps.get(i).name(), DType.F32, shape, MemorySegment.ofArray(opt.v(i))));
        }
        return ts;
    }

    /**
     * CRC-32C of every tensor's bytes in order, then of every metadata entry but the CRC itself in key order
     * ({@code key NUL value NUL}, UTF-8): a flipped bit in a weight or in the step, data position or options is
     * found.
     */
    public static long crc(List<Tensor> ts, Map<String, ?> md) {
        CRC32C c = new CRC32C();
        byte[] buf = new byte[1 << 16];
        for (Tensor t : ts) {
            MemorySegment s = t.data();
            for (long pos = 0; pos < s.byteSize(); pos += buf.length) {
                int n = (int) Math.min(buf.length, s.byteSize() - pos);
                MemorySegment.copy(s, ValueLayout.JAVA_BYTE, pos, buf, 0, n);
                c.update(buf, 0, n);
            }
        }
        for (Map.Entry<String, ?> e : new TreeMap<>(md).entrySet()) {
            if (!e.getKey().equals(CRC)) {
                c.update((e.getKey() + '\0' + e.getValue() + '\0').getBytes(StandardCharsets.UTF_8));
            }
        }
        return c.getValue();
    }

    private static TreeMap<Integer, Path> list(Path dir) {
        TreeMap<Integer, Path> m = new TreeMap<>();
        if (!Files.isDirectory(dir)) {
            return m;
        }
        try (Stream<Path> s = Files.list(dir)) {
            s.forEach(f -> {
                Matcher x = NAME.matcher(f.getFileName().toString());
                if (x.matches() && Files.isRegularFile(f)) {
                    m.put(Integer.parseInt(x.group(1)), f);
                }
            });
        } catch (IOException e) {
            throw new SparsaException(dir + ": cannot list: " + e.getMessage(), e);
        }
        return m;
    }

    private static void prune(Path dir, int keep) {
        TreeMap<Integer, Path> all = list(dir);
        while (all.size() > Math.max(1, keep)) {
            Path old = all.pollFirstEntry().getValue();
            try {
                Files.deleteIfExists(old);
            } catch (IOException e) {
                throw new SparsaException(old + ": cannot delete an old checkpoint: " + e.getMessage(), e);
            }
        }
        AtomicFile.syncDirectory(dir);
    }

    /** "--lr is 0.001 there, 0.002 now"; the model config by the fields that differ. */
    public static String mismatch(String key, String had, String now) {
        String what = Trainer.optionOf(key);
        if (had != null && had.endsWith("]") && now.endsWith("]") && had.indexOf('[') > 0 && now.indexOf('[') > 0) {
            List<String> a = fields(had);
            List<String> b = fields(now);
            List<String> was = new ArrayList<>();
            List<String> is = new ArrayList<>();
            for (int i = 0; i < Math.max(a.size(), b.size()); i++) {
                String x = i < a.size() ? a.get(i) : "";
                String y = i < b.size() ? b.get(i) : "";
                if (!x.equals(y)) {
                    was.add(x);
                    is.add(y);
                }
            }
            return what + " differs: " + String.join(", ", was) + " there, " + String.join(", ", is) + " now";
        }
        return what + " is " + had + " there, " + now + " now";
    }

    // the top-level "name=value" parts of a record's toString, Name[a=1, b=R[c=2, d=3]] -> a=1, b=R[c=2, d=3]
    private static List<String> fields(String record) {
        String in = record.substring(record.indexOf('[') + 1, record.length() - 1);
        List<String> out = new ArrayList<>();
        int depth = 0;
        int from = 0;
        for (int i = 0; i < in.length(); i++) {
            char ch = in.charAt(i);
            if (ch == '[') {
                depth++;
            } else if (ch == ']') {
                depth--;
            } else if (ch == ',' && depth == 0) {
                out.add(in.substring(from, i).strip());
                from = i + 1;
            }
        }
        out.add(in.substring(from).strip());
        return out;
    }

    private static Map<String, String> prefixed(Map<String, Object> md, String prefix) {
        Map<String, String> m = new LinkedHashMap<>();
        md.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                m.put(k.substring(prefix.length()), String.valueOf(v));
            }
        });
        return m;
    }

    private static String string(Path file, Map<String, Object> md, String key) {
        Object v = md.get(key);
        if (v == null) {
            throw SparsaException.FormatException.of(file, "metadata has no " + key);
        }
        return v.toString();
    }

    private static int integer(Path file, Map<String, Object> md, String key) {
        return Integer.parseInt(string(file, md, key));
    }
}
