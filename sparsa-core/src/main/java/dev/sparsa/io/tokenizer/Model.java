package dev.sparsa.io.tokenizer;

import java.util.Map;

/** tokenizer.json {@code model} (HF tokenizers {@code models::*}): one pre-tokenized word → token ids. */
sealed interface Model permits Bpe, WordPiece, Spm {

    /** Appends the ids of {@code word} to {@code out}. */
    void tokenize(String word, Ids out);

    /** token → id of the model's own vocabulary. */
    Map<String, Integer> vocab();

    /** The token of {@code id}, or null if the model has no such id. */
    String idToToken(int id);

    /** Largest id + 1. */
    int size();
}
