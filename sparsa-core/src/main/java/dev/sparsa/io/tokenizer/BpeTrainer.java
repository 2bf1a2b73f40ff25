package dev.sparsa.io.tokenizer;

import dev.sparsa.SparsaException.UsageException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Trains a byte-level BPE tokenizer the way Hugging Face tokenizers does ({@code models::bpe::trainer::BpeTrainer}
 * behind a {@code ByteLevel} pre-tokenizer, as {@code ByteLevelBPETokenizer.train} sets it up), step for step:
 * <ol>
 *   <li>Each text (one document: a corpus line) is cut into words by the reader's own {@link PreTokenizer.ByteLevelPre}
 *       (add_prefix_space=false, the GPT-2 regex, bytes → GPT-2's table chars), so that training and encoding split
 *       text identically. Added tokens are not split out of training text (HF neither).</li>
 *   <li>Vocabulary ids: the special tokens first (id 0, 1, ...), then the 256 byte symbols in code-point order of
 *       their table chars ({@code !} = 0x21 first, U+0143 = byte 0xAD last), then each merged token in the order it
 *       is created.</li>
 *   <li>Every word is a sequence of byte symbols; pair counts are summed over words × word counts.</li>
 *   <li>Repeatedly the most frequent adjacent pair is merged, in every word that holds it (left to right,
 *       non-overlapping), and the counts of the neighbouring pairs are updated incrementally. <b>Tie-break:</b>
 *       among pairs of equal count the one whose (left id, right id) is smallest, compared left id first, wins —
 *       HF's {@code Ord for Merge}. So older tokens win ties over newer ones, and training is deterministic.</li>
 *   <li>It stops when the vocabulary (specials + bytes + merged tokens) reaches the requested size, when no pair is
 *       left, or when the best pair occurs fewer than {@code minFrequency} times.</li>
 * </ol>
 * The merge queue is HF's: a max-heap of (count, pair, words to visit) entries, refreshed lazily (an entry whose
 * count went stale is re-queued with the current count when it reaches the top), so a merge only visits the words
 * that hold its pair; each merge queues the pairs it created, with the words that gained them. A merge whose token
 * already exists (built earlier from another split) takes that token's id and follows HF's code path as well (a pair
 * merged twice keeps its last rank, as HF's merge map does); no such merge happens on Brown or on the test texts, so
 * that path is not checked against HF. Counts are longs (HF: i32). Brown train (1.1M words, 52K distinct) trains a
 * 4096-token vocabulary in about 2 s on one core, most of it pre-tokenizing.
 *
 * <p>The golden tests compare whole tokenizer.json files with the ones HF tokenizers 0.23 trains on the same text
 * (src/test/resources/dev/sparsa/io/tokenizer/make_bpe_golden.py).
 */
public final class BpeTrainer {
    /** GPT-2's end-of-text token: the default (and only) special token, id 0 of a trained vocabulary. */
    public static final String END_OF_TEXT = "<|endoftext|>";

    private BpeTrainer() {
    }

    /**
     * What to train.
     *
     * @param vocabSize     target vocabulary size, special tokens and the 256 byte symbols included
     * @param minFrequency  a pair seen fewer times than this is never merged (HF {@code min_frequency})
     * @param specialTokens ids 0, 1, ... in this order: distinct, non-empty, none a single byte symbol; matched
     *                      whole in text when encoding (never split by the pre-tokenizer)
     */
    public record Options(int vocabSize, long minFrequency, List<String> specialTokens) {
        public Options {
            specialTokens = List.copyOf(specialTokens);
            if (minFrequency < 0) {
                throw new UsageException("min frequency must be at least 0, got " + minFrequency);
            }
            Set<String> seen = new HashSet<>();
            for (String s : specialTokens) {
                if (s.isEmpty()) {
                    throw new UsageException("a special token must not be empty");
                }
                if (s.length() == 1 && ByteLevel.byteOf(s.charAt(0)) >= 0) {
                    throw new UsageException("special token " + s + " is one of the 256 byte symbols");
                }
                if (!seen.add(s)) {
                    throw new UsageException("special token " + s + " is given twice");
                }
            }
            int base = baseSize(specialTokens);
            if (vocabSize <= base) {
                throw new UsageException("vocab size " + vocabSize + " leaves no room for a merge: it must exceed "
                        + base + " (256 byte symbols + " + specialTokens.size() + " special token"
                        + (specialTokens.size() == 1 ? "" : "s") + ")");
            }
        }

        /** {@code vocabSize} tokens, min frequency 2, one special token {@link #END_OF_TEXT}. */
        public static Options of(int vocabSize) {
            return new Options(vocabSize, 2, List.of(END_OF_TEXT));
        }
    }

    /** Progress of a training run (same shape as the CLI's progress bar); called from the training thread. */
    public interface Listener {
        /** A phase begins with {@code total} units of work. */
        void phase(String name, long total, String unit);

        /** {@code done} units of the current phase are complete. */
        void progress(long done);

        Listener NONE = new Listener() {
            @Override
            public void phase(String name, long total, String unit) {
            }

            @Override
            public void progress(long done) {
            }
        };
    }

    /** Tokens before any merge: the special tokens plus the 256 byte symbols. A vocabulary size must exceed it. */
    public static int baseSize(List<String> specialTokens) {
        return specialTokens.size() + 256;
    }

    /** The special tokens, then the 256 byte symbols in code-point order of their table chars. */
    static List<String> baseVocabulary(List<String> specials) {
        List<String> vocab = new ArrayList<>(specials);
        for (char c = 0; c < 0x144; c++) {
            if (ByteLevel.byteOf(c) >= 0) {
                vocab.add(String.valueOf(c));
            }
        }
        return vocab;
    }

    /** One heap entry (HF {@code Merge}): a pair, its count when queued, the words to visit when it is merged. */
    private record Entry(long count, long pair, int[] words) {
    }

    /** Trains on {@code texts}, one document each (e.g. the lines of a corpus). */
    public static TrainedBpe train(List<String> texts, Options opt, Listener listener) {
        // 1. Words and their counts, in order of first appearance.
        listener.phase("counting words", texts.size(), "lines");
        PreTokenizer pre = new PreTokenizer.ByteLevelPre(false, true);
        Map<String, Integer> wordIndex = new HashMap<>();
        List<String> wordList = new ArrayList<>();
        long[] wordCount = new long[1024];
        List<String> pieces = new ArrayList<>();
        long words = 0;
        for (int t = 0; t < texts.size(); t++) {
            pieces.clear();
            pre.split(Chars.replaceLoneSurrogates(texts.get(t)), true, pieces);
            for (String p : pieces) {
                Integer w = wordIndex.get(p);
                if (w == null) {
                    w = wordList.size();
                    wordIndex.put(p, w);
                    wordList.add(p);
                    if (w == wordCount.length) {
                        wordCount = Arrays.copyOf(wordCount, w * 2);
                    }
                }
                wordCount[w]++;
            }
            words += pieces.size();
            if ((t & 255) == 0) {
                listener.progress(t);
            }
        }
        listener.progress(texts.size());

        // 2. The initial vocabulary; 3. every word as a sequence of byte-symbol ids.
        List<String> idToToken = new ArrayList<>(baseVocabulary(opt.specialTokens()));
        Map<String, Integer> tokenToId = new HashMap<>();
        for (int i = 0; i < idToToken.size(); i++) {
            tokenToId.put(idToToken.get(i), i);
        }
        int nWords = wordList.size();
        int[][] sym = new int[nWords][];
        int[] len = new int[nWords];
        for (int w = 0; w < nWords; w++) {
            String s = wordList.get(w);
            sym[w] = new int[s.length()];
            for (int k = 0; k < s.length(); k++) {
                sym[w][k] = tokenToId.get(String.valueOf(s.charAt(k)));
            }
            len[w] = s.length();
        }

        // 4. Pair counts and, per pair, the words holding it.
        PairTable pairs = new PairTable(1 << 16);
        List<Ids> where = new ArrayList<>();
        for (int w = 0; w < nWords; w++) {
            for (int k = 0; k + 1 < len[w]; k++) {
                int slot = pairs.slot(pair(sym[w][k], sym[w][k + 1]));
                pairs.add(slot, wordCount[w]);
                if (slot == where.size()) {
                    where.add(new Ids(4));
                }
                Ids at = where.get(slot);
                if (at.size() == 0 || at.get(at.size() - 1) != w) {
                    at.add(w);
                }
            }
        }
        PriorityQueue<Entry> queue = new PriorityQueue<>(Math.max(1, pairs.size()), BpeTrainer::higherFirst);
        for (int slot = 0; slot < pairs.size(); slot++) {
            if (pairs.count(slot) > 0) {
                queue.add(new Entry(pairs.count(slot), pairs.key(slot), where.get(slot).toArray()));
            }
        }
        where = null;

        // 5. Merges.
        int initial = idToToken.size();
        listener.phase("merging", opt.vocabSize() - initial, "tokens");
        List<long[]> merges = new ArrayList<>(); // {pair, new id}, duplicates possible (HF keeps the last rank)
        Changes changes = new Changes();
        while (idToToken.size() < opt.vocabSize() && !queue.isEmpty()) {
            Entry top = queue.poll();
            int topSlot = pairs.find(top.pair());
            long current = pairs.count(topSlot);
            if (top.count() != current) {
                queue.add(new Entry(current, top.pair(), top.words()));
                continue;
            }
            if (top.count() < 1 || top.count() < opt.minFrequency()) {
                break;
            }
            int a = (int) (top.pair() >>> 32);
            int b = (int) top.pair();
            String token = idToToken.get(a) + idToToken.get(b);
            Integer id = tokenToId.get(token);
            if (id == null) {
                id = idToToken.size();
                idToToken.add(token);
                tokenToId.put(token, id);
            }
            merges.add(new long[] {top.pair(), id});
            changes.begin(merges.size());
            for (int w : top.words()) {
                len[w] = mergeWord(sym[w], len[w], a, b, id, w, wordCount[w], pairs, changes);
            }
            for (int i = 0; i < changes.touched.size(); i++) {
                int slot = changes.touched.get(i);
                if (pairs.count(slot) > 0) {
                    queue.add(new Entry(pairs.count(slot), pairs.key(slot), changes.words[slot].toArray()));
                }
            }
            listener.progress(idToToken.size() - initial);
        }

        // HF's model keeps one rank per pair (a pair merged twice keeps its last rank); the file lists them by rank.
        Map<Long, Integer> lastRank = new HashMap<>();
        for (int r = 0; r < merges.size(); r++) {
            lastRank.put(merges.get(r)[0], r);
        }
        List<TrainedBpe.Merge> ranked = new ArrayList<>(lastRank.size());
        for (int r = 0; r < merges.size(); r++) {
            long p = merges.get(r)[0];
            if (lastRank.get(p) == r) {
                ranked.add(new TrainedBpe.Merge(idToToken.get((int) (p >>> 32)), idToToken.get((int) p)));
            }
        }
        return new TrainedBpe(idToToken, ranked, opt.specialTokens(), texts.size(), words, nWords);
    }

    /** Heap order: higher count first, then the smaller (left, right) id pair (HF {@code Ord for Merge}). */
    private static int higherFirst(Entry x, Entry y) {
        return x.count() != y.count() ? Long.compare(y.count(), x.count()) : Long.compare(x.pair(), y.pair());
    }

    static long pair(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    /**
     * Merges every (a, b) in word {@code w} left to right into {@code id} (HF {@code Word::merge}) and records the
     * pair-count changes, weighted by the word's count. Returns the new length.
     */
    private static int mergeWord(int[] s, int n, int a, int b, int id, int w, long count, PairTable pairs,
            Changes changes) {
        for (int i = 0; i < n; i++) {
            if (s[i] != a || i + 1 >= n || s[i + 1] != b) {
                continue;
            }
            if (i > 0) {
                changes.add(pairs, pair(s[i - 1], a), -count, w);
                changes.add(pairs, pair(s[i - 1], id), count, w);
            }
            s[i] = id;
            System.arraycopy(s, i + 2, s, i + 1, n - i - 2);
            n--;
            if (i + 1 < n) {
                changes.add(pairs, pair(b, s[i + 1]), -count, w);
                changes.add(pairs, pair(id, s[i + 1]), count, w);
            }
        }
        return n;
    }

    /** The pairs one merge gave new occurrences to, with the words that gained them (HF {@code where_to_update}). */
    private static final class Changes {
        Ids[] words = new Ids[1 << 16];
        int[] stamp = new int[1 << 16];
        Ids touched;
        int merge;

        void begin(int mergeNumber) {
            merge = mergeNumber;
            touched = new Ids(64);
        }

        void add(PairTable pairs, long pair, long delta, int w) {
            int slot = pairs.slot(pair);
            pairs.add(slot, delta);
            if (delta <= 0) {
                return;
            }
            if (slot >= stamp.length) {
                int cap = Math.max(slot + 1, stamp.length * 2);
                stamp = Arrays.copyOf(stamp, cap);
                words = Arrays.copyOf(words, cap);
            }
            if (stamp[slot] != merge) {
                stamp[slot] = merge;
                words[slot] = new Ids(4);
                touched.add(slot);
            }
            Ids at = words[slot];
            if (at.size() == 0 || at.get(at.size() - 1) != w) { // a word's changes come together: no repeats
                at.add(w);
            }
        }
    }

    /** Open-addressing pair → slot table with a count per slot; slots are numbered in order of first sight. */
    private static final class PairTable {
        private static final long EMPTY = -1L; // pairs of non-negative ids are never -1
        private long[] table;
        private int[] tableSlot;
        private long[] keys;
        private long[] counts;
        private int size;

        PairTable(int capacity) {
            table = new long[Integer.highestOneBit(Math.max(16, capacity)) * 2];
            Arrays.fill(table, EMPTY);
            tableSlot = new int[table.length];
            keys = new long[capacity];
            counts = new long[capacity];
        }

        int size() {
            return size;
        }

        long key(int slot) {
            return keys[slot];
        }

        long count(int slot) {
            return counts[slot];
        }

        void add(int slot, long delta) {
            counts[slot] += delta;
        }

        private static int hash(long k) {
            long h = k * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 31));
        }

        /** The slot of {@code key}, or -1. */
        int find(long key) {
            int mask = table.length - 1;
            for (int i = hash(key) & mask; table[i] != EMPTY; i = (i + 1) & mask) {
                if (table[i] == key) {
                    return tableSlot[i];
                }
            }
            return -1;
        }

        /** The slot of {@code key}, created (count 0) if new. */
        int slot(long key) {
            int mask = table.length - 1;
            int i = hash(key) & mask;
            for (; table[i] != EMPTY; i = (i + 1) & mask) {
                if (table[i] == key) {
                    return tableSlot[i];
                }
            }
            if (size == keys.length) {
                keys = Arrays.copyOf(keys, size * 2);
                counts = Arrays.copyOf(counts, size * 2);
            }
            keys[size] = key;
            table[i] = key;
            tableSlot[i] = size;
            if (++size * 2 > table.length) {
                rehash();
            }
            return size - 1;
        }

        private void rehash() {
            long[] t = new long[table.length * 2];
            int[] ts = new int[t.length];
            Arrays.fill(t, EMPTY);
            int mask = t.length - 1;
            for (int s = 0; s < size; s++) {
                int i = hash(keys[s]) & mask;
                while (t[i] != EMPTY) {
                    i = (i + 1) & mask;
                }
                t[i] = keys[s];
                ts[i] = s;
            }
            table = t;
            tableSlot = ts;
        }
    }
}
