package dev.sparsa.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.io.Fetch;
import dev.sparsa.io.onnx.MiniLm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class EmbedCommandTest {
    @TempDir
    static Path cache;
    static MiniLm.Files miniLm;

    @BeforeAll
    static void fetch() {
        miniLm = MiniLm.fetch(new Fetch(cache, new PrintStream(new ByteArrayOutputStream())));
    }

    @Test
    void jsonHasNormalizedEmbeddingsAndCosines() throws Exception {
        StringWriter out = new StringWriter();
        CommandLine cl = new CommandLine(new Main()).setOut(new PrintWriter(out));
        // "hello world", "hello", "stock market" as bert-base-uncased vocabulary ids
        int rc = cl.execute("embed", "--model", miniLm.model().toString(), "--threads", "2", "--json",
                "--ids", "101 7592 2088 102", "--ids", "101,7592,102", "--ids", "101 4518 3006 102");
        assertThat(rc).isZero();
        JsonNode doc = new ObjectMapper().readTree(out.toString());
        assertThat(doc.get("dimension").asInt()).isEqualTo(384);
        assertThat(doc.get("texts")).hasSize(3);
        for (JsonNode t : doc.get("texts")) {
            double ss = 0;
            for (JsonNode v : t.get("embedding")) {
                ss += v.asDouble() * v.asDouble();
            }
            assertThat(t.get("embedding")).hasSize(384);
            assertThat(ss).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
        }
        JsonNode cos = doc.get("cosine");
        assertThat(cos.get(0).get(0).asDouble()).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
        assertThat(cos.get(0).get(1).asDouble()).isEqualTo(cos.get(1).get(0).asDouble());
        assertThat(cos.get(0).get(1).asDouble()).isGreaterThan(cos.get(0).get(2).asDouble() + 0.3);
    }

    @Test
    void textsAreTokenizedWithTheModelsTokenizerJson() throws Exception {
        StringWriter out = new StringWriter();
        CommandLine cl = new CommandLine(new Main()).setOut(new PrintWriter(out));
        int rc = cl.execute("embed", "--model", miniLm.model().toString(), "--tokenizer",
                miniLm.tokenizer().toString(), "--json", "--text", "hello world", "--text", "Hello, World!",
                "--text", "The stock market fell.");
        assertThat(rc).isZero();
        JsonNode doc = new ObjectMapper().readTree(out.toString());
        assertThat(doc.get("texts").get(0).get("ids").toString()).isEqualTo("[101,7592,2088,102]");
        assertThat(doc.get("texts").get(1).get("ids").toString()).isEqualTo("[101,7592,1010,2088,999,102]");
        JsonNode cos = doc.get("cosine");
        assertThat(cos.get(0).get(1).asDouble()).isGreaterThan(0.8);
        assertThat(cos.get(0).get(2).asDouble()).isLessThan(0.5);
    }

    @Test
    void textOutputAndErrors() {
        StringWriter out = new StringWriter();
        CommandLine cl = new CommandLine(new Main()).setOut(new PrintWriter(out));
        assertThat(cl.execute("embed", "--model", miniLm.model().toString(), "--show", "3",
                "--ids", "101 7592 102", "--ids", "101 4518 102")).isZero();
        assertThat(out.toString()).contains("(bert, 6 layers, hidden 384, FFN 1536, gelu)")
                .contains("embeddings: 2 × 384").contains("[1] ids[101, 7592, 102] (3 tokens):")
                .contains("cosine similarity:");

        PrintStream saved = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true));
        try {
            assertThat(Main.execute("embed", "--model", "missing.onnx", "--ids", "101 102")).isEqualTo(2);
            assertThat(Main.execute("embed", "--model", miniLm.model().toString(), "--ids", "101 99999 102"))
                    .isEqualTo(2);
            assertThat(Main.execute("embed", "--model", miniLm.model().toString(), "--ids", "101 x 102"))
                    .isEqualTo(2);
        } finally {
            System.setErr(saved);
        }
        assertThat(err.toString().lines().toList()).containsExactly(
                "sparsa: missing.onnx: no such file or directory",
                "sparsa: token id 99999 at sequence 0 position 1 is outside the vocabulary [0, 30522)",
                "sparsa: --ids: 'x' is not a token id");
    }

    /** tokenizer.json declares truncation at 128: a longer text is cut with a notice; --max-length overrides. */
    @Test
    void textsAreCutToTheTokenizersTruncationOrMaxLength() throws Exception {
        String longText = "word ".repeat(200).strip();
        for (String[] extra : new String[][]{{}, {"--max-length", "16"}}) {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            CommandLine cl = new CommandLine(new Main()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err));
            String[] args = {"embed", "--model", miniLm.model().toString(), "--json", "--text", longText,
                    "--text", "short"};
            String[] all = java.util.stream.Stream.concat(java.util.Arrays.stream(args), java.util.Arrays.stream(extra))
                    .toArray(String[]::new);
            assertThat(cl.execute(all)).isZero();
            int n = extra.length == 0 ? 128 : 16;
            JsonNode ids = new ObjectMapper().readTree(out.toString()).get("texts").get(0).get("ids");
            assertThat(ids).hasSize(n);
            assertThat(ids.get(0).asInt()).isEqualTo(101);      // [CLS] kept first
            assertThat(ids.get(n - 1).asInt()).isEqualTo(102);  // [SEP] kept last
            assertThat(err.toString().strip()).isEqualTo("sparsa: text 1 truncated from 202 to " + n + " tokens ("
                    + (extra.length == 0 ? miniLm.tokenizer().getFileName() + " truncation max_length 128)"
                    : "--max-length 16)"));
        }
    }

    @Test
    void blankTextsAndBadOptionsAreRefusedInOneLine() throws Exception {
        String model = miniLm.model().toString();
        Path blank = java.nio.file.Files.writeString(cache.resolve("blank.txt"), "\n  \n\t\n");
        String[][] cases = {
                {"--text", "hello", "--text", " ", "sparsa: --text 2 is empty: nothing to embed"},
                {"--text", "", "sparsa: --text 1 is empty: nothing to embed"},
                {"--file", blank.toString(), "sparsa: " + blank + ": no non-blank lines to embed"},
                {"--file", cache.resolve("absent.txt").toString(), "sparsa: " + cache.resolve("absent.txt")
                        + ": no such file"},
                {"--ids", "101 102", "--batch", "0",
                        "sparsa: --threads and --show must be >= 0 and --batch >= 1, got 0, 8 and 0"},
                {"--ids", " ", "sparsa: --ids: empty sequence"},
        };
        for (String[] c : cases) {
            String[] args = new String[c.length + 1];
            args[0] = "embed";
            args[1] = "--model=" + model;
            System.arraycopy(c, 0, args, 2, c.length - 1);
            CliRun r = CliRun.of(args);
            assertThat(r.code()).as(String.join(" ", c)).isEqualTo(2);
            assertThat(r.err().lines().toList()).as(String.join(" ", c)).containsExactly(c[c.length - 1]);
        }
    }
}
