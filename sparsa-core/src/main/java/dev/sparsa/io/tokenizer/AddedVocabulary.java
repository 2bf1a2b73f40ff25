package dev.sparsa.io.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * HF tokenizers {@code AddedVocabulary}: tokens matched in the raw text before the model sees it. Pass 1 finds the
 * non-normalized tokens in the raw text; each remaining piece is normalized and pass 2 finds the normalized
 * tokens in it. Matching is leftmost-longest (HF's Aho-Corasick {@code MatchKind::LeftmostLongest}), honouring
 * {@code single_word}, {@code lstrip} and {@code rstrip}.
 */
final class AddedVocabulary {

    /** One tokenizer.json {@code added_tokens} entry. */
    record AddedToken(int id, String content, boolean special, boolean singleWord, boolean lstrip, boolean rstrip,
            boolean normalized) {
    }

    /** A piece of the input: an added token's id, or normalized text for the pre-tokenizer ({@code id < 0}). */
    record Segment(int id, String text, boolean atStart) {
    }

    private static final class Trie {
        final Map<Integer, Trie> kids = new HashMap<>(4);
        AddedToken token;
    }

    private final List<AddedToken> tokens;
    private final Map<Integer, AddedToken> byId = new HashMap<>();
    private final Trie raw = new Trie();
    private final Trie normalizedTrie = new Trie();
    private final boolean hasRaw;
    private final boolean hasNormalized;

    AddedVocabulary(List<AddedToken> tokens, Normalizer normalizer) {
        this.tokens = List.copyOf(tokens);
        boolean r = false;
        boolean n = false;
        for (AddedToken t : tokens) {
            byId.put(t.id(), t);
            if (t.content().isEmpty()) {
                continue;
            }
            if (t.normalized()) {
                // HF matches a normalized token by its normalized content.
                String c = normalizer == null ? t.content() : normalizer.normalize(t.content());
                if (!c.isEmpty()) {
                    insert(normalizedTrie, c, t);
                    n = true;
                }
            } else {
                insert(raw, t.content(), t);
                r = true;
            }
        }
        hasRaw = r;
        hasNormalized = n;
    }

    private static void insert(Trie root, String s, AddedToken t) {
        Trie node = root;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            i += Character.charCount(c);
            node = node.kids.computeIfAbsent(c, k -> new Trie());
        }
        if (node.token == null) { // HF: with equal contents the first token registered wins
            node.token = t;
        }
    }

    List<AddedToken> tokens() {
        return tokens;
    }

    AddedToken get(int id) {
        return byId.get(id);
    }

    /** The text split into added tokens and normalized pieces, in order. */
    List<Segment> split(String text, Normalizer normalizer) {
        List<Segment> out = new ArrayList<>();
        List<Segment> first = new ArrayList<>();
        if (hasRaw) {
            find(text, raw, first);
        } else {
            first.add(new Segment(-1, text, true));
        }
        for (Segment s : first) {
            if (s.id() >= 0) {
                out.add(s);
                continue;
            }
            String norm = normalizer == null ? s.text() : normalizer.normalize(s.text());
            if (hasNormalized) {
                int from = out.size();
                find(norm, normalizedTrie, out);
                // Only the first sub-piece can still start at the text's start.
                for (int i = from + 1; i < out.size(); i++) {
                    Segment x = out.get(i);
                    if (x.atStart()) {
                        out.set(i, new Segment(x.id(), x.text(), false));
                    }
                }
                if (out.size() > from && !s.atStart() && out.get(from).atStart()) {
                    Segment x = out.get(from);
                    out.set(from, new Segment(x.id(), x.text(), false));
                }
            } else if (!norm.isEmpty()) {
                out.add(new Segment(-1, norm, s.atStart()));
            }
        }
        return out;
    }

    /** HF {@code AddedVocabulary::find_matches} over one piece; appends text pieces and token pieces. */
    private static void find(String s, Trie root, List<Segment> out) {
        int startOffset = 0;
        int pos = 0;
        while (pos < s.length()) {
            // Longest match starting at pos.
            Trie node = root;
            AddedToken best = null;
            int bestEnd = -1;
            for (int i = pos; i < s.length(); ) {
                int c = s.codePointAt(i);
                node = node.kids.get(c);
                if (node == null) {
                    break;
                }
                i += Character.charCount(c);
                if (node.token != null) {
                    best = node.token;
                    bestEnd = i;
                }
            }
            if (best == null) {
                pos += Character.charCount(s.codePointAt(pos));
                continue;
            }
            int start = pos;
            int stop = bestEnd;
            pos = bestEnd; // the automaton resumes after the match whatever lstrip/rstrip/single_word do
            if (best.singleWord()) {
                boolean startSpace = start == 0 || !isWordChar(s.codePointBefore(start));
                boolean stopSpace = stop == s.length() || !isWordChar(s.codePointAt(stop));
                if (!startSpace || !stopSpace) {
                    continue;
                }
            }
            if (best.lstrip()) {
                int ns = start;
                while (ns > 0 && Chars.isWhiteSpace(s.codePointBefore(ns))) {
                    ns -= Character.charCount(s.codePointBefore(ns));
                }
                start = Math.max(ns, startOffset);
            }
            if (best.rstrip()) {
                while (stop < s.length() && Chars.isWhiteSpace(s.codePointAt(stop))) {
                    stop += Character.charCount(s.codePointAt(stop));
                }
            }
            if (start > startOffset) {
                out.add(new Segment(-1, s.substring(startOffset, start), startOffset == 0));
            }
            out.add(new Segment(best.id(), best.content(), start == 0));
            startOffset = stop;
            pos = Math.max(pos, stop);
        }
        if (startOffset < s.length()) {
            out.add(new Segment(-1, s.substring(startOffset), startOffset == 0));
        }
    }

    /** Rust regex {@code \w} (HF's {@code ends_with_word}/{@code starts_with_word}). */
    private static boolean isWordChar(int c) {
        if (c == '_' || Character.isLetterOrDigit(c)) {
            return true;
        }
        int t = Character.getType(c);
        return t == Character.NON_SPACING_MARK || t == Character.COMBINING_SPACING_MARK
                || t == Character.ENCLOSING_MARK || t == Character.CONNECTOR_PUNCTUATION
                || t == Character.LETTER_NUMBER;
    }
}
