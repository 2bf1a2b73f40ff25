package dev.sparsa.cli.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A streaming client that leaves mid-response, without the network's timing: the reply's third event write fails as
 * a closed connection does. The request ends with that IOException, the disconnect is counted once, and the decode
 * loop drops the generation (idle, no KV cache held) and keeps serving. (ServeLoadTest sees the same over HTTP, where
 * whether a leaving client is still being written to depends on timing.)
 */
class ServeDisconnectTest {
    @TempDir
    Path tmp;

    @Test
    void aClientLeavingMidStreamIsCountedAndItsGenerationDropped() throws Exception {
        Path dir = ServeFixture.model(tmp.resolve("relu"), "relu", 11, false);
        try (ServedModel m = ServedModel.open(dir.toString(), tmp, "exact", null, null, null, "tiny");
             Parallel par = new Parallel(2)) {
            ServedModel.Decoder d = (ServedModel.Decoder) m;
            Metrics metrics = new Metrics("tiny", "exact", 2, 96, () -> 0, () -> 0);
            try (DecodeLoop loop = new DecodeLoop(d.model(), d.stopIds(), par, 4, 64, true, metrics)) {
                OpenAiApi api = new OpenAiApi(m, loop, null, metrics, 1000, 1000);
                JsonNode body = new ObjectMapper().readTree("{\"model\": \"tiny\", \"prompt\": \"the cat\", "
                        + "\"max_tokens\": 200, \"temperature\": 0, \"stream\": true}");
                AtomicInteger events = new AtomicInteger();
                OpenAiApi.Reply gone = new OpenAiApi.Reply() {
                    public void json(int status, JsonNode b) {
                        throw new AssertionError("a stream answers in events, got JSON " + status);
                    }

                    public void startEvents() {
                    }

                    public void event(String data) throws IOException {
                        if (events.incrementAndGet() > 2) {
                            throw new IOException("Broken pipe");          // the client closed after two chunks
                        }
                    }

                    public void keepAlive() {
                    }
                };
                assertThatThrownBy(() -> api.completions(body, gone)).isInstanceOf(IOException.class)
                        .hasMessage("Broken pipe");
                assertThat(events.get()).isEqualTo(3);
                DecodeLoopTest.awaitIdle(loop);
                String text = new String(metrics.scrape(), StandardCharsets.UTF_8);
                assertThat(ServeLoadTest.value(text, "sparsa_client_disconnects_total")).isEqualTo(1.0);
                // the loop still serves: the next request streams to its end
                AtomicInteger more = new AtomicInteger();
                api.completions(body, new OpenAiApi.Reply() {
                    public void json(int status, JsonNode b) {
                        throw new AssertionError("JSON " + status);
                    }

                    public void startEvents() {
                    }

                    public void event(String data) {
                        more.incrementAndGet();
                    }

                    public void keepAlive() {
                    }
                });
                assertThat(more.get()).isGreaterThan(3);
                assertThat(ServeLoadTest.value(new String(metrics.scrape(), StandardCharsets.UTF_8),
                        "sparsa_client_disconnects_total")).isEqualTo(1.0);
            }
        }
    }
}
