package dev.sparsa.cli.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bad input over plain HTTP: every case is a 4xx with an OpenAI error object ({@code error.message / type / param /
 * code}) naming the field, never a 500 or a stack trace, and the server keeps serving after all of them.
 */
@Timeout(60)
class ServeBadInputTest {
    @TempDir
    static Path tmp;
    static SparsaServer server;
    static HttpClient http;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void start() throws Exception {
        Path dir = ServeFixture.model(tmp.resolve("tiny"), "silu", 7, true);
        server = ServeFixture.serve(dir, "dense", ServeFixture.options(2, 8, true));
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    }

    @AfterAll
    static void stop() {
        http.close();
        server.close();
    }

    record Reply(int status, String body, HttpResponse<String> raw) {
        JsonNode json() throws Exception {
            return JSON.readTree(body);
        }
    }

    static Reply send(String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.url() + path))
                .header("Content-Type", "application/json");
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.body(), r);
    }

    /** One case: request, expected status and param (null: none). */
    record Case(String path, String body, int status, String param, String says) {
    }

    /** A token-id prompt of {@code n} tokens. */
    static String ids(int n) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : ",").append(5);
        }
        return sb.append("]").toString();
    }

    static String deep(int depth) {
        return "[".repeat(depth) + "]".repeat(depth);
    }

    static final String C = "/v1/completions";
    static final String CHAT = "/v1/chat/completions";

    static List<Case> cases() {
        List<Case> cs = new ArrayList<>();
        // malformed bodies
        cs.add(new Case(C, "{\"prompt\": \"x\",", 400, null, "parse the JSON"));
        cs.add(new Case(C, "{\"prompt\": \"x\"} trailing", 400, null, "parse the JSON"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"prompt\": \"y\"}", 400, null, "Duplicate field"));
        cs.add(new Case(C, "[1, 2]", 400, null, "must be a JSON object, got an array"));
        cs.add(new Case(C, "", 400, null, "empty"));
        cs.add(new Case(C, deep(5000), 400, null, "parse the JSON"));
        // missing and wrong types
        cs.add(new Case(C, "{\"max_tokens\": 4}", 400, "prompt", "Missing required parameter"));
        cs.add(new Case(C, "{\"prompt\": 5}", 400, "prompt", "got an integer"));
        cs.add(new Case(C, "{\"prompt\": []}", 400, "prompt", "empty array"));
        cs.add(new Case(C, "{\"prompt\": [\"a\", {}]}", 400, "prompt[1]", "got an object"));
        cs.add(new Case(C, "{\"prompt\": [1, 99999]}", 400, "prompt", "token id"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"max_tokens\": \"16\"}", 400, "max_tokens", "must be an integer"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"max_tokens\": 2.5}", 400, "max_tokens", "must be an integer"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"temperature\": \"hot\"}", 400, "temperature", "must be a number"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"stream\": \"yes\"}", 400, "stream", "must be a boolean"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"stop\": 5}", 400, "stop", "string or an array"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"stop\": [\"a\", 1]}", 400, "stop", "stop[1]"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"stop\": [\"\"]}", 400, "stop", "must not be empty"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"stop\": [\"a\",\"b\",\"c\",\"d\",\"e\"]}", 400, "stop", "at most 4"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"seed\": 1.5}", 400, "seed", "must be an integer"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"model\": 7}", 400, "model", "must be a string"));
        // values out of range
        cs.add(new Case(C, "{\"prompt\": \"x\", \"max_tokens\": 0}", 400, "max_tokens", ">= 1"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"max_tokens\": -3}", 400, "max_tokens", ">= 1"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"max_tokens\": 99999999999}", 400, "max_tokens", "must be"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"max_tokens\": 100000}", 400, "max_tokens", "context of 256"));
        cs.add(new Case(C, "{\"prompt\": " + ids(250) + ", \"max_tokens\": 10}", 400, "max_tokens",
                "you requested 260 tokens (250 in the prompt, 10 for the completion)"));
        cs.add(new Case(C, "{\"prompt\": " + ids(300) + "}", 400, "prompt", "maximum context length is 256"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"temperature\": -0.1}", 400, "temperature", "[0, 2]"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"temperature\": 2.5}", 400, "temperature", "[0, 2]"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"top_p\": 0}", 400, "top_p", "(0, 1]"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"top_p\": 1.5}", 400, "top_p", "[0, 1]"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"n\": 2}", 400, "n", "must be 1"));
        // unknown or unsupported fields
        cs.add(new Case(C, "{\"prompt\": \"x\", \"foo\": 1}", 400, "foo", "Unrecognized request argument"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"top_k\": 5}", 400, "top_k", "Unrecognized request argument"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"echo\": true}", 400, "echo", "not supported"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"logit_bias\": {\"5\": 10}}", 400, "logit_bias", "not supported"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"stream_options\": {\"include_usage\": true}}", 400,
                "stream_options", "only allowed when 'stream' is true"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"stream\": true, \"stream_options\": {\"x\": 1}}", 400,
                "stream_options.x", "Unrecognized"));
        cs.add(new Case(C, "{\"prompt\": \"x\", \"model\": \"gpt-4\"}", 404, "model", "does not exist"));
        // chat
        cs.add(new Case(CHAT, "{}", 400, "messages", "Missing required parameter"));
        cs.add(new Case(CHAT, "{\"messages\": \"hi\"}", 400, "messages", "got a string"));
        cs.add(new Case(CHAT, "{\"messages\": []}", 400, "messages", "empty array"));
        cs.add(new Case(CHAT, "{\"messages\": [{\"content\": \"hi\"}]}", 400, "messages[0].role", "Missing"));
        cs.add(new Case(CHAT, "{\"messages\": [{\"role\": \"robot\", \"content\": \"hi\"}]}", 400, "messages[0].role",
                "must be one of"));
        cs.add(new Case(CHAT, "{\"messages\": [{\"role\": \"tool\", \"content\": \"hi\"}]}", 400, "messages[0].role",
                "tool calls are not supported"));
        cs.add(new Case(CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}", 400, "messages[0].content",
                "got an integer"));
        cs.add(new Case(CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", "
                + "\"image_url\": {}}]}]}", 400, "messages[0].content[0].type", "text parts only"));
        cs.add(new Case(CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\", \"x\": 1}]}", 400,
                "messages[0].x", "Unrecognized"));
        cs.add(new Case(CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 4, "
                + "\"max_completion_tokens\": 4}", 400, "max_tokens", "not both"));
        cs.add(new Case(CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_completion_tokens\": "
                + "0}", 400, "max_completion_tokens", ">= 1"));
        cs.add(new Case(CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"tools\": [{}]}", 400,
                "tools", "not supported"));
        // endpoints and methods
        cs.add(new Case("/v1/embeddings", "{\"input\": \"x\"}", 400, "model", "needs a BERT encoder"));
        return cs;
    }

    static void assertErrorObject(Reply r, int status, String param, String says) throws Exception {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.raw().headers().firstValue("content-type").orElse("")).startsWith("application/json");
        JsonNode e = r.json().get("error");
        assertThat(e).as(r.body()).isNotNull();
        assertThat(e.get("message").asText()).as(r.body()).contains(says).doesNotContain("\tat ")
                .doesNotContain("Exception");
        assertThat(e.has("type") && e.has("param") && e.has("code")).as(r.body()).isTrue();
        if (param == null) {
            assertThat(e.get("param").isNull()).as(r.body()).isTrue();
        } else {
            assertThat(e.get("param").asText()).as(r.body()).isEqualTo(param);
        }
    }

    @Test
    void everyBadRequestIsAFourHundredNamingTheField() throws Exception {
        List<Case> cs = cases();
        assertThat(cs).hasSizeGreaterThan(45);
        for (Case c : cs) {
            Reply r = send("POST", c.path(), c.body());
            assertErrorObject(r, c.status(), c.param(), c.says());
        }
        assertServing();
        assertThat(send("GET", "/metrics", null).body())
                .contains("sparsa_http_requests_total{endpoint=\"/v1/completions\",status=\"400\"}");
    }

    @Test
    void oversizedBodiesUnknownEndpointsWrongMethodsAndBrokenHttp() throws Exception {
        String big = "{\"prompt\": \"" + "a".repeat(100_000) + "\"}";   // the test server's limit is 64 KiB
        assertErrorObject(send("POST", C, big), 413, null, "exceeds the limit of 65536 bytes");
        assertErrorObject(send("POST", "/v1/foo", "{}"), 404, null, "Invalid URL (POST /v1/foo)");
        assertErrorObject(send("GET", "/", null), 404, null, "Invalid URL (GET /)");
        Reply get = send("GET", C, null);
        assertErrorObject(get, 405, null, "Method GET is not allowed for /v1/completions; use POST");
        assertThat(get.raw().headers().firstValue("allow")).contains("POST");
        assertErrorObject(send("POST", "/v1/models", "{}"), 405, null, "use GET");
        assertErrorObject(send("DELETE", "/health", null), 405, null, "use GET");
        assertErrorObject(send("GET", "/v1/models/nope", null), 404, "model", "does not exist");

        // not HTTP at all, and headers over Jetty's limit: Jetty's own errors, as JSON too
        for (String raw : List.of("GARBAGE\r\n\r\n", "POST /v1/completions HTTP/1.1\r\nHost: x\r\nX-Big: "
                + "b".repeat(20_000) + "\r\n\r\n")) {
            try (Socket s = new Socket("127.0.0.1", server.port())) {
                s.setSoTimeout(10_000);
                OutputStream out = s.getOutputStream();
                out.write(raw.getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = s.getInputStream();
                String resp = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                assertThat(resp).startsWith("HTTP/1.1 4");
                String body = resp.substring(resp.indexOf("\r\n\r\n") + 4);
                assertThat(JSON.readTree(body).get("error").get("message").asText()).isNotBlank();
                assertThat(resp).doesNotContain("Exception").doesNotContain("<html");
            }
        }
        assertServing();
    }

    /** Health, metrics and a real completion still answer. */
    static void assertServing() throws Exception {
        assertThat(send("GET", "/health", null).json().get("status").asText()).isEqualTo("ok");
        Reply ok = send("POST", C, "{\"prompt\": \"Hello\", \"max_tokens\": 3, \"temperature\": 0}");
        assertThat(ok.status()).as(ok.body()).isEqualTo(200);
        assertThat(ok.json().get("usage").get("completion_tokens").asInt()).isBetween(1, 3);
        String metrics = send("GET", "/metrics", null).body();
        assertThat(metrics).contains("sparsa_http_requests_total{endpoint=\"/v1/completions\",status=\"200\"}")
                .doesNotContain("status=\"500\"");
    }
}
