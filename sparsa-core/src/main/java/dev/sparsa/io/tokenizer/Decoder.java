package dev.sparsa.io.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * tokenizer.json {@code decoder} (HF tokenizers {@code decoders::*}): maps the list of token strings to a list of
 * strings ({@code decode_chain}); the tokenizer joins the result.
 */
sealed interface Decoder {

    List<String> decodeChain(List<String> tokens);

    /**
     * HF {@code ByteLevel}: all tokens' table chars → bytes → UTF-8, invalid sequences as U+FFFD
     * ({@code from_utf8_lossy}). A token with a char outside the table contributes its own UTF-8 bytes.
     */
    record ByteLevelDec() implements Decoder {
        public List<String> decodeChain(List<String> tokens) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (String t : tokens) {
                byte[] tb = new byte[t.length()];
                boolean ok = true;
                for (int i = 0; i < t.length() && ok; i++) {
                    int b = ByteLevel.byteOf(t.charAt(i));
                    ok = b >= 0;
                    tb[i] = (byte) b;
                }
                if (!ok) {
                    tb = t.getBytes(StandardCharsets.UTF_8);
                }
                bytes.writeBytes(tb);
            }
            return List.of(ByteLevel.utf8Lossy(bytes.toByteArray(), bytes.size()));
        }
    }

    /** HF {@code Replace}: in each token, a literal or regex replaced by {@code content}. */
    record Replace(String literal, Pattern regex, String content) implements Decoder {
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String t : tokens) {
                out.add(literal != null ? (literal.isEmpty() ? t : t.replace(literal, content))
                        : regex.matcher(t).replaceAll(Matcher.quoteReplacement(content)));
            }
            return out;
        }
    }

    /**
     * HF {@code ByteFallback}: runs of {@code <0xXX>} tokens become their UTF-8 string, or one U+FFFD per byte when
     * the run is not valid UTF-8.
     */
    record ByteFallback() implements Decoder {
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            byte[] run = new byte[16];
            int n = 0;
            for (String t : tokens) {
                int b = byteToken(t);
                if (b >= 0) {
                    if (n == run.length) {
                        run = java.util.Arrays.copyOf(run, n * 2);
                    }
                    run[n++] = (byte) b;
                    continue;
                }
                flush(run, n, out);
                n = 0;
                out.add(t);
            }
            flush(run, n, out);
            return out;
        }

        private static void flush(byte[] run, int n, List<String> out) {
            if (n == 0) {
                return;
            }
            String s = ByteLevel.utf8Strict(run, n);
            if (s != null) {
                out.add(s);
            } else {
                for (int i = 0; i < n; i++) {
                    out.add("\uFFFD");
                }
            }
        }

        static int byteToken(String t) {
            if (t.length() != 6 || !t.startsWith("<0x") || t.charAt(5) != '>') {
                return -1;
            }
            int hi = Character.digit(t.charAt(3), 16);
            int lo = Character.digit(t.charAt(4), 16);
            return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
        }
    }

    /** HF {@code Fuse}: all tokens joined into one. */
    record Fuse() implements Decoder {
        public List<String> decodeChain(List<String> tokens) {
            return List.of(String.join("", tokens));
        }
    }

    /** HF {@code Strip}: from each token, up to {@code start} leading and {@code stop} trailing {@code content} chars. */
    record Strip(int content, int start, int stop) implements Decoder {
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String t : tokens) {
                int[] cps = t.codePoints().toArray();
                int b = 0;
                while (b < start && b < cps.length && cps[b] == content) {
                    b++;
                }
                int e = cps.length;
                for (int i = 0; i < stop && e > b && cps[e - 1] == content; i++) {
                    e--;
                }
                out.add(new String(cps, b, e - b));
            }
            return out;
        }
    }

    /**
     * HF {@code WordPiece}: a token with the prefix is glued to the previous one, others get a space; with
     * {@code cleanup}, BERT's detokenization fixes (" ." → ".", " n't" → "n't", ...).
     */
    record WordPieceDec(String prefix, boolean cleanup) implements Decoder {
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                String t = tokens.get(i);
                if (i != 0) {
                    t = t.startsWith(prefix) ? t.substring(prefix.length()) : " " + t;
                }
                out.add(cleanup ? cleanup(t) : t);
            }
            return out;
        }

        /** HF {@code decoders::wordpiece::cleanup}. */
        static String cleanup(String s) {
            return s.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
                    .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" do not", " don't")
                    .replace(" 's", "'s").replace(" 've", "'ve").replace(" 're", "'re");
        }
    }

    /** HF {@code Metaspace}: ▁ → space, except that the first token's ▁ are dropped unless prepend is "never". */
    record MetaspaceDec(char replacement, boolean prepends) implements Decoder {
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                String t = tokens.get(i);
                out.add(i == 0 && prepends ? t.replace(String.valueOf(replacement), "")
                        : t.replace(replacement, ' '));
            }
            return out;
        }
    }

    /** HF {@code Sequence}: each decoder's chain fed to the next. */
    record Sequence(List<Decoder> decoders) implements Decoder {
        public List<String> decodeChain(List<String> tokens) {
            for (Decoder d : decoders) {
                tokens = d.decodeChain(tokens);
            }
            return tokens;
        }
    }
}
