package dev.sparsa.io;

import dev.sparsa.SparsaException.FormatException;
import dev.sparsa.model.ModelConfig;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A Llama-family GGUF file seen with Hugging Face tensor names and layout. Tensors are zero-copy views, except
 * q_proj / k_proj (weights and biases) of the llama architecture, whose rows are un-permuted (see
 * {@link LlamaGguf}) into a copy made on first request and kept until {@link #close()}. GGUF tensors without an
 * HF name (e.g. {@code rope_freqs.weight}) keep their GGUF name.
 */
public final class GgufHfWeights extends IndexedWeights<String> {
    private final GgufFile gguf;
    private final ModelConfig config;
    private final boolean permuted;
    private final Map<String, Tensor> copies = new ConcurrentHashMap<>();
    private final Arena arena = Arena.ofShared();

    public GgufHfWeights(GgufFile gguf, ModelConfig config) {
        super(gguf.path(), hfToGguf(gguf));
        this.gguf = gguf;
        this.config = config;
        this.permuted = LlamaGguf.permutes(LlamaGguf.ggufArch(config.architecture()));
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

    @Override
    protected Tensor tensor(String name, String g) {
        Tensor t = gguf.tensor(g);
        int heads = permuted ? LlamaGguf.permuteHeads(name, config) : 0;
        if (heads == 0) {
            return new Tensor(name, t.dtype(), t.shape(), t.data());
        }
        return copies.computeIfAbsent(name, n -> unpermute(n, t, heads));
    }

    private Tensor unpermute(String name, Tensor t, int heads) {
        // A 1-D bias permutes element by element, a matrix row by row.
        boolean bias = t.rank() == 1;
        if (bias && t.dtype().quantized()) {
            throw FormatException.of(gguf.path(), "tensor " + name + " is a block-quantized 1-D tensor");
        }
        int rows = bias ? t.shape()[0] : t.rows();
        long rowBytes = bias ? t.dtype().bytesFor(1) : t.rowBytes();
        if (rows % (2 * heads) != 0) {
            throw FormatException.of(gguf.path(), "tensor " + name + " has " + rows + " rows, not a multiple of 2 × "
                    + heads + " heads");
        }
        MemorySegment dst;
        synchronized (arena) {
            dst = arena.allocate(Math.max(1, t.data().byteSize()), 64).asSlice(0, t.data().byteSize());
        }
        LlamaGguf.permuteRows(t.data(), dst, rowBytes, LlamaGguf.rowPermutation(rows, heads, false));
        return new Tensor(name, t.dtype(), t.shape(), dst);
    }

    @Override
    public Map<String, Object> metadata() {
        return gguf.metadata();
    }

    @Override
    public void close() {
        try {
            gguf.close();
        } finally {
            if (arena.scope().isAlive()) {
                arena.close();
            }
        }
    }
}
