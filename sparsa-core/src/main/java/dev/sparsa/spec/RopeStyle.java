package dev.sparsa.spec;

/**
 * Which dimensions of a head RoPE rotates together, i.e. how the rows of q_proj / k_proj of each head are ordered.
 * Both rotate pair i (0 ≤ i &lt; headDim/2) by {@code pos · invFreq[i]}; they differ only in where the pair sits.
 * llama.cpp names the two {@code LLAMA_ROPE_TYPE_NEOX} and {@code LLAMA_ROPE_TYPE_NORM} ({@code llama_model_rope_type}
 * in llama-model.cpp: llama and its kin are NORM, qwen2 is NEOX), ggml's {@code ggml_rope_cache_init} giving pair
 * i = i0/2 the angle {@code pos · θ^(−2i/d) / freq_factors[i]} in both.
 */
public enum RopeStyle {
    /**
     * Hugging Face "rotate_half" (GPT-NeoX, llama.cpp NEOX): the pair of dimension i is i + headDim/2. The layout of
     * every HF checkpoint and of llama.cpp's qwen2 GGUF files.
     */
    HALF,
    /**
     * Adjacent pairs (2i, 2i+1) (GPT-J, the original Meta Llama code, llama.cpp NORM). The layout of llama.cpp's
     * llama-architecture GGUF files, whose converter permuted the q/k rows of each head from HF's HALF order to this
     * one (GGUF row {@code 2i + j} = HF row {@code j·d/2 + i}; see {@code dev.sparsa.io.LlamaGguf}).
     */
    INTERLEAVED
}
