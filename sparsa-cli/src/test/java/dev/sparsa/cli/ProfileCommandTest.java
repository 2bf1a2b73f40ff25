package dev.sparsa.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The profile / report commands end to end on the synthetic toy models, and their bad-input errors. */
class ProfileCommandTest {

    record Run(int code, String out, String err) {
    }

    static synchronized Run cli(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int code = Main.execute(args);
            return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    static Path text(Path dir, int lines) throws Exception {
        Random r = new Random(5);
        String[] words = {"the", "jury", "said", "election", "county", "of", "a", "in", "and", "report"};
        List<String> ls = new ArrayList<>();
        for (int i = 0; i < lines; i++) {
            StringBuilder sb = new StringBuilder();
            for (int w = 0; w < 10; w++) {
                sb.append(words[r.nextInt(words.length)]).append(' ');
            }
            ls.add(sb.toString().strip() + ".");
        }
        Path f = dir.resolve("text.txt");
        Files.write(f, ls);
        return f;
    }

    @Test
    void profileWritesResultsAndASelfContainedReportRenderedFromTheJson(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        Run r = cli("profile", "--model", "toy-relu", "--text", text(dir, 60).toString(), "--tokens", "1024",
                "--out", out.toString(), "--threads", "1", "--eval-tokens", "256", "--bisection-steps", "2",
                "--predictor-tokens", "256");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("layer", "PPL-1%", "report:");
        assertThat(r.err()).contains("sparsa: profile", "100%");
        JsonNode j = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        assertThat(j.get("schema").asText()).isEqualTo("sparsa.profile/1");
        assertThat(j.get("layers")).hasSize(2);
        String html = Files.readString(out.resolve("report.html"));
        assertThat(html).startsWith("<!DOCTYPE html>").contains("<svg", "Sparsity per layer",
                "CETT–sparsity curve", "Perplexity vs sparsity", "Active-set reuse", "Predictivity");
        assertThat(html).doesNotContain("<script", "http://", "https://", "src=");
        // Re-rendering from the JSON alone gives the same page, and a section with the summary printed above.
        ReportAgain again = ReportAgain.of(out.resolve("results.json"), dir.resolve("again"));
        assertThat(again.html()).isEqualTo(Files.readAllBytes(out.resolve("report.html")));
        String summary = r.out().substring(0, r.out().indexOf("results: "));
        assertThat(new String(again.markdown(), java.nio.charset.StandardCharsets.UTF_8))
                .startsWith("### Profile: toy-relu (synthetic decoder) on text.txt\n")
                .endsWith("\n```\n" + summary + "```\n");
        try (var s = Files.list(out)) {
            assertThat(s.map(p -> p.getFileName().toString()).sorted().toList())
                    .containsExactly("report.html", "results.json");
        }
    }

    @Test
    void encoderRunsSkipDecoderOnlyMetricsWithANote(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("enc");
        Run r = cli("profile", "--model", "toy-gelu", "--text", text(dir, 40).toString(), "--tokens", "512",
                "--out", out.toString(), "--eval-tokens", "128", "--bisection-steps", "1");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        assertThat(j.get("dense").isNull()).isTrue();
        assertThat(j.get("qualitySparsity").get("metric").asText()).isEqualTo("cosine");
        assertThat(j.get("notes").toString()).contains("perplexity and bits-per-byte skipped");
        assertThat(Files.readString(out.resolve("report.html"))).contains("Cosine-p% sparsity");
    }

    @Test
    void badInputIsOneLineAndWritesNothing(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("never");
        Path empty = dir.resolve("empty.txt");
        Files.writeString(empty, "\n \n");
        Path bad = dir.resolve("bad.txt");
        Files.write(bad, new byte[]{'h', 'i', (byte) 0xff, '\n'});
        Path shortText = dir.resolve("short.txt");
        Files.writeString(shortText, "one short line\n");
        Path good = text(dir, 30);
        String[][] cases = {
                {"--text", empty.toString(), "--tokens", "100"},
                {"--text", bad.toString(), "--tokens", "100"},
                {"--text", shortText.toString(), "--tokens", "1000"},
                {"--text", good.toString(), "--tokens", "0"},
                {"--text", good.toString(), "--tokens", "10"},
                {"--text", dir.resolve("missing.txt").toString()},
                {"--corpus", "wikipedia"},
        };
        String[] expect = {"empty text", "invalid UTF-8 at byte offset 2", "fewer than one context window",
                "--tokens must be at least 1, got 0", "less than one context window", "no such file",
                "unknown corpus"};
        for (int i = 0; i < cases.length; i++) {
            // A decoder keeps a last partial window (the evaluation protocol), so "fewer than one window" is an
            // encoder's error: those two cases run the encoder.
            String model = i == 2 || i == 4 ? "toy-gelu" : "toy-relu";
            List<String> args = new ArrayList<>(List.of("profile", "--model", model, "--out", out.toString()));
            args.addAll(List.of(cases[i]));
            Run r = cli(args.toArray(String[]::new));
            assertThat(r.code()).as(String.join(" ", cases[i])).isEqualTo(2);
            assertThat(r.err().strip()).startsWith("sparsa: ").contains(expect[i]).doesNotContain("\n", "Exception");
        }
        Run unknown = cli("profile", "--model", "gpt-17", "--text", good.toString(), "--out", out.toString());
        assertThat(unknown.code()).isEqualTo(2);
        assertThat(unknown.err()).contains("unknown model");
        assertThat(out).doesNotExist();
        Path notJson = dir.resolve("x.json");
        Files.writeString(notJson, "{\"schema\": \"something else\"}");
        Run rep = cli("report", notJson.toString());
        assertThat(rep.code()).isEqualTo(2);
        assertThat(rep.err().strip()).contains("x.json", "\"schema\"", "unknown schema 'something else'")
                .doesNotContain("\n");
        assertThat(dir.resolve("report.html")).doesNotExist();
    }
}
