package dev.sparsa.io;

import dev.sparsa.SparsaException.FormatException;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.spec.RopeStyle;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Writes a Llama-family model (any {@link ModelFiles}) as a GGUF file llama.cpp loads: its hyper-parameter keys
 * ({@link LlamaGguf#hyperParameters}), {@code general.file_type}, the vocabulary ({@link GgufVocab}, or the
 * source GGUF's {@code tokenizer.ggml.*} keys), and the tensors under GGUF names with Q/K rows permuted for the
 * llama architecture (from a source already in that order, {@link WeightSource#ropeStyle()} INTERLEAVED — a llama
 * GGUF — they are copied in order). 1-D tensors (norms, biases) stay F32 as llama.cpp requires; matrices take the
 * requested type, falling back to F16 when a row is not a whole number of quantization blocks. llama3 RoPE scaling is
 * written as {@code rope_freqs.weight}, as llama.cpp's converter does. One converted tensor is in memory at a time.
 */
public final class GgufExport {
    private GgufExport() {
    }

    /** llama.cpp {@code enum llama_ftype} for a whole-model type. */
    public static int fileType(DType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 7;
            case BF16 -> 32;
        };
    }

    public static void write(ModelFiles model, Path out, DType type, Consumer<String> log) {
        ModelConfig c = model.config();
        String arch = LlamaGguf.ggufArch(c.architecture());
        GgufWriter w = new GgufWriter();
        w.put("general.architecture", GgufValue.str(arch));
        String name = model.location().toAbsolutePath().normalize().getFileName() == null ? "model"
                : model.location().toAbsolutePath().normalize().getFileName().toString().replaceFirst("\\.gguf$", "");
        w.put("general.name", GgufValue.str(name));
        w.put("general.file_type", GgufValue.u32(fileType(type)));
        if (type.quantized()) {
            w.put("general.quantization_version", GgufValue.u32(2));
        }
        LlamaGguf.hyperParameters(c).forEach(w::put);
        tokenizer(model).forEach(w::put);

        // Q/K rows: GGUF llama wants them interleaved (llama.cpp's NORM RoPE), qwen2 in HF order (NEOX).
        boolean fromInterleaved = model.weights().ropeStyle() == RopeStyle.INTERLEAVED;
        boolean toInterleaved = LlamaGguf.permutes(arch);
        Map<String, int[]> wanted = ModelFiles.decoderTensors(c);
        int total = wanted.size() + (c.ropeScaling() != null ? 1 : 0);
        int[] done = {0};
        for (String hf : wanted.keySet()) {
            String g = LlamaGguf.toGguf(hf);
            ModelFiles.TensorMeta tm = model.describe(hf);
            int[] shape = tm.shape();
            int cols = shape.length == 0 ? 1 : shape[shape.length - 1];
            DType to = shape.length < 2 ? DType.F32 : cols % type.blockSize() == 0 ? type : DType.F16;
            int heads = fromInterleaved == toInterleaved ? 0 : LlamaGguf.qkHeads(hf, c);
            w.add(g, to, shape, () -> {
                done[0]++;
                if (log != null) {
                    log.accept("[" + done[0] + "/" + total + "] " + g + " " + to + java.util.Arrays.toString(shape)
                            + (to != type && shape.length >= 2 ? " (row length " + cols + " is not a multiple of "
                            + type.blockSize() + ")" : ""));
                }
                return convert(model.weights().tensor(hf), to, heads, toInterleaved);
            });
        }
        if (c.ropeScaling() != null) {
            float[] f = LlamaGguf.llama3RopeFactors(c);
            Tensor rf = Tensor.f32("rope_freqs.weight", f, f.length);
            w.add(rf.name(), DType.F32, rf.shape(), () -> {
                done[0]++;
                if (log != null) {
                    log.accept("[" + done[0] + "/" + total + "] rope_freqs.weight F32[" + f.length + "]");
                }
                return rf.data();
            });
        }
        w.write(out, null);
    }

    /**
     * {@code t} in dtype {@code to}, rows (or, for 1-D, elements) permuted over {@code heads} if > 0: HF → GGUF
     * (interleaved) if {@code hfToGguf}, else back.
     */
    static MemorySegment convert(Tensor t, DType to, int heads, boolean hfToGguf) {
        boolean vector = t.rank() < 2;
        int cols = vector ? (int) t.numel() : t.cols();
        int rows = vector ? 1 : (cols == 0 ? 0 : t.rows());
        long outRow = to.bytesFor(cols);
        MemorySegment dst = Arena.ofAuto().allocate(Math.max(1, outRow * rows), 64).asSlice(0, outRow * rows);
        float[] buf = new float[cols];
        if (vector) {
            Quantize.decode(t.data(), 0, t.dtype(), cols, buf, 0);
            if (heads > 0) {
                int[] perm = LlamaGguf.rowPermutation(cols, heads, hfToGguf);
                float[] p = new float[cols];
                for (int i = 0; i < cols; i++) {
                    p[i] = buf[perm[i]];
                }
                buf = p;
            }
            Quantize.encode(buf, 0, cols, to, dst, 0);
            return dst;
        }
        int[] perm = heads > 0 ? LlamaGguf.rowPermutation(rows, heads, hfToGguf) : null;
        for (int r = 0; r < rows; r++) {
            int src = perm == null ? r : perm[r];
            Quantize.decode(t.data(), src * t.rowBytes(), t.dtype(), cols, buf, 0);
            Quantize.encode(buf, 0, cols, to, dst, r * outRow);
        }
        return dst;
    }

    private static Map<String, GgufValue> tokenizer(ModelFiles model) {
        if (model.tokenizerJson() != null) {
            return GgufVocab.fromTokenizerJson(model.tokenizerJson(), model.config());
        }
        if (model.weights() instanceof GgufHfWeights g) {
            Map<String, GgufValue> m = new LinkedHashMap<>();
            g.gguf().typedMetadata().forEach((k, v) -> {
                if (k.startsWith("tokenizer.")) {
                    m.put(k, v);
                }
            });
            if (!m.isEmpty()) {
                return m;
            }
        }
        throw FormatException.of(model.location(), "no " + ModelFiles.TOKENIZER
                + " (a GGUF file needs the vocabulary)");
    }

}
