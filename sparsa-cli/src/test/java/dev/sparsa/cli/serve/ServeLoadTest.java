package dev.sparsa.cli.serve;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A load test on loopback, bounded in count (64 requests) and time: streaming clients of the OpenAI SDK, 8 at a
 * time, against a server of 4 slots (so requests also queue), a ReLU model served with {@code --sparse exact};
 * every fifth client leaves after two chunks. Every finished stream equals its single-client answer; afterwards the
 * server holds no sequence, queue entry or KV cache, and once closed leaves no thread and no retained heap.
 */
@Timeout(120)
class ServeLoadTest {
    @TempDir
    Path tmp;

    static final int REQUESTS = 64;
    static final int CLIENTS = 8;

    static Set<String> ourThreads() {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .filter(n -> n.startsWith("sparsa-")).collect(Collectors.toSet());
    }

    static long usedHeapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    static CompletionCreateParams params(String prompt, int max) {
        return CompletionCreateParams.builder().model("tiny").prompt(prompt).maxTokens(max).temperature(0.0).build();
    }

    /** Streams one completion; with {@code leaveAfter} > 0 closes the stream after that many chunks (null). */
    static String stream(OpenAIClient client, String prompt, int max, int leaveAfter) {
        StringBuilder sb = new StringBuilder();
        try (StreamResponse<Completion> s = client.completions().createStreaming(params(prompt, max))) {
            Iterator<Completion> it = s.stream().iterator();
            int chunks = 0;
            while (it.hasNext()) {
                it.next().choices().forEach(c -> sb.append(c.text()));
                if (leaveAfter > 0 && ++chunks == leaveAfter) {
                    return null;   // closing the stream drops the connection mid-response
                }
            }
        }
        return sb.toString();
    }

    @Test
    void sixtyFourStreamingClientsEightAtATimeSomeLeavingMidway() throws Exception {
        Path dir = ServeFixture.model(tmp.resolve("relu"), "relu", 11, false);
        List<String> prompts = DecodeLoopTest.prompts();
        int[] max = new int[prompts.size()];
        for (int i = 0; i < max.length; i++) {
            max[i] = 8 + 4 * (i % 5);
        }
        // the greedy answers have top-2 gaps batching cannot flip (see DecodeLoopTest.Reference)
        List<DecodeLoopTest.Reference> refs = new ArrayList<>();
        try (ServedModel m = ServedModel.open(dir.toString(), tmp, "exact", null, null, null, "tiny");
             Parallel par = new Parallel(2)) {
            ServedModel.Decoder d = (ServedModel.Decoder) m;
            for (int i = 0; i < prompts.size(); i++) {
                DecodeLoopTest.Reference r = DecodeLoopTest.reference(d.model(),
                        d.tokenizer().encode(prompts.get(i), true), max[i], d.stopIds(), par);
                assertThat(r.safe()).as("prompt %d: gap %s", i, r.margin()).isTrue();
                refs.add(r);
            }
        }
        Set<String> threadsBefore = ourThreads();
        long heapBefore = usedHeapAfterGc();
        SparsaServer server = ServeFixture.serve(dir, "exact", ServeFixture.options(4, 64, true));
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(server.url() + "/v1").apiKey("unused")
                .maxRetries(0).build();
        int left = 0;
        try {
            List<String> alone = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                alone.add(stream(client, prompts.get(i), max[i], 0));
            }
            List<Future<String>> results = new ArrayList<>();
            try (ExecutorService clients = Executors.newFixedThreadPool(CLIENTS, Thread.ofVirtual().factory())) {
                for (int r = 0; r < REQUESTS; r++) {
                    int i = r % prompts.size();
                    boolean leave = r % 5 == 2;
                    left += leave ? 1 : 0;
                    results.add(clients.submit(() -> stream(client, prompts.get(i), leave ? 200 : max[i],
                            leave ? 2 : 0)));
                }
                for (int r = 0; r < REQUESTS; r++) {
                    String got = results.get(r).get(60, TimeUnit.SECONDS);
                    int i = r % prompts.size();
                    if (r % 5 == 2) {
                        assertThat(got).isNull();
                    } else {
                        assertThat(got).as("request %d (prompt %d)", r, i).isEqualTo(alone.get(i));
                    }
                }
            }
            DecodeLoopTest.awaitIdle(server.loop());
            String metrics = new String(server.metrics().scrape(), java.nio.charset.StandardCharsets.UTF_8);
            // never more than the clients that left; how many are seen depends on whether the server was still
            // writing when each closed (a response that fits the socket buffers ends unnoticed), so the counting
            // itself is checked without the network's timing in ServeDisconnectTest
            assertThat(value(metrics, "sparsa_client_disconnects_total")).isBetween(0.0, (double) left);
            // steps did batch rows of several requests (how many depends on arrival timing on a loaded machine; one
            // at a time would give exactly 1)
            assertThat(value(metrics, "sparsa_decode_rows_total") / value(metrics, "sparsa_decode_steps_total"))
                    .as("mean decode batch").isGreaterThan(1.1);
            assertThat(value(metrics, "sparsa_ffn_active_fraction{layer=\"1\"}")).isBetween(0.05, 0.95);
            for (int i = 0; i < prompts.size(); i++) {
                ServedModel.Decoder d = (ServedModel.Decoder) server.model();
                assertThat(alone.get(i)).isEqualTo(d.tokenizer().decode(refs.get(i).ids(), true));
            }
        } finally {
            client.close();
            server.close();
        }
        long t0 = System.nanoTime();
        Set<String> extra = Set.of();
        while (System.nanoTime() - t0 < 10_000_000_000L) {
            extra = ourThreads().stream().filter(n -> !threadsBefore.contains(n)).collect(Collectors.toSet());
            if (extra.isEmpty()) {
                break;
            }
            Thread.sleep(20);
        }
        assertThat(extra).as("threads left by the server").isEmpty();
        assertThat(usedHeapAfterGc() - heapBefore).as("heap retained after the server closed")
                .isLessThan(64L << 20);
    }

    /** The value of the sample line {@code name} (with its labels) in Prometheus text. */
    static double value(String metrics, String name) {
        for (String line : metrics.split("\n")) {
            if (line.startsWith(name + " ")) {
                return Double.parseDouble(line.substring(name.length() + 1).trim());
            }
        }
        throw new AssertionError("no " + name + " in\n" + metrics);
    }
}
