package dev.sparsa.io.tokenizer;

import java.util.Map;

/**
 * HF tokenizers {@code models::wordpiece::WordPiece}: greedy longest-match-first from the left; pieces after the
 * first carry the continuing-subword prefix ("##"). A word longer than {@code max_input_chars_per_word} chars, or
 * one with any part that matches nothing, becomes the single unk token.
 */
final class WordPiece extends Model {
    private final int unkId;
    private final String prefix;
    private final int maxChars;

    WordPiece(Map<String, Integer> vocab, String unk, String prefix, int maxChars, Object source) {
        super(vocab, null);
        this.unkId = unkId(unk, source);
        this.prefix = prefix;
        this.maxChars = maxChars;
    }

    @Override
    void tokenize(String word, Ids out) {
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
