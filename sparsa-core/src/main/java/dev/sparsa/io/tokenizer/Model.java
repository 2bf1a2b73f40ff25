package dev.sparsa.io.tokenizer;

import java.util.Map;

/**
 * tokenizer.json {@code model} (HF tokenizers {@code models::*}): one pre-tokenized word → token ids. Holds the
 * vocabulary every model has (token → id and its inverse) and the lookups built on it.
 */
abstract sealed class Model permits Bpe, WordPiece, Spm {
    /** token → id; read directly by the subclasses' hot loops. */
    final Map<String, Integer> vocab;
    private final String[] idToToken;

    /** @param idToToken the inverse of {@code vocab}, or null to build it */
    Model(Map<String, Integer> vocab, String[] idToToken) {
        this.vocab = vocab;
        this.idToToken = idToToken != null ? idToToken : invert(vocab);
    }

    /** Appends the ids of {@code word} to {@code out}. */
    abstract void tokenize(String word, Ids out);

    /** token → id of the model's own vocabulary. */
    final Map<String, Integer> vocab() {
        return vocab;
    }

    /** The token of {@code id}, or null if the model has no such id. */
    final String idToToken(int id) {
        return id >= 0 && id < idToToken.length ? idToToken[id] : null;
    }

    /** Largest id + 1. */
    final int size() {
        return idToToken.length;
    }

    /** byte → id of its byte-fallback token {@code <0xXX>}, or -1 where the vocabulary has none. */
    final int[] byteFallbackIds() {
        int[] ids = new int[256];
        for (int b = 0; b < 256; b++) {
            ids[b] = vocab.getOrDefault(String.format("<0x%02X>", b), -1);
        }
        return ids;
    }

    /** The unk token's id; a FormatException naming {@code source} when the vocabulary lacks it. */
    final int unkId(String unk, Object source) {
        Integer u = vocab.get(unk);
        if (u == null) {
            throw dev.sparsa.SparsaException.FormatException.of(source,
                    "model.unk_token \"" + unk + "\" is not in model.vocab");
        }
        return u;
    }

    private static String[] invert(Map<String, Integer> vocab) {
        int max = -1;
        for (int id : vocab.values()) {
            max = Math.max(max, id);
        }
        String[] inv = new String[max + 1];
        vocab.forEach((t, id) -> inv[id] = t);
        return inv;
    }
}
