package dev.sparsa.io.tokenizer;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * HF tokenizers {@code models::bpe::BPE}. A word starts as one symbol per char (its id from the vocab; unknown
 * chars become byte-fallback tokens {@code <0xXX>}, else the unk token, fused when {@code fuse_unk}), then the
 * adjacent pair with the lowest merge rank is merged, leftmost first on ties, until no pair has a merge
 * ({@code Word::merge_all}). A min-heap of (rank, position) over a linked list of symbols keeps this
 * O(n log n) per word; stale heap entries are skipped when popped.
 */
final class Bpe extends Model {
    private static final long NO_MERGE = -1L;
    private static final int CACHE_MAX_ENTRIES = 200_000;
    private static final int CACHE_MAX_WORD = 256;

    /** (left id, right id) → (rank << 32 | merged id). */
    private final LongLongMap merges;
    private final int unkId;
    private final boolean fuseUnk;
    private final boolean byteFallback;
    /** byte → id of "<0xXX>", or -1. */
    private final int[] byteIds;
    private final String prefix;
    private final String suffix;
    private final boolean ignoreMerges;
    /** word → ids. Shared by threads; cleared when it grows past its bound. */
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * @param merges pairs in rank order
     * @param source file name for error messages
     */
    Bpe(Map<String, Integer> vocab, List<String[]> merges, String unk, boolean fuseUnk, boolean byteFallback,
            String continuingSubwordPrefix, String endOfWordSuffix, boolean ignoreMerges, Object source) {
        super(vocab, null);
        this.fuseUnk = fuseUnk;
        this.byteFallback = byteFallback;
        this.prefix = continuingSubwordPrefix == null || continuingSubwordPrefix.isEmpty() ? null
                : continuingSubwordPrefix;
        this.suffix = endOfWordSuffix == null || endOfWordSuffix.isEmpty() ? null : endOfWordSuffix;
        this.ignoreMerges = ignoreMerges;
        this.unkId = unk != null ? unkId(unk, source) : -1;
        this.byteIds = byteFallbackIds();
        this.merges = new LongLongMap(merges.size());
        int prefixLen = prefix == null ? 0 : prefix.length();
        for (int rank = 0; rank < merges.size(); rank++) {
            String[] m = merges.get(rank);
            Integer a = vocab.get(m[0]);
            Integer b = vocab.get(m[1]);
            if (a == null || b == null) {
                throw dev.sparsa.SparsaException.FormatException.of(source, "model.merges[" + rank + "] \""
                        + m[0] + " " + m[1] + "\": " + (a == null ? m[0] : m[1]) + " is not in model.vocab");
            }
            // HF: the merged token drops the right part's continuing-subword prefix.
            String right = prefix != null && m[1].startsWith(prefix) ? m[1].substring(prefixLen) : m[1];
            Integer merged = vocab.get(m[0] + right);
            if (merged == null) {
                throw dev.sparsa.SparsaException.FormatException.of(source, "model.merges[" + rank + "] \""
                        + m[0] + " " + m[1] + "\": the merged token is not in model.vocab");
            }
            this.merges.put(LongLongMap.pair(a, b), ((long) rank << 32) | merged);
        }
    }

    @Override
    void tokenize(String word, Ids out) {
        if (word.isEmpty()) {
            return;
        }
        if (ignoreMerges) { // HF: a word that is a token as a whole is emitted as is (Llama-3)
            Integer id = vocab.get(word);
            if (id != null) {
                out.add(id);
                return;
            }
        }
        int[] hit = cache.get(word);
        if (hit != null) {
            out.addAll(hit);
            return;
        }
        int[] ids = mergeWord(word);
        if (word.length() <= CACHE_MAX_WORD) {
            if (cache.size() >= CACHE_MAX_ENTRIES) {
                cache.clear();
            }
            cache.put(word, ids);
        }
        out.addAll(ids);
    }

    /** HF {@code BPE::merge_word} + {@code Word::merge_all} (without dropout). */
    private int[] mergeWord(String w) {
        int cap = w.length() + 4;
        int[] sym = new int[cap];
        int n = 0;
        int pendingUnk = -1; // HF keeps one pending unk so that fuse_unk can grow it
        for (int i = 0; i < w.length(); ) {
            int cp = w.codePointAt(i);
            int end = i + Character.charCount(cp);
            String s = w.substring(i, end);
            if (i > 0 && prefix != null) {
                s = prefix + s;
            }
            if (end == w.length() && suffix != null) {
                s = s + suffix;
            }
            i = end;
            Integer id = vocab.get(s);
            if (id != null) {
                if (pendingUnk >= 0) {
                    sym = push(sym, n++, pendingUnk);
                    pendingUnk = -1;
                }
                sym = push(sym, n++, id);
                continue;
            }
            if (byteFallback) {
                byte[] bytes = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                boolean all = true;
                for (byte b : bytes) {
                    all &= byteIds[b & 0xFF] >= 0;
                }
                if (all) {
                    // HF pushes the byte tokens without flushing a pending unk first; it lands after them.
                    for (byte b : bytes) {
                        sym = push(sym, n++, byteIds[b & 0xFF]);
                    }
                    continue;
                }
            }
            if (unkId >= 0) {
                if (pendingUnk >= 0 && !fuseUnk) {
                    sym = push(sym, n++, pendingUnk);
                }
                pendingUnk = unkId;
            }
            // No unk token and no byte fallback: HF drops the char.
        }
        if (pendingUnk >= 0) {
            sym = push(sym, n++, pendingUnk);
        }
        if (n < 2) {
            return java.util.Arrays.copyOf(sym, n);
        }
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] gone = new boolean[n];
        LongHeap heap = new LongHeap(n);
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            if (i + 1 < n) {
                long m = merges.get(LongLongMap.pair(sym[i], sym[i + 1]), NO_MERGE);
                if (m != NO_MERGE) {
                    heap.push((m & 0xFFFFFFFF00000000L) | i);
                }
            }
        }
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int rank = (int) (top >>> 32);
            int pos = (int) top;
            if (gone[pos] || next[pos] < 0) {
                continue;
            }
            int right = next[pos];
            long m = merges.get(LongLongMap.pair(sym[pos], sym[right]), NO_MERGE);
            if (m == NO_MERGE || (int) (m >>> 32) != rank) {
                continue; // stale: this pair changed since it was queued
            }
            sym[pos] = (int) m;
            gone[right] = true;
            next[pos] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = pos;
            }
            if (prev[pos] >= 0) {
                long pm = merges.get(LongLongMap.pair(sym[prev[pos]], sym[pos]), NO_MERGE);
                if (pm != NO_MERGE) {
                    heap.push((pm & 0xFFFFFFFF00000000L) | prev[pos]);
                }
            }
            if (next[pos] >= 0) {
                long nm = merges.get(LongLongMap.pair(sym[pos], sym[next[pos]]), NO_MERGE);
                if (nm != NO_MERGE) {
                    heap.push((nm & 0xFFFFFFFF00000000L) | pos);
                }
            }
        }
        Ids out = new Ids(n);
        for (int i = 0; i >= 0; i = next[i]) {
            out.add(sym[i]);
        }
        return out.toArray();
    }

    private static int[] push(int[] a, int at, int v) {
        if (at == a.length) {
            a = java.util.Arrays.copyOf(a, a.length * 2);
        }
        a[at] = v;
        return a;
    }
}
