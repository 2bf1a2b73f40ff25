package dev.sparsa.experiment.cl;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.SparsaException;
import dev.sparsa.experiment.RunStore;
import dev.sparsa.io.SafetensorsFile;
import dev.sparsa.io.SafetensorsWriter;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Tensor;
import dev.sparsa.train.Checkpoint;
import dev.sparsa.train.LlamaParams;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A run of a task sequence after its last finished stage, {@code OUT/runs/ID.stage.safetensors}, so that
 * {@code --resume} after a kill between tasks (or inside one: from the stage before) continues to the same bits. The
 * stage loop needs nothing else: the optimizer is fresh per stage, every data order and replay draw is seeded by
 * the stage, epoch and step. Holds every parameter ({@code param/NAME}) and in {@code __metadata__} the loop state
 * (stages done, step, the accuracy-matrix rows, stage ends and FLOPs, CE per step, the replay buffer: JSON, doubles
 * in their shortest round-trip form), the method's {@code state()} ({@code method.K}), the run's fingerprint
 * ({@code run.K}, compared on resume: another option or model is a one-line error naming it) and a CRC-32C of the
 * tensors and the metadata. Written atomically (temp file and rename), replaced after every stage.
 */
final class StageCheckpoint {
    private StageCheckpoint() {
    }

    static final String FORMAT = "sparsa-cl-stage-checkpoint-1";
    private static final String CRC = "crc32c";
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * The stage loop's state after {@code stages} stages (rows of {@code bitsPerByte} and of {@code agnostic}, null
     * without a task-agnostic evaluation: those stages).
     */
    record Loop(int stages, int step, double[][] bitsPerByte, double[][] agnostic, int[] stageEndStep,
                long[] stageFlops, double[] ce, int[] buffer) {
    }

    /** What a checkpoint restores besides the parameters. */
    record State(Loop loop, Map<String, String> method) {
    }

    static Path file(RunStore store, String id) {
        return store.dir().resolve(id + ".stage.safetensors");
    }

    static void write(Path file, Loop loop, LlamaParams p, Map<String, String> method,
                      Map<String, String> fingerprint) {
        List<Tensor> ts = tensors(p);
        Map<String, String> md = new LinkedHashMap<>();
        md.put("format", FORMAT);
        try {
            md.put("loop", JSON.writeValueAsString(loop));
        } catch (JsonProcessingException e) {
            throw new SparsaException(file + ": cannot encode the stage state: " + e.getMessage(), e);
        }
        method.forEach((k, v) -> md.put("method." + k, v));
        fingerprint.forEach((k, v) -> md.put("run." + k, v));
        md.put(CRC, Long.toHexString(Checkpoint.crc(ts, md)));
        SafetensorsWriter.write(file, ts, md);
    }

    /**
     * Checks {@code file} completely (format, every tensor's shape, the CRC, then the fingerprint) and only then
     * loads it into {@code p}; a failed check changes nothing.
     */
    static State read(Path file, LlamaParams p, Map<String, String> fingerprint) {
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            Map<String, String> md = st.stringMetadata();
            if (!FORMAT.equals(md.get("format"))) {
                throw SparsaException.FormatException.of(file, "not a stage checkpoint of a continual-learning run "
                        + "(format " + md.get("format") + ")");
            }
            Map<String, String> saved = prefixed(md, "run.");
            List<Tensor> want = tensors(p);
            List<Tensor> got = new ArrayList<>();
            for (Tensor w : want) {
                Tensor t = st.contains(w.name()) ? st.tensor(w.name()) : null;
                if (t == null || t.dtype() != DType.F32 || !Arrays.equals(t.shape(), w.shape())) {
                    check(file, saved, fingerprint);   // another model: say which option, not which tensor
                    throw SparsaException.FormatException.of(file, t == null ? "missing tensor " + w.name()
                            : "tensor " + w.name() + " is " + t.describe() + ", this model needs F32"
                            + Arrays.toString(w.shape()));
                }
                got.add(t);
            }
            String crc = Long.toHexString(Checkpoint.crc(got, md));
            if (!crc.equals(md.get(CRC))) {
                throw SparsaException.FormatException.of(file, "corrupt: CRC-32C " + crc + ", the file records "
                        + md.get(CRC) + " (delete it to rerun the sequence from its start)");
            }
            check(file, saved, fingerprint);
            Loop loop = JSON.readValue(md.get("loop"), Loop.class);
            for (int i = 0; i < want.size(); i++) {
                MemorySegment.copy(got.get(i).data(), 0, want.get(i).data(), 0, got.get(i).data().byteSize());
            }
            return new State(loop, prefixed(md, "method."));
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw SparsaException.FormatException.of(file, "corrupt stage state: " + e.getMessage());
        }
    }

    private static void check(Path file, Map<String, String> saved, Map<String, String> now) {
        if (!saved.equals(now)) {
            throw new SparsaException.UsageException(file + ": made with other options or another model ("
                    + RunStore.differences(saved, now) + "); use another --out, or leave out --resume to start over");
        }
    }

    private static Map<String, String> prefixed(Map<String, String> md, String prefix) {
        Map<String, String> m = new LinkedHashMap<>();
        md.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                m.put(k.substring(prefix.length()), v);
            }
        });
        return m;
    }

    private static List<Tensor> tensors(LlamaParams p) {
        List<Tensor> ts = new ArrayList<>();
        for (LlamaParams.Param q : p.params()) {
            ts.add(new Tensor("param/" + q.name(), DType.F32, q.value().shape(), q.data()));
        }
        return ts;
    }
}
