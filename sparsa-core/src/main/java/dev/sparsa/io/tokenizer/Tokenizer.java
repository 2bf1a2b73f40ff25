package dev.sparsa.io.tokenizer;

/**
 * Text ↔ token ids. Implementations: byte-level BPE (GPT-2 / Llama-3 / Qwen), SentencePiece-style BPE with byte
 * fallback (Llama-2 / Mistral), WordPiece (BERT); built from tokenizer.json ({@link TokenizerJson#load}) or GGUF
 * {@code tokenizer.ggml.*} ({@link GgufTokenizer#fromMetadata}).
 *
 * <p>Ids equal those of Hugging Face tokenizers for the same tokenizer.json (special tokens written in the text,
 * like {@code <s>}, are recognised as such). Byte-level and byte-fallback tokenizers are lossless:
 * {@code decode(encode(s, false), false)} gives {@code s} back (after the file's normalizer, e.g. Qwen's NFC),
 * except that an unpaired UTF-16 surrogate, which UTF-8 cannot hold, comes back as U+FFFD. Instances are immutable
 * (apart from an internal cache) and safe to share between threads.
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
