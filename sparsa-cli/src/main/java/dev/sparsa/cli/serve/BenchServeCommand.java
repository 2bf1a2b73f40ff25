package dev.sparsa.cli.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparsa.SparsaException.UsageException;
import dev.sparsa.io.HfCache;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code sparsa bench-serve}: throughput of {@code sparsa serve} under 1, 4, 16, ... concurrent streaming clients on
 * loopback. Starts the server in this JVM (or measures one at {@code --url}), warms it up, then per client count
 * runs a fixed number of greedy streamed completions from that many client threads and reports generated tokens
 * per second of wall time, time to first token, request latency and the server's mean decode batch.
 */
@Command(name = "bench-serve", mixinStandardHelpOptions = true,
        description = {"Throughput of sparsa serve with 1, 4, 16, ... concurrent streaming clients on loopback "
                + "(tokens/s, time to first token, latency, mean decode batch); starts the server here unless --url "
                + "names one. The machine's load average is printed with the results: other work on the machine "
                + "lowers them."})
public final class BenchServeCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", paramLabel = "PATH|ID", description = "Model to serve (as sparsa serve --model).")
    String model;

    @Option(names = "--url", paramLabel = "URL", description = "Measure a running server at URL (e.g. "
            + "http://127.0.0.1:8080) instead of starting one.")
    String url;

    @CommandLine.Mixin
    dev.sparsa.cli.SparseOption sparseOption = new dev.sparsa.cli.SparseOption();

    @Option(names = "--clients", split = ",", defaultValue = "1,4,16", paramLabel = "N,N,...",
            description = "Concurrent clients per run. Default: ${DEFAULT-VALUE}.")
    int[] clients;

    @Option(names = "--requests", defaultValue = "0", paramLabel = "N",
            description = "Requests per run (default: 2 per client, at least 8).")
    int requests;

    @Option(names = "--max-tokens", defaultValue = "64", paramLabel = "N",
            description = "max_tokens of each request. Default: ${DEFAULT-VALUE}.")
    int maxTokens;

    @Option(names = "--prompt", defaultValue = "The history of the city begins with", paramLabel = "TEXT",
            description = "Prompt of every request (each client appends its number). Default: ${DEFAULT-VALUE}.")
    String prompt;

    @Option(names = "--max-concurrent", paramLabel = "N",
            description = "Slots of the server started here (default: the largest --clients).")
    Integer maxConcurrent;

    @Option(names = "--no-batch", negatable = false,
            description = "Start the server with --no-batch (one decode per sequence, round robin).")
    boolean noBatch;

    @Option(names = "--threads", paramLabel = "N", description = "Model threads of the server started here.")
    Integer threads;

    @Option(names = "--json", description = "Print the results as JSON.")
    boolean json;

    /** One run's figures. */
    record Row(int clients, int requests, long tokens, double seconds, double tokensPerSecond, double ttftP50Ms,
               double latencyP50Ms, double latencyP95Ms, double meanBatch) {
    }

    @Override
    public Integer call() throws Exception {
        if ((model == null) == (url == null)) {
            throw new UsageException("give exactly one of --model and --url");
        }
        for (int c : clients) {
            if (c < 1) {
                throw new UsageException("--clients must all be >= 1, got " + c);
            }
        }
        if (maxTokens < 1 || requests < 0) {
            throw new UsageException("--max-tokens must be >= 1 and --requests >= 0");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        int slots = maxConcurrent != null ? maxConcurrent : Arrays.stream(clients).max().orElse(1);
        SparsaServer server = null;
        String base = url;
        String load0 = loadAverage();
        try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            if (base == null) {
                ServeCommand.quietJetty();
                SparsaServer.Options o = ServeCommand.options("127.0.0.1", 0, slots, 4096, !noBatch, 1 << 22,
                        threads);
                server = SparsaServer.start(ServedModel.open(model, HfCache.hubDir(), sparseOption.sparse,
                        sparseOption.calibration, null, null, null, null), o);
                base = server.url();
                err.println("bench-serve: serving " + ServeCommand.describe(server.model()) + " with " + slots
                        + " slots, batching " + (noBatch ? "off" : "on"));
            }
            err.println("bench-serve: warming up");
            err.flush();
            run(http, base, Math.min(4, slots), 8);
            List<Row> rows = new ArrayList<>();
            for (int c : clients) {
                int n = requests > 0 ? requests : Math.max(8, 2 * c);
                double[] before = batchCounters(http, base);
                long t0 = System.nanoTime();
                List<double[]> per = run(http, base, c, n);
                double secs = (System.nanoTime() - t0) / 1e9;
                double[] after = batchCounters(http, base);
                long tokens = 0;
                double[] ttft = new double[per.size()];
                double[] lat = new double[per.size()];
                for (int i = 0; i < per.size(); i++) {
                    tokens += (long) per.get(i)[0];
                    ttft[i] = per.get(i)[1];
                    lat[i] = per.get(i)[2];
                }
                double steps = after[1] - before[1];
                Row row = new Row(c, n, tokens, secs, tokens / secs, pct(ttft, 50), pct(lat, 50), pct(lat, 95),
                        steps > 0 ? (after[0] - before[0]) / steps : Double.NaN);
                rows.add(row);
                err.printf("bench-serve: %d clients: %.1f tok/s%n", c, row.tokensPerSecond());
                err.flush();
            }
            String load1 = loadAverage();
            if (json) {
                ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
                ObjectNode doc = om.createObjectNode().put("url", base).put("max_tokens", maxTokens)
                        .put("slots", server != null ? slots : -1).put("batching", !noBatch)
                        .put("load_average_before", load0).put("load_average_after", load1)
                        .put("processors", Runtime.getRuntime().availableProcessors());
                ArrayNode a = doc.putArray("runs");
                rows.forEach(r -> a.add(om.valueToTree(r)));
                out.println(om.writeValueAsString(doc));
            } else {
                out.printf("| clients | requests | tokens | seconds | tokens/s | TTFT p50 ms | latency p50 ms | "
                        + "latency p95 ms | mean batch |%n|---|---|---|---|---|---|---|---|---|%n");
                for (Row r : rows) {
                    out.printf("| %d | %d | %d | %.1f | %.1f | %.0f | %.0f | %.0f | %.2f |%n", r.clients(),
                            r.requests(), r.tokens(), r.seconds(), r.tokensPerSecond(), r.ttftP50Ms(),
                            r.latencyP50Ms(), r.latencyP95Ms(), r.meanBatch());
                }
                out.printf("(max_tokens %d, greedy, streamed; %d processors; load average before %s, after %s)%n",
                        maxTokens, Runtime.getRuntime().availableProcessors(), load0, load1);
            }
            out.flush();
        } finally {
            if (server != null) {
                server.close();
            }
        }
        return 0;
    }

    /** {@code n} requests from {@code c} client threads; per request: tokens, time to first token, latency (ms). */
    private List<double[]> run(HttpClient http, String base, int c, int n) throws Exception {
        AtomicInteger next = new AtomicInteger();
        List<double[]> out = java.util.Collections.synchronizedList(new ArrayList<>());
        try (ExecutorService pool = Executors.newFixedThreadPool(c, Thread.ofVirtual().factory())) {
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < c; i++) {
                int client = i;
                fs.add(pool.submit(() -> {
                    while (next.getAndIncrement() < n) {
                        out.add(request(http, base, prompt + " " + client));
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        }
        return out;
    }

    private double[] request(HttpClient http, String base, String text) throws IOException, InterruptedException {
        ObjectMapper om = new ObjectMapper();
        String body = om.createObjectNode().put("prompt", text).put("max_tokens", maxTokens).put("temperature", 0)
                .put("stream", true).set("stream_options", om.createObjectNode().put("include_usage", true))
                .toString();
        long t0 = System.nanoTime();
        HttpResponse<java.io.InputStream> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() != 200) {
            throw new IOException("HTTP " + r.statusCode() + ": " + new String(r.body().readAllBytes(),
                    StandardCharsets.UTF_8));
        }
        double first = -1;
        long tokens = 0;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (!line.startsWith("data: ") || line.equals("data: [DONE]")) {
                    continue;
                }
                JsonNode j = om.readTree(line.substring(6));
                if (first < 0 && j.path("choices").path(0).path("text").asText().length() > 0) {
                    first = (System.nanoTime() - t0) / 1e6;
                }
                if (j.has("usage")) {
                    tokens = j.get("usage").get("completion_tokens").asLong();
                }
            }
        }
        double latency = (System.nanoTime() - t0) / 1e6;
        return new double[] {tokens, first < 0 ? latency : first, latency};
    }

    /** The server's decode rows and steps so far (NaN when it has no such metrics). */
    private static double[] batchCounters(HttpClient http, String base) throws IOException, InterruptedException {
        String m = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        double rows = Double.NaN;
        double steps = Double.NaN;
        for (String line : m.split("\n")) {
            if (line.startsWith("sparsa_decode_rows_total ")) {
                rows = Double.parseDouble(line.substring(line.indexOf(' ') + 1));
            } else if (line.startsWith("sparsa_decode_steps_total ")) {
                steps = Double.parseDouble(line.substring(line.indexOf(' ') + 1));
            }
        }
        return new double[] {rows, steps};
    }

    private static double pct(double[] v, int p) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length == 0 ? Double.NaN : s[Math.min(s.length - 1, (int) Math.ceil(p / 100.0 * s.length) - 1)];
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }
}
