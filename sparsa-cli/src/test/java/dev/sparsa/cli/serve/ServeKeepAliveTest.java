package dev.sparsa.cli.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Keep-alives with the timing shrunk to a millisecond: a plain response that waited gets spaces before its JSON
 * (still one valid JSON document, status 200), a stream gets SSE comments, and clients read both as usual.
 */
@Timeout(60)
class ServeKeepAliveTest {
    @TempDir
    Path tmp;

    @Test
    void plainResponsesCarryLeadingSpacesAndStreamsComments() throws Exception {
        Path dir = ServeFixture.model(tmp.resolve("m"), "silu", 5, false);
        SparsaServer.Options o = new SparsaServer.Options("127.0.0.1", 0, 1, 8, true, 64 * 1024, 1, 1, 0);
        try (SparsaServer server = ServeFixture.serve(dir, "dense", o);
             HttpClient http = HttpClient.newHttpClient()) {
            for (boolean stream : new boolean[] {false, true}) {
                String body = "{\"prompt\": \"Hello world\", \"max_tokens\": 240, \"temperature\": 0, \"stream\": "
                        + stream + "}";
                long t0 = System.nanoTime();
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(server.url()
                        + "/v1/completions")).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                        HttpResponse.BodyHandlers.ofString());
                double ms = (System.nanoTime() - t0) / 1e6;
                assertThat(r.statusCode()).isEqualTo(200);
                if (!stream) {
                    JsonNode j = new ObjectMapper().readTree(r.body());        // leading spaces are whitespace
                    int tokens = j.get("usage").get("completion_tokens").asInt();
                    assertThat(tokens).isPositive();
                    if (ms > 50) {
                        assertThat(r.body()).as("%s ms, %d tokens", ms, tokens).startsWith(" ");
                    }
                    assertThat(r.body().strip()).startsWith("{\"id\":\"cmpl-");
                } else {
                    assertThat(r.body()).endsWith("data: [DONE]\n\n");
                    if (ms > 50) {
                        assertThat(r.body()).as("%s ms", ms).contains(": keep-alive\n\n");
                    }
                }
            }
        }
    }
}
