package dev.sparsa.io;

import dev.sparsa.spec.ModelConfig;
import dev.sparsa.spec.RopeStyle;
import dev.sparsa.tensor.Tensor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A Llama-family GGUF file seen with Hugging Face tensor names. Every tensor is a zero-copy view of the mapped file,
 * as stored: for the llama architecture the rows of q_proj / k_proj (weights and biases) stay in llama.cpp's
 * interleaved order ({@link #ropeStyle()} = {@link RopeStyle#INTERLEAVED}; see {@link LlamaGguf}), and the model
 * applies RoPE to adjacent pairs, as llama.cpp does for {@code LLM_ARCH_LLAMA} — no un-permuted copy, so all weights
 * are one kind of {@code MemorySegment}. {@link LlamaGguf#toHfLayout} gives the Hugging Face order where needed.
 * GGUF tensors without an HF name (e.g. {@code rope_freqs.weight}) keep their GGUF name.
 */
public final class GgufHfWeights extends IndexedWeights<String> {
    private final GgufFile gguf;
    private final RopeStyle ropeStyle;

    public GgufHfWeights(GgufFile gguf, ModelConfig config) {
        super(gguf.path(), hfToGguf(gguf));
        this.gguf = gguf;
        this.ropeStyle = LlamaGguf.permutes(LlamaGguf.ggufArch(config.architecture())) ? RopeStyle.INTERLEAVED
                : RopeStyle.HALF;
    }

    /** HF name (or the GGUF name where there is none) → GGUF name, in file order. */
    private static Map<String, String> hfToGguf(GgufFile gguf) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String g : gguf.names()) {
            String hf = LlamaGguf.toHf(g);
            m.put(hf != null ? hf : g, g);
        }
        return Collections.unmodifiableMap(m);
    }

    public GgufFile gguf() {
        return gguf;
    }

    /** The GGUF info of an HF-named tensor (shape and dtype are the same in both layouts), or null. */
    public GgufFile.TensorInfo info(String hfName) {
        String g = indexed(hfName);
        return g == null ? null : gguf.info(g);
    }

    /** INTERLEAVED for the llama architecture (q/k rows as llama.cpp's converter permuted them), else HALF. */
    @Override
    public RopeStyle ropeStyle() {
        return ropeStyle;
    }

    @Override
    protected Tensor tensor(String name, String g) {
        Tensor t = gguf.tensor(g);
        return new Tensor(name, t.dtype(), t.shape(), t.data());
    }

    @Override
    public Map<String, Object> metadata() {
        return gguf.metadata();
    }

    @Override
    public void close() {
        gguf.close();
    }
}
