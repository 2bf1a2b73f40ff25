package dev.sparsa.cli.serve;

import dev.sparsa.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code sparsa serve} as a command: help, one-line option errors, a hub id, and a real process stopped by signal. */
@Timeout(90)
class ServeCommandTest {
    @TempDir
    Path tmp;

    /** Exit code and stderr of {@code sparsa args...} run in this JVM. */
    record Run(int code, String err) {
    }

    static synchronized Run run(String... args) {
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            return new Run(Main.execute(args), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(old);
        }
    }

    @Test
    void helpNamesTheOptionsAndBadOptionsAreOneLine() {
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            assertThat(Main.execute("serve", "--help")).isZero();
        } finally {
            System.setOut(old);
        }
        String help = out.toString(StandardCharsets.UTF_8).replaceAll("\\s+", " ");
        assertThat(help).contains("--model", "--sparse", "--host", "--port",
                "--max-concurrent", "--ctx", "--calibration", "127.0.0.1", "/v1/chat/completions");
        Path silu = ServeFixture.model(tmp.resolve("silu"), "silu", 1, false);
        List<String[]> bad = List.of(
                new String[] {"--model", silu.toString(), "--sparse", "sparsest"},
                new String[] {"--model", silu.toString(), "--sparse", "topk"},
                new String[] {"--model", silu.toString(), "--sparse", "exact"},
                new String[] {"--model", silu.toString(), "--port", "70000"},
                new String[] {"--model", silu.toString(), "--max-concurrent", "0"},
                new String[] {"--model", silu.toString(), "--ctx", "100000"},
                new String[] {"--model", tmp.resolve("nope").toString()},
                new String[] {"--model", "no-org/no-model"});
        List<String> says = List.of("--sparse must be one of dense, exact, cats, teal, topk, predicted, lte, "
                        + "attribution, got sparsest",
                "no calibration file for --sparse topk; make one with sparsa calibrate --method topk",
                "--sparse exact needs a ReLU-family model (relu, relu2, fatrelu, drelu: exact zeros to skip); this "
                        + "model uses silu: use --sparse cats, teal or predicted",
                "--port must be in [0, 65535], got 70000", "--max-concurrent must be >= 1, got 0",
                "--ctx 100000 exceeds the model's max_position_embeddings 256", "nope: no such file or directory",
                "no model 'no-org/no-model' in the Hugging Face cache");
        for (int i = 0; i < bad.size(); i++) {
            String[] args = new String[bad.get(i).length + 1];
            args[0] = "serve";
            System.arraycopy(bad.get(i), 0, args, 1, bad.get(i).length);
            Run r = run(args);
            assertThat(r.code()).as(r.err()).isEqualTo(2);
            assertThat(r.err().strip()).startsWith("sparsa: ").contains(says.get(i)).doesNotContain("\n");
        }
    }

    @Test
    void aHubIdInTheLocalCacheIsServedUnderThatId() throws Exception {
        Path hub = tmp.resolve("hub");
        Path snap = hub.resolve("models--tiny-org--tiny-llama/snapshots/0123abcd");
        ServeFixture.model(snap, "silu", 2, true);
        Files.createDirectories(hub.resolve("models--tiny-org--tiny-llama/refs"));
        Files.writeString(hub.resolve("models--tiny-org--tiny-llama/refs/main"), "0123abcd");
        try (ServedModel m = ServedModel.open("tiny-org/tiny-llama", hub, "dense", 64, null, null, null)) {
            assertThat(m.id()).isEqualTo("tiny-org/tiny-llama");
            ServedModel.Decoder d = (ServedModel.Decoder) m;
            assertThat(d.context()).isEqualTo(64);
            assertThat(d.chat().isFallback()).isFalse();
            assertThat(d.stopIds()).contains(d.tokenizer().eosId());
        }
        try (ServedModel m = ServedModel.open(snap.toString(), hub, "dense", null, null, null, null)) {
            assertThat(m.id()).isEqualTo("0123abcd");                 // a path: its folder name
            assertThat(((ServedModel.Decoder) m).context()).isEqualTo(256);
        }
    }

    @Test
    void theCommandServesUntilItIsSignalled() throws Exception {
        Path dir = ServeFixture.model(tmp.resolve("m"), "relu", 3, true);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "dev.sparsa.cli.Main", "serve", "--model", dir.toString(), "--port", "0", "--sparse", "exact",
                "--threads", "1").redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            Pattern url = Pattern.compile("on (http://127\\.0\\.0\\.1:\\d+)/v1 \\(Ctrl-C to stop\\)");
            String base = null;
            StringBuilder seen = new StringBuilder();
            for (String line; base == null && (line = out.readLine()) != null; ) {
                seen.append(line).append('\n');
                Matcher mt = url.matcher(line);
                if (mt.find()) {
                    base = mt.group(1);
                    assertThat(line).contains("--sparse exact").contains("chat template the model's");
                }
            }
            assertThat(base).as(seen.toString()).isNotNull();
            try (HttpClient http = HttpClient.newHttpClient()) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"messages\": [{\"role\": \"user\", \"content\": "
                                + "\"Hello\"}], \"max_tokens\": 4}")).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(r.body()).contains("\"object\":\"chat.completion\"");
            }
            p.toHandle().destroy();                                    // SIGTERM (streams stay open to read)
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isIn(0, 143);
            StringBuilder rest = new StringBuilder();
            for (String line; (line = out.readLine()) != null; ) {
                rest.append(line).append('\n');
            }
            assertThat(rest.toString()).contains("sparsa serve: stopped").doesNotContain("Exception");
        } finally {
            p.destroyForcibly();
        }
    }
}
