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

    /**
     * UTF-8 bytes that token {@code id} stands for in decoded text, as it would decode in the middle of a sequence:
     * a byte-level token one byte per table char (so the pieces of a multi-byte character split over tokens count
     * their own bytes), a byte-fallback token {@code <0xXX>} one byte, a SentencePiece piece its text with ▁ as one
     * space, an added token its content through the decoder. Effects on a whole text (the prefix space a
     * SentencePiece normalizer adds and its decoder strips, a normalizer that changes lengths) are not included;
     * {@code dev.sparsa.eval.TokenStream} settles them per document. 0 for an id the vocabulary lacks.
     *
     * <p>The default decodes the token alone, which is right for tokenizers whose tokens are whole characters.
     */
    default int tokenBytes(int id) {
        return decode(new int[] {id}, false).getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    }
}
