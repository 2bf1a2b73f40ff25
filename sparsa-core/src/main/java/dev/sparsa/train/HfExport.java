package dev.sparsa.train;

import dev.sparsa.SparsaException;
import dev.sparsa.io.ConfigJson;
import dev.sparsa.io.Quantize;
import dev.sparsa.io.SafetensorsWriter;
import dev.sparsa.model.Activation;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes trained weights as a Hugging Face model folder that Sparsa and transformers load: {@code model.safetensors}
 * (BF16 by default, or F32; HF tensor names; no {@code lm_head.weight} when tied), {@code config.json} with the
 * trained activation — {@code relu}, {@code relu2}, {@code silu}, or {@code relu} plus Sparsa's
 * {@code fatrelu_threshold} T for FATReLU (transformers reads it as ReLU and ignores T; Sparsa applies T) — and the
 * tokenizer files copied beside them. dReLU is written as {@code hidden_act: drelu}, which only Sparsa reads
 * (transformers has no ReLU on the up projection). Each file is written atomically.
 */
public final class HfExport {
    private HfExport() {
    }

    /** Tokenizer files copied from the source when present. */
    public static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json");

    /**
     * @param tokenizerFiles files to copy into {@code dir} (missing ones are skipped)
     */
    public static void write(Path dir, LlamaParams p, ModelConfig cfg, DType dtype, List<Path> tokenizerFiles) {
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
            throw new SparsaException.UsageException("--dtype: a Hugging Face folder holds f32, bf16 or f16, not "
                    + dtype.name().toLowerCase());
        }
        try (Arena arena = Arena.ofConfined()) {
            List<Tensor> out = new ArrayList<>();
            for (LlamaParams.Param q : p.params()) {
                Tensor t = new Tensor(q.name(), DType.F32, q.value().shape(), q.data());
                out.add(dtype == DType.F32 ? t : rename(Quantize.convert(t, dtype, arena), q.name()));
            }
            SafetensorsWriter.write(dir.resolve("model.safetensors"), out, Map.of("format", "pt"));
        }
        ConfigJson.write(hfConfig(cfg), dir.resolve("config.json"));
        for (Path f : tokenizerFiles) {
            if (f != null && Files.isRegularFile(f)) {
                copy(f, dir.resolve(f.getFileName().toString()));
            }
        }
    }

    /** FATReLU is saved as {@code relu} + {@code fatrelu_threshold}; the rest as it is. */
    static ModelConfig hfConfig(ModelConfig c) {
        Activation a = Activation.of(c.hiddenAct(), c.fatreluThreshold());
        return a.kind() == Activation.Kind.FATRELU ? c.withActivation("relu", a.threshold()) : c;
    }

    private static Tensor rename(Tensor t, String name) {
        return new Tensor(name, t.dtype(), t.shape(), t.data());
    }

    private static void copy(Path from, Path to) {
        try {
            if (Files.exists(to) && Files.isSameFile(from, to)) {
                return;
            }
            byte[] b = Files.readAllBytes(from);
            dev.sparsa.io.AtomicFile.write(to, b);
        } catch (IOException e) {
            throw new SparsaException(from + ": cannot copy to " + to + ": " + e.getMessage(), e);
        }
    }
}
