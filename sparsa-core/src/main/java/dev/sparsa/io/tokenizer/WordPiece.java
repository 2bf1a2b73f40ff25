package dev.sparsa.io.tokenizer;

import java.util.Map;

/**
 * HF tokenizers {@code models::wordpiece::WordPiece}: greedy longest-match-first from the left; pieces after the
 * first carry the continuing-subword prefix ("##"). A word longer than {@code max_input_chars_per_word} chars, or
 * one with any part that matches nothing, becomes the single unk token.
 */
final class WordPiece implements Model {
    private final Map<String, Integer> vocab;
    private final String[] idToToken;
    private final int unkId;
    private final String prefix;
    private final int maxChars;

    WordPiece(Map<String, Integer> vocab, String unk, String prefix, int maxChars, Object source) {
        this.vocab = vocab;
        this.idToToken = Bpe.invert(vocab);
        Integer u = vocab.get(unk);
        if (u == null) {
            throw dev.sparsa.SparsaException.FormatException.of(source,
                    "model.unk_token \"" + unk + "\" is not in model.vocab");
        }
        this.unkId = u;
        this.prefix = prefix;
        this.maxChars = maxChars;
    }

    @Override
    public Map<String, Integer> vocab() {
        return vocab;
    }

    @Override
    public String idToToken(int id) {
        return id >= 0 && id < idToToken.length ? idToToken[id] : null;
    }

    @Override
    public int size() {
        return idToToken.length;
    }

    @Override
    public void tokenize(String word, Ids out) {
        if (word.isEmpty()) {
            return;
        }
        if (word.codePointCount(0, word.length()) > maxChars) {
            out.add(unkId);
            return;
        }
        int mark = out.size();
        Ids sub = new Ids(8);
        int start = 0;
        while (start < word.length()) {
            int end = word.length();
            int found = -1;
            while (start < end) {
                String s = word.substring(start, end);
                Integer id = vocab.get(start > 0 ? prefix + s : s);
                if (id != null) {
                    found = id;
                    break;
                }
                end -= Character.charCount(word.codePointBefore(end)); // drop the last char
            }
            if (found < 0) {
                out.add(unkId); // HF: the whole word is unk
                return;
            }
            sub.add(found);
            start = end;
        }
        assert out.size() == mark;
        out.addAll(sub.toArray());
    }
}
