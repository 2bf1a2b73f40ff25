package dev.sparsa.io.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * tokenizer.json {@code pre_tokenizer} (HF tokenizers {@code pre_tokenizers::*}): splits a normalized piece of text
 * into the words the model tokenizes one by one, possibly rewriting them (ByteLevel, Metaspace).
 */
sealed interface PreTokenizer {

    /**
     * Appends the pieces of {@code s} to {@code out}. {@code atStart}: {@code s} begins at offset 0 of the original
     * text (HF {@code offsets_original().0 == 0}; only Metaspace's prepend_scheme "first" looks at it).
     */
    void split(String s, boolean atStart, List<String> out);

    /** HF {@code SplitDelimiterBehavior}. */
    enum Behavior { REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS }

    /** HF {@code Split}: a literal or regex pattern, a delimiter behavior, optionally inverted. */
    record Split(Pattern pattern, Behavior behavior, boolean invert) implements PreTokenizer {
        public void split(String s, boolean atStart, List<String> out) {
            List<int[]> m = new ArrayList<>();
            Matcher mm = pattern.matcher(s);
            int prev = 0;
            while (mm.find()) {
                if (mm.start() == mm.end()) {
                    continue; // an empty match delimits nothing (HF drops empty pieces)
                }
                if (prev != mm.start()) {
                    m.add(new int[] {prev, mm.start(), 0});
                }
                m.add(new int[] {mm.start(), mm.end(), 1});
                prev = mm.end();
            }
            if (prev != s.length()) {
                m.add(new int[] {prev, s.length(), 0});
            }
            if (invert) {
                for (int[] x : m) {
                    x[2] ^= 1;
                }
            }
            applyBehavior(s, m, behavior, out);
        }
    }

    /** HF {@code ByteLevel}: optional prefix space, optional GPT-2 regex split, then bytes → table chars. */
    record ByteLevelPre(boolean addPrefixSpace, boolean useRegex) implements PreTokenizer {
        private static final Pattern GPT2 = Regexes.compile(Regexes.GPT2);

        public void split(String s, boolean atStart, List<String> out) {
            if (addPrefixSpace && !s.startsWith(" ")) {
                s = " " + s;
            }
            if (useRegex) {
                int from = out.size();
                new Split(GPT2, Behavior.ISOLATED, false).split(s, atStart, out);
                for (int i = from; i < out.size(); i++) {
                    out.set(i, ByteLevel.encode(out.get(i)));
                }
            } else if (!s.isEmpty()) {
                out.add(ByteLevel.encode(s));
            }
        }
    }

    /** Prepend scheme of {@link Metaspace}. */
    enum PrependScheme { ALWAYS, FIRST, NEVER }

    /**
     * HF {@code Metaspace}: spaces → {@code replacement} (▁), prepend ▁ (always / only at the start of the text /
     * never) unless already there, then split before each ▁ (MergedWithNext) when {@code split}.
     */
    record Metaspace(char replacement, PrependScheme scheme, boolean splitWords) implements PreTokenizer {
        public void split(String s, boolean atStart, List<String> out) {
            s = s.replace(' ', replacement);
            if (!s.isEmpty() && s.charAt(0) != replacement
                    && (scheme == PrependScheme.ALWAYS || (scheme == PrependScheme.FIRST && atStart))) {
                s = replacement + s;
            }
            if (!splitWords) {
                if (!s.isEmpty()) {
                    out.add(s);
                }
                return;
            }
            applyBehavior(s, charMatches(s, c -> c == replacement), Behavior.MERGED_WITH_NEXT, out);
        }
    }

    /** HF {@code BertPreTokenizer}: split on White_Space (removed), then isolate each punctuation char. */
    record BertPre() implements PreTokenizer {
        public void split(String s, boolean atStart, List<String> out) {
            List<String> words = new ArrayList<>();
            applyBehavior(s, charMatches(s, Chars::isWhiteSpace), Behavior.REMOVED, words);
            for (String w : words) {
                applyBehavior(w, charMatches(w, Chars::isBertPunctuation), Behavior.ISOLATED, out);
            }
        }
    }

    /**
     * HF {@code Whitespace}: the regex {@code \w+|[^\w\s]+}, everything else removed. HF compiles this one with
     * Rust's regex crate, whose Unicode {@code \w} (with Join_Control) is Java's.
     */
    record WhitespacePre() implements PreTokenizer {
        private static final Pattern RE = Pattern.compile("\\w+|[^\\w\\s]+", Pattern.UNICODE_CHARACTER_CLASS);

        public void split(String s, boolean atStart, List<String> out) {
            new Split(RE, Behavior.REMOVED, true).split(s, atStart, out);
        }
    }

    /** HF {@code WhitespaceSplit}: split on White_Space, removing it. */
    record WhitespaceSplit() implements PreTokenizer {
        public void split(String s, boolean atStart, List<String> out) {
            applyBehavior(s, charMatches(s, Chars::isWhiteSpace), Behavior.REMOVED, out);
        }
    }

    /** HF {@code Punctuation}: punctuation chars as delimiters with the given behavior. */
    record Punctuation(Behavior behavior) implements PreTokenizer {
        public void split(String s, boolean atStart, List<String> out) {
            applyBehavior(s, charMatches(s, Chars::isBertPunctuation), behavior, out);
        }
    }

    /** HF {@code Digits}: numeric chars isolated one by one, or runs kept together. */
    record Digits(boolean individual) implements PreTokenizer {
        public void split(String s, boolean atStart, List<String> out) {
            applyBehavior(s, charMatches(s, Character::isDigit), individual ? Behavior.ISOLATED : Behavior.CONTIGUOUS,
                    out);
        }
    }

    /** HF {@code Sequence}: each pre-tokenizer applied to every piece the previous one produced. */
    record Sequence(List<PreTokenizer> pretokenizers) implements PreTokenizer {
        public void split(String s, boolean atStart, List<String> out) {
            List<String> cur = List.of(s);
            for (PreTokenizer p : pretokenizers) {
                List<String> next = new ArrayList<>(cur.size() * 2);
                for (int i = 0; i < cur.size(); i++) {
                    // Only the first piece can still begin at the text's start.
                    p.split(cur.get(i), atStart && i == 0, next);
                }
                cur = next;
            }
            out.addAll(cur);
        }
    }

    /** One [start, end, isDelimiter] entry per char run, covering {@code s}: each matching char is its own match. */
    private static List<int[]> charMatches(String s, IntPredicate delim) {
        List<int[]> m = new ArrayList<>();
        int prev = 0;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            int n = Character.charCount(c);
            if (delim.test(c)) {
                if (prev != i) {
                    m.add(new int[] {prev, i, 0});
                }
                m.add(new int[] {i, i + n, 1});
                prev = i + n;
            }
            i += n;
        }
        if (prev != s.length()) {
            m.add(new int[] {prev, s.length(), 0});
        }
        return m;
    }

    /** HF {@code NormalizedString::split}: turns the match list into pieces as the behavior says. */
    private static void applyBehavior(String s, List<int[]> m, Behavior behavior, List<String> out) {
        List<int[]> pieces = new ArrayList<>(m.size());
        switch (behavior) {
            case ISOLATED -> {
                for (int[] x : m) {
                    pieces.add(new int[] {x[0], x[1], 0});
                }
            }
            case REMOVED -> pieces.addAll(m);
            case CONTIGUOUS -> {
                boolean prevMatch = false;
                for (int[] x : m) {
                    boolean isMatch = x[2] == 1;
                    if (isMatch == prevMatch && !pieces.isEmpty()) {
                        pieces.getLast()[1] = x[1];
                    } else {
                        pieces.add(new int[] {x[0], x[1], 0});
                    }
                    prevMatch = isMatch;
                }
            }
            case MERGED_WITH_PREVIOUS -> {
                boolean prevMatch = false;
                for (int[] x : m) {
                    boolean isMatch = x[2] == 1;
                    if (isMatch && !prevMatch && !pieces.isEmpty()) {
                        pieces.getLast()[1] = x[1];
                    } else {
                        pieces.add(new int[] {x[0], x[1], 0});
                    }
                    prevMatch = isMatch;
                }
            }
            case MERGED_WITH_NEXT -> {
                boolean prevMatch = false;
                for (int i = m.size() - 1; i >= 0; i--) {
                    int[] x = m.get(i);
                    boolean isMatch = x[2] == 1;
                    if (isMatch && !prevMatch && !pieces.isEmpty()) {
                        pieces.getLast()[0] = x[0];
                    } else {
                        pieces.add(new int[] {x[0], x[1], 0});
                    }
                    prevMatch = isMatch;
                }
                java.util.Collections.reverse(pieces);
            }
        }
        for (int[] p : pieces) {
            if (p[2] == 0 && p[1] > p[0]) {
                out.add(s.substring(p[0], p[1]));
            }
        }
    }
}
