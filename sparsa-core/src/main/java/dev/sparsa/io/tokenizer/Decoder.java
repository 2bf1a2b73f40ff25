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
     * One token as this decoder maps it in the middle of a sequence, for {@link Tokenizer#tokenBytes}: what
     * {@link #decodeChain} does to each token, without its effects on the whole text (stripping the first space,
     * fusing, cleanup).
     */
    Piece piece(Piece p);

    /** A token on its way through the decoders: its text, or its UTF-8 byte count once a decoder made it bytes. */
    record Piece(String text, int bytes) {
        static Piece of(String token) {
            return new Piece(token, -1);
        }

        boolean isBytes() {
            return bytes >= 0;
        }

        int utf8Bytes() {
            return bytes >= 0 ? bytes : text.getBytes(StandardCharsets.UTF_8).length;
        }
    }

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

        public Piece piece(Piece p) {
            if (p.isBytes()) {
                return p;
            }
            String t = p.text();
            for (int i = 0; i < t.length(); i++) {
                if (ByteLevel.byteOf(t.charAt(i)) < 0) {
                    return new Piece(null, p.utf8Bytes()); // as decodeChain: the token's own UTF-8
                }
            }
            return new Piece(null, t.length()); // one byte per table char
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

        public Piece piece(Piece p) {
            return p.isBytes() ? p : Piece.of(decodeChain(List.of(p.text())).getFirst());
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

        public Piece piece(Piece p) {
            return !p.isBytes() && byteToken(p.text()) >= 0 ? new Piece(null, 1) : p;
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

        public Piece piece(Piece p) {
            return p;
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

        /** Stripping acts on the text's ends (after Fuse), not on a token inside it. */
        public Piece piece(Piece p) {
            return p;
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

        public Piece piece(Piece p) {
            if (p.isBytes()) {
                return p;
            }
            String t = p.text();
            return Piece.of(t.startsWith(prefix) ? t.substring(prefix.length()) : " " + t);
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

        public Piece piece(Piece p) {
            return p.isBytes() ? p : Piece.of(p.text().replace(replacement, ' '));
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

        public Piece piece(Piece p) {
            for (Decoder d : decoders) {
                p = d.piece(p);
            }
            return p;
        }
    }
}
