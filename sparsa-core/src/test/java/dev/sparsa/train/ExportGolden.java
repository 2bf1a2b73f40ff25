package dev.sparsa.train;

import dev.sparsa.io.MapWeights;
import dev.sparsa.model.llama.GoldenWeights;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The Hugging Face folders that scripts/golden/make_export_golden.py loads in transformers: {@link HfExport} of
 * weights from the deterministic generator ({@link GoldenWeights}, the scales of make_llama_goldens.py's
 * {@code scale_of}), one folder per {@link Variant}. {@link HfExportGoldenTest} writes them again and checks that
 * their bytes are the ones the golden was made from. Run {@link #main} to write them for the script:
 * {@code java -cp ... dev.sparsa.train.ExportGolden OUTDIR}.
 */
public final class ExportGolden {
    private ExportGolden() {
    }

    /** The generator's seed (make_llama_goldens.py's SEED). */
    static final long SEED = 20261123L;
    /** FATReLU threshold of the fatrelu variant: zeroes about half of the positive gate values. */
    static final float T = 0.25f;
    /** The token ids every variant is run on. */
    static final int[] IDS = {1, 200, 17, 33, 255, 4, 98, 150, 7, 64, 211, 2, 90, 128};

    /** One exported folder: its model config (with the trained activation) and the saved dtype. */
    record Variant(String name, ModelConfig config, DType dtype) {
    }

    static ModelConfig config(String arch, String act, float threshold) {
        boolean qwen = arch.equals("qwen2");
        return new ModelConfig(arch, 64, 128, 2, 4, 2, 16, 256, 64, qwen ? 1e-6f : 1e-5f, qwen ? 1e6f : 1e4f, null,
                act, threshold, qwen, qwen, 0, 1, 2);
    }

    static final List<Variant> VARIANTS = List.of(
            // relu + fatrelu_threshold T (transformers runs ReLU and ignores T; see the script)
            new Variant("export_llama_fatrelu_f32", config("llama", "fatrelu", T), DType.F32),
            new Variant("export_llama_relu2_bf16", config("llama", "relu2", 0f), DType.BF16),
            // tied embeddings (no lm_head.weight in the file), q/k/v biases
            new Variant("export_qwen2_silu_tied_bf16", config("qwen2", "silu", 0f), DType.BF16));

    /** make_llama_goldens.py's scale_of: (scale, offset) by tensor name. */
    static double[] scaleOf(String name, ModelConfig c) {
        if (name.endsWith("norm.weight")) {
            return new double[] {0.25, 1.0};
        }
        if (name.contains("embed_tokens")) {
            return new double[] {c.tieWordEmbeddings() ? 0.125 : 1.0, 0.0};
        }
        if (name.contains("lm_head")) {
            return new double[] {0.125, 0.0};
        }
        if (name.contains("down_proj")) {
            return new double[] {0.0625, 0.0};
        }
        return new double[] {0.125, 0.0};
    }

    /** The variant's weights as trainer parameters. */
    static LlamaParams params(Variant v, Arena arena) {
        MapWeights w = new MapWeights("golden/" + v.name());
        for (Map.Entry<String, int[]> e : LlamaParams.shapes(v.config()).entrySet()) {
            int n = 1;
            for (int d : e.getValue()) {
                n *= d;
            }
            double[] so = scaleOf(e.getKey(), v.config());
            w.put(Tensor.f32(e.getKey(), GoldenWeights.generate(e.getKey(), n, so[0], so[1], SEED), e.getValue()));
        }
        return LlamaParams.copyOf(LlamaWeights.load(v.config(), w), v.config(), arena);
    }

    /** Writes the variant's folder (model.safetensors, config.json) to {@code dir}. */
    static void write(Variant v, Path dir) {
        try (Arena arena = Arena.ofConfined()) {
            HfExport.write(dir, params(v, arena), v.config(), v.dtype(), List.of());
        }
    }

    public static void main(String[] args) {
        Path out = Path.of(args.length > 0 ? args[0] : "export-golden-models");
        for (Variant v : VARIANTS) {
            write(v, out.resolve(v.name()));
            System.out.println("wrote " + out.resolve(v.name()));
        }
    }
}
