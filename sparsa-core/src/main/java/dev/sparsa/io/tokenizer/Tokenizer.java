package dev.sparsa.io.tokenizer;

/**
 * Text ↔ token ids. Implementations: byte-level BPE (GPT-2 / Llama-3 / Qwen), SentencePiece-style BPE with byte
 * fallback (Llama-2 / Mistral), WordPiece (BERT); built from tokenizer.json or GGUF {@code tokenizer.ggml.*}.
 */
public interface Tokenizer {

    /** Token ids of {@code text}; with {@code addSpecial} the model's BOS/CLS/SEP as its post-processor says. */
    int[] encode(String text, boolean addSpecial);

    /** Text of {@code ids}; special tokens are dropped when {@code skipSpecial}. */
    String decode(int[] ids, boolean skipSpecial);

    /** Vocabulary size (largest id + 1). */
    int vocabSize();

    /** The token's string as the vocabulary stores it (for display). */
    String token(int id);

    /** Id of BOS, or -1 if the model has none. */
    int bosId();

    /** Id of EOS, or -1. */
    int eosId();

    boolean isSpecial(int id);
}
