package dev.sparsa.eval;

import dev.sparsa.SparsaException;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.spec.ModelConfig;

/**
 * The EOS id that ends each document, and where it came from. Order: an explicit id ({@code --eos-id}); the model's
 * {@code eos_token_id} (config.json, its first entry when a list; for a GGUF {@code tokenizer.ggml.eos_token_id});
 * the tokenizer's EOS ({@code tokenizer_config.json eos_token}, else a well-known token such as {@code </s>} or
 * {@code <|endoftext|>}).
 */
public record EosToken(int id, String source) {

    /**
     * @param explicit  the id given by the user, or null
     * @param gguf      whether the config came from GGUF metadata (only changes the source's name)
     * @param tok       the tokenizer, or null
     * @param location  the model, for the error message
     */
    public static EosToken resolve(Integer explicit, ModelConfig cfg, boolean gguf, Tokenizer tok, Object location) {
        EosToken e;
        if (explicit != null) {
            e = new EosToken(explicit, "--eos-id");
        } else if (cfg.eosTokenId() >= 0) {
            e = new EosToken(cfg.eosTokenId(), gguf ? "tokenizer.ggml.eos_token_id" : "config.json eos_token_id");
        } else if (tok != null && tok.eosId() >= 0) {
            e = new EosToken(tok.eosId(), "the tokenizer's EOS token");
        } else {
            throw new SparsaException.UsageException(location + ": no EOS token id (no "
                    + (gguf ? "tokenizer.ggml.eos_token_id" : "config.json eos_token_id")
                    + ", and the tokenizer names no EOS token); pass --eos-id N");
        }
        if (e.id < 0 || e.id >= cfg.vocabSize()) {
            throw new SparsaException.UsageException(location + ": EOS id " + e.id + " (" + e.source
                    + ") is outside the model's vocabulary [0, " + cfg.vocabSize() + ")");
        }
        return e;
    }
}
