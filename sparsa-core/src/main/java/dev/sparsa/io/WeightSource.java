package dev.sparsa.io;

import dev.sparsa.spec.RopeStyle;
import dev.sparsa.tensor.Tensor;

import java.util.Collection;
import java.util.Map;

/**
 * A set of named tensors backed by one or more files (safetensors, sharded safetensors, GGUF, ONNX
 * initializers). Tensors are views over mmap'd memory that stays valid until {@link #close()}.
 */
public interface WeightSource extends AutoCloseable {

    /** Where the weights come from (file or directory), for messages. */
    String location();

    /** All tensor names, in file order. */
    Collection<String> names();

    boolean contains(String name);

    /** The tensor; a {@link dev.sparsa.SparsaException.FormatException} naming the file if it is missing. */
    Tensor tensor(String name);

    /**
     * The RoPE pairing the rows of each head of {@code self_attn.q_proj} / {@code k_proj} (weights and biases) are
     * ordered for: {@link RopeStyle#HALF} (Hugging Face layout, the default) or {@link RopeStyle#INTERLEAVED} (a
     * llama-architecture GGUF file as stored). A model must apply RoPE in this style.
     */
    default RopeStyle ropeStyle() {
        return RopeStyle.HALF;
    }

    /** Format-level metadata (safetensors {@code __metadata__}, GGUF key/values), possibly empty. */
    Map<String, Object> metadata();

    @Override
    void close();
}
