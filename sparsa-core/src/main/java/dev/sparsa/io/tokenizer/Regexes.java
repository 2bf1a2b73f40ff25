package dev.sparsa.io.tokenizer;

import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The pre-tokenizer regexes. HF tokenizers compiles {@code Split} patterns with Oniguruma in Unicode mode; this
 * translates them to {@link java.util.regex}. The two dialects agree on what these files use (alternation,
 * {@code (?i:...)}, {@code \p{L}}/{@code \p{N}}, classes, possessive quantifiers, {@code (?!...)}) except:
 * <ul>
 *   <li>{@code \s \S \d \D} are Unicode-aware in Oniguruma, ASCII-only in Java by default: compiled with
 *       {@link Pattern#UNICODE_CHARACTER_CLASS} ({@code \s} = the White_Space property, {@code \d} = Nd, as in
 *       Oniguruma);</li>
 *   <li>{@code \w} in Oniguruma is Alphabetic | Mark | Nd | Pc, plus the Latin-1 digits/fractions ²³¹¼½¾ of its
 *       ISO-8859-1 table, without Java's Join_Control (ZWJ): spelled out (checked against HF tokenizers);</li>
 *   <li>{@code \p{Han}}-style script/property names need Java's {@code Is} prefix;</li>
 *   <li>{@code \h} is a hex digit in Oniguruma but horizontal space in Java.</li>
 * </ul>
 */
final class Regexes {
    private Regexes() {
    }

    /** GPT-2's pattern (HF {@code ByteLevel} with {@code use_regex}, llama.cpp pre "default"/"gpt2"). */
    static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    /** Llama-3's pattern (its tokenizer.json; llama.cpp pre "llama-bpe"/"llama3"). */
    static final String LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** Qwen2/3's pattern: Llama-3's with single digits (llama.cpp pre "qwen2"). */
    static final String QWEN2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** llama.cpp's {@code tokenizer.ggml.pre} names this package knows → their Oniguruma-dialect patterns. */
    static final Map<String, String> GGUF_PRE = Map.of(
            "default", GPT2,
            "gpt2", GPT2,
            "gpt-2", GPT2,
            "llama-bpe", LLAMA3,
            "llama3", LLAMA3,
            "qwen2", QWEN2,
            "qwen35", QWEN2);

    /** Compiles an Oniguruma-dialect pattern; throws {@link PatternSyntaxException} if Java cannot take it. */
    static Pattern compile(String onig) {
        return Pattern.compile(translate(onig), Pattern.UNICODE_CHARACTER_CLASS);
    }

    /** The Java spelling of an Oniguruma pattern (see the class comment for what changes). */
    static String translate(String p) {
        StringBuilder sb = new StringBuilder(p.length() + 16);
        int depth = 0; // inside a [...] class
        for (int i = 0; i < p.length(); i++) {
            char c = p.charAt(i);
            if (c != '\\' || i + 1 >= p.length()) {
                if (c == '[') {
                    depth++;
                } else if (c == ']' && depth > 0) {
                    depth--;
                }
                sb.append(c);
                continue;
            }
            char e = p.charAt(i + 1);
            if ((e == 'p' || e == 'P') && i + 2 < p.length() && p.charAt(i + 2) == '{') {
                int close = p.indexOf('}', i + 3);
                if (close < 0) {
                    sb.append(c);
                    continue;
                }
                String name = p.substring(i + 3, close);
                boolean neg = name.startsWith("^");
                if (neg) {
                    name = name.substring(1);
                }
                // General categories (L, Lu, N, ...) are spelled alike; scripts/properties need "Is" in Java.
                String javaName = name.length() <= 2 || name.startsWith("Is") || name.startsWith("In")
                        || name.contains("=") ? name : "Is" + name;
                sb.append('\\').append(neg ? (e == 'p' ? 'P' : 'p') : e).append('{').append(javaName).append('}');
                i = close;
            } else if (e == 'w' || e == 'W') {
                String word = "\\p{IsAlphabetic}\\p{M}\\p{Nd}\\p{Pc}\\u00B2\\u00B3\\u00B9\\u00BC-\\u00BE";
                if (e == 'w') {
                    sb.append(depth > 0 ? word : "[" + word + "]");
                } else {
                    sb.append("[^").append(word).append(']');
                }
                i++;
            } else if (e == 'h') {
                sb.append("[0-9a-fA-F]");
                i++;
            } else if (e == 'H') {
                sb.append("[^0-9a-fA-F]");
                i++;
            } else {
                sb.append(c).append(e);
                i++;
            }
        }
        return sb.toString();
    }
}
