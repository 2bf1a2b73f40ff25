package dev.sparsa.train;

import dev.sparsa.SparsaException;
import dev.sparsa.spec.ModelConfig;

import java.util.List;

/** Named model shapes for from-scratch training ({@code sparsa pretrain --config NAME}). */
public final class Presets {
    private Presets() {
    }

    /** The names {@link #of} knows. */
    public static final List<String> NAMES = List.of("tiny-llama", "micro-llama");

    /**
     * The project's reference shape: vocab 4096, hidden 256, 4 layers, 8 heads / 4 KV heads (head dim 32), FFN 768,
     * SwiGLU, context 256, RoPE θ 10000, RMSNorm ε 1e-5, untied embeddings (5.2 M parameters); BOS = EOS = id 0
     * (the {@code <|endoftext|>} of {@code sparsa tokenizer train}).
     */
    public static ModelConfig tinyLlama() {
        return new ModelConfig("llama", 256, 768, 4, 8, 4, 32, 4096, 256, 1e-5f, 10000f, null, "silu", 0f, false,
                false, 0, 0, 0);
    }

    /** A smaller shape for the demo and quick tests: hidden 128, 2 layers, 4 / 2 heads, FFN 384, vocab 4096. */
    public static ModelConfig microLlama() {
        return new ModelConfig("llama", 128, 384, 2, 4, 2, 32, 4096, 256, 1e-5f, 10000f, null, "silu", 0f, false,
                false, 0, 0, 0);
    }

    /** The preset of this name; a usage error listing the names otherwise. */
    public static ModelConfig of(String name) {
        return switch (name) {
            case "tiny-llama" -> tinyLlama();
            case "micro-llama" -> microLlama();
            default -> throw new SparsaException.UsageException("unknown model preset '" + name + "' (" + String.join(", ",
                    NAMES) + ", or a config.json)");
        };
    }
}
