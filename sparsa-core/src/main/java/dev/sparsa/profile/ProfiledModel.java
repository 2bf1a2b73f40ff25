package dev.sparsa.profile;

import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.model.ActivationTap;

/**
 * The small view of a model the profiler needs (docs/ARCHITECTURE.md §2, §6): run one window of token ids with an
 * {@link ActivationTap}, and expose the FFN shape and the down-projection columns d_i (for CETT's m_i = |h_i|·‖d_i‖).
 * Adapters wrap the real architectures (BERT encoder, Llama decoder); the profiler never sees their internals.
 */
public interface ProfiledModel {

    /** Display name (e.g. {@code all-MiniLM-L6-v2}). */
    String name();

    /** Decoders return per-token NLL; encoders return a sentence embedding. */
    boolean isDecoder();

    /**
     * FFN activation name as in config.json ({@code gelu}, {@code silu}, {@code relu}, {@code relu2}, ...), reported
     * as it is; what function it names is decided by {@link dev.sparsa.model.Activation#of}.
     */
    String activation();

    int numLayers();

    /** D, the length of the FFN input x. */
    int hiddenSize();

    /** F, the length of h. */
    int intermediateSize();

    /** Content tokens per window (special tokens the adapter adds come on top). */
    int contextLength();

    Tokenizer tokenizer();

    /** The EOS id that ends each document of a decoder's evaluation windows ({@link Windows#decoder}), or -1. */
    default int eosId() {
        return tokenizer() == null ? -1 : tokenizer().eosId();
    }

    /**
     * The down-projection columns of layer ℓ, F × D row-major: row i is d_i (so {@code y = Σ_i h_i d_i}).
     * Returned arrays are not modified by the caller.
     */
    float[] downColumns(int layer);

    /**
     * Runs one window of content token ids (without special tokens; the adapter adds BOS / CLS / SEP as the model
     * needs) and calls {@code tap} for every layer and position it computes.
     */
    Output forward(int[] ids, ActivationTap tap);

    /** What one window produces. */
    sealed interface Output {
        /** Decoder: negative log-likelihood (nats) of each predicted token of the window. */
        record Nll(double[] nll) implements Output {
        }

        /** Encoder: the sentence embedding (pooled as the model does it). */
        record Embedding(float[] vector) implements Output {
        }
    }
}
