package dev.sparsa.io.tokenizer;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * tokenizer.json {@code normalizer} (HF tokenizers {@code normalizers::*}): a string → string transform applied to
 * each piece of text between added tokens. HF tracks offsets through it; Sparsa needs only the text.
 */
sealed interface Normalizer {

    String normalize(String s);

    /** Unicode normalization forms (HF {@code NFC}/{@code NFD}/{@code NFKC}/{@code NFKD}). */
    record Unicode(java.text.Normalizer.Form form) implements Normalizer {
        public String normalize(String s) {
            return java.text.Normalizer.normalize(s, form);
        }
    }

    /** HF {@code Lowercase}: per-char lowercasing. */
    record Lowercase() implements Normalizer {
        public String normalize(String s) {
            return Chars.lowercase(s);
        }
    }

    /**
     * HF {@code StripAccents}: drops every combining mark (Mn, Mc, Me: {@code is_combining_mark}); meant to follow
     * NFD. (BertNormalizer's strip_accents drops only Mn.)
     */
    record StripAccents() implements Normalizer {
        public String normalize(String s) {
            return strip(s, true);
        }
    }

    /** HF {@code Prepend}: puts {@code prepend} in front of a non-empty string (Llama-2's "▁"). */
    record Prepend(String prepend) implements Normalizer {
        public String normalize(String s) {
            return s.isEmpty() ? s : prepend + s;
        }
    }

    /** HF {@code Replace}: every match of a literal string or a regex replaced by {@code content}. */
    record Replace(String literal, Pattern regex, String content) implements Normalizer {
        public String normalize(String s) {
            if (literal != null) {
                return literal.isEmpty() ? s : s.replace(literal, content);
            }
            return regex.matcher(s).replaceAll(Matcher.quoteReplacement(content));
        }
    }

    /** HF {@code Strip}: removes leading/trailing White_Space. */
    record Strip(boolean left, boolean right) implements Normalizer {
        public String normalize(String s) {
            int b = 0;
            int e = s.length();
            while (left && b < e && Chars.isWhiteSpace(s.codePointAt(b))) {
                b += Character.charCount(s.codePointAt(b));
            }
            while (right && e > b && Chars.isWhiteSpace(s.codePointBefore(e))) {
                e -= Character.charCount(s.codePointBefore(e));
            }
            return s.substring(b, e);
        }
    }

    /**
     * HF {@code BertNormalizer}, in its order: clean_text (drop NUL, U+FFFD and control chars; whitespace → ' '),
     * handle_chinese_chars (pad CJK ideographs with spaces), strip_accents (NFD, drop Mn; when null it follows
     * lowercase), lowercase.
     */
    record Bert(boolean cleanText, boolean handleChineseChars, boolean stripAccents, boolean lowercase)
            implements Normalizer {
        public String normalize(String s) {
            if (cleanText || handleChineseChars) {
                StringBuilder sb = new StringBuilder(s.length() + 8);
                for (int i = 0; i < s.length(); ) {
                    int c = s.codePointAt(i);
                    i += Character.charCount(c);
                    if (cleanText) {
                        if (c == 0 || c == 0xFFFD || Chars.isBertControl(c)) {
                            continue;
                        }
                        if (Chars.isBertWhitespace(c)) {
                            sb.append(' ');
                            continue;
                        }
                    }
                    if (handleChineseChars && Chars.isChineseChar(c)) {
                        sb.append(' ').appendCodePoint(c).append(' ');
                    } else {
                        sb.appendCodePoint(c);
                    }
                }
                s = sb.toString();
            }
            if (stripAccents) {
                s = strip(java.text.Normalizer.normalize(s, java.text.Normalizer.Form.NFD), false);
            }
            if (lowercase) {
                s = Chars.lowercase(s);
            }
            return s;
        }
    }

    /** HF {@code Sequence}: each normalizer in turn. */
    record Sequence(List<Normalizer> normalizers) implements Normalizer {
        public String normalize(String s) {
            for (Normalizer n : normalizers) {
                s = n.normalize(s);
            }
            return s;
        }
    }

    /** Drops nonspacing marks (Mn), or all marks when {@code allMarks}. */
    private static String strip(String s, boolean allMarks) {
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            int n = Character.charCount(c);
            int t = c >= 0x300 ? Character.getType(c) : -1;
            boolean mn = t == Character.NON_SPACING_MARK
                    || (allMarks && (t == Character.COMBINING_SPACING_MARK || t == Character.ENCLOSING_MARK));
            if (mn && sb == null) {
                sb = new StringBuilder(s.length()).append(s, 0, i);
            } else if (!mn && sb != null) {
                sb.append(s, i, i + n);
            }
            i += n;
        }
        return sb == null ? s : sb.toString();
    }
}
