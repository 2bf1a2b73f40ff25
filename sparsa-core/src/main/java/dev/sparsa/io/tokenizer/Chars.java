package dev.sparsa.io.tokenizer;

import java.util.Locale;

/** Unicode character predicates with the exact definitions HF tokenizers uses (Rust's, not Java's). */
final class Chars {
    private Chars() {
    }

    /** Rust {@code char::is_whitespace}: the Unicode White_Space property (unlike Java's isWhitespace). */
    static boolean isWhiteSpace(int c) {
        return switch (c) {
            case 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000 -> true;
            default -> c >= 0x2000 && c <= 0x200A;
        };
    }

    /** HF bert normalizer {@code is_whitespace}: \t \n \r and White_Space. */
    static boolean isBertWhitespace(int c) {
        return c == '\t' || c == '\n' || c == '\r' || isWhiteSpace(c);
    }

    /**
     * HF bert normalizer {@code is_control}: categories Cc, Cf, Co, Cs except \t \n \r. (HF's comment also names
     * Cn, but its {@code unicode_categories} tables keep unassigned code points; so does the reference.)
     */
    static boolean isBertControl(int c) {
        if (c == '\t' || c == '\n' || c == '\r') {
            return false;
        }
        int t = Character.getType(c);
        return t == Character.CONTROL || t == Character.FORMAT || t == Character.PRIVATE_USE
                || t == Character.SURROGATE;
    }

    /** HF bert pre-tokenizer {@code is_bert_punc}: ASCII punctuation (incl. $+<=>^`|~) or a Unicode P* char. */
    static boolean isBertPunctuation(int c) {
        if (c < 0x80) {
            return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60)
                    || (c >= 0x7B && c <= 0x7E);
        }
        return switch (Character.getType(c)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    /** HF bert normalizer {@code is_chinese_char}: the CJK ideograph blocks BERT pads with spaces. */
    static boolean isChineseChar(int c) {
        return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF)
                || (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F)
                || (c >= 0x2B920 && c <= 0x2CEAF) || (c >= 0xF900 && c <= 0xFAFF)
                || (c >= 0x2F800 && c <= 0x2FA1F);
    }

    /**
     * Rust {@code char::to_lowercase} applied char by char (HF {@code NormalizedString::lowercase}): no
     * context-dependent rules (Greek final sigma stays σ), but one-to-many mappings (İ → i̇) kept.
     */
    static String lowercase(String s) {
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            int n = Character.charCount(c);
            String lower;
            if (c < 0x80) {
                lower = null;
                if (c >= 'A' && c <= 'Z') {
                    if (sb == null) {
                        sb = new StringBuilder(s.length()).append(s, 0, i);
                    }
                    sb.append((char) (c + 32));
                    i += n;
                    continue;
                }
            } else {
                String one = s.substring(i, i + n);
                lower = one.toLowerCase(Locale.ROOT); // a lone code point: no final-sigma context applies
                if (lower.equals(one)) {
                    lower = null;
                }
            }
            if (lower != null) {
                if (sb == null) {
                    sb = new StringBuilder(s.length()).append(s, 0, i);
                }
                sb.append(lower);
            } else if (sb != null) {
                sb.append(s, i, i + n);
            }
            i += n;
        }
        return sb == null ? s : sb.toString();
    }

    /** Replaces each unpaired UTF-16 surrogate with U+FFFD (it has no UTF-8 form). */
    static String replaceLoneSurrogates(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (Character.isSurrogate(s.charAt(i))) {
                return fixSurrogates(s);
            }
        }
        return s;
    }

    private static String fixSurrogates(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                sb.append(c).append(s.charAt(++i));
            } else if (Character.isSurrogate(c)) {
                sb.append('\uFFFD');
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
