package dev.sparsa.io.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * SentencePiece BPE as llama.cpp encodes it ({@code llm_tokenizer_spm_session::tokenize}): start from one symbol per
 * char; repeatedly merge the adjacent pair whose concatenation is a vocabulary piece with the highest score (leftmost
 * on ties); finally emit each symbol's id, or its UTF-8 bytes as {@code <0xXX>} tokens when it is not a piece
 * (byte fallback). Used for GGUF {@code tokenizer.ggml.model = "llama"}.
 */
final class Spm extends Model {
    private final float[] scores;
    private final int[] byteIds;
    private final int unkId;

    Spm(Map<String, Integer> vocab, String[] idToToken, float[] scores, int unkId) {
        super(vocab, idToToken);
        this.scores = scores;
        this.unkId = unkId;
        this.byteIds = byteFallbackIds();
    }

    /** llama.cpp {@code llm_bigram_spm}: queue order is higher score first, then smaller left index. */
    private record Bigram(int left, int right, float score, int size) {
    }

    @Override
    void tokenize(String text, Ids out) {
        if (text.isEmpty()) {
            return;
        }
        int n = text.codePointCount(0, text.length());
        int[] start = new int[n];
        int[] len = new int[n]; // UTF-16 length; 0 = merged away
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0, off = 0; i < n; i++) {
            int c = text.codePointAt(off);
            start[i] = off;
            len[i] = Character.charCount(c);
            off += len[i];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>(Math.max(1, n), (a, b) -> {
            int c = Float.compare(b.score, a.score);
            return c != 0 ? c : Integer.compare(a.left, b.left);
        });
        for (int i = 1; i < n; i++) {
            tryAdd(text, start, len, i - 1, i, queue);
        }
        while (!queue.isEmpty()) {
            Bigram bg = queue.poll();
            int l = bg.left;
            int r = bg.right;
            // Skip if either side was merged since (llama.cpp compares the combined length).
            if (len[l] == 0 || len[r] == 0 || len[l] + len[r] != bg.size || next[l] != r) {
                continue;
            }
            len[l] += len[r];
            len[r] = 0;
            next[l] = next[r];
            if (next[r] >= 0) {
                prev[next[r]] = l;
            }
            tryAdd(text, start, len, prev[l], l, queue);
            tryAdd(text, start, len, l, next[l], queue);
        }
        for (int i = 0; i >= 0; i = next[i]) {
            String piece = text.substring(start[i], start[i] + len[i]);
            Integer id = vocab.get(piece);
            if (id != null) {
                out.add(id);
                continue;
            }
            // llama.cpp resegment(): a symbol that is no piece can only be a single char here (merges always form
            // pieces), so its bytes are emitted.
            for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                int bid = byteIds[b & 0xFF];
                out.add(bid >= 0 ? bid : unkId);
            }
        }
    }

    private void tryAdd(String text, int[] start, int[] len, int left, int right, PriorityQueue<Bigram> queue) {
        if (left < 0 || right < 0) {
            return;
        }
        String s = text.substring(start[left], start[left] + len[left] + len[right]);
        Integer id = vocab.get(s);
        if (id == null || id >= scores.length) {
            return;
        }
        queue.add(new Bigram(left, right, scores[id], s.length()));
    }
}
