package dev.sparsa.cli.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import dev.sparsa.cli.Main;
import dev.sparsa.io.tokenizer.TokenizerJson;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code sparsa serve} driven as a user drives it, with the official OpenAI Java SDK: completions and chat, plain and
 * streamed, against {@code sparsa generate} run on the same model (temperature 0, and seeded sampling).
 */
@Timeout(60)
class ServeOpenAiClientTest {
    @TempDir
    static Path tmp;
    static Path dir;
    static SparsaServer server;
    static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        dir = ServeFixture.model(tmp.resolve("tiny"), "silu", 7, true);
        server = ServeFixture.serve(dir, "dense", ServeFixture.options(4, 16, true));
        client = OpenAIOkHttpClient.builder().baseUrl(server.url() + "/v1").apiKey("unused").maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
    }

    /** {@code sparsa generate ... --json} in this JVM. */
    static JsonNode generate(String... args) throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all = new ArrayList<>(List.of("generate", "--model", dir.toString(), "--json", "--threads",
                "2"));
        all.addAll(List.of(args));
        int rc = new CommandLine(new Main()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute(all.toArray(String[]::new));
        assertThat(rc).as(err.toString()).isZero();
        return new ObjectMapper().readTree(out.toString());
    }

    static String finish(JsonNode ref) {
        return ref.get("stop_reason").asText().equals("eos") ? "stop" : "length";
    }

    @Test
    void greedyCompletionsEqualSparsaGenerate() throws Exception {
        for (String prompt : List.of("Hello world", "The quick brown fox", "Sparse")) {
            JsonNode ref = generate("--prompt", prompt, "--max-tokens", "24", "--temperature", "0");
            Completion c = client.completions().create(CompletionCreateParams.builder().model("tiny").prompt(prompt)
                    .maxTokens(24).temperature(0.0).build());
            CompletionChoice choice = c.choices().getFirst();
            assertThat(choice.text()).as(prompt).isEqualTo(ref.get("generated_text").asText());
            assertThat(choice.finishReason().asString()).isEqualTo(finish(ref));
            var usage = c.usage().orElseThrow();
            assertThat(usage.completionTokens()).isEqualTo(ref.get("generated_ids").size());
            assertThat(usage.promptTokens()).isEqualTo(ref.get("prompt_ids").size());
            assertThat(usage.totalTokens()).isEqualTo(usage.promptTokens() + usage.completionTokens());
            assertThat(c.model()).isEqualTo("tiny");
            assertThat(c.id()).startsWith("cmpl-");
        }
    }

    @Test
    void streamedCompletionIsTheSameTextTokenByToken() throws Exception {
        String prompt = "A stitch in time";
        JsonNode ref = generate("--prompt", prompt, "--max-tokens", "20", "--temperature", "0");
        List<String> pieces = new ArrayList<>();
        List<String> finishes = new ArrayList<>();
        long[] usage = new long[2];
        try (StreamResponse<Completion> s = client.completions().createStreaming(CompletionCreateParams.builder()
                .model("tiny").prompt(prompt).maxTokens(20).temperature(0.0)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            s.stream().forEach(chunk -> {
                chunk.usage().ifPresent(u -> {
                    usage[0] = u.promptTokens();
                    usage[1] = u.completionTokens();
                });
                for (CompletionChoice ch : chunk.choices()) {
                    pieces.add(ch.text());
                    ch._finishReason().asKnown().ifPresent(f -> finishes.add(f.asString()));
                }
            });
        }
        assertThat(String.join("", pieces)).isEqualTo(ref.get("generated_text").asText());
        assertThat(pieces.size()).as("one chunk per token with text, plus the final one")
                .isGreaterThan(1).isLessThanOrEqualTo(ref.get("generated_ids").size() + 1);
        assertThat(finishes).containsExactly(finish(ref));
        assertThat(usage).containsExactly(ref.get("prompt_ids").size(), ref.get("generated_ids").size());
    }

    @Test
    void chatUsesTheModelsTemplateAndStreamsTheSameAnswer() throws Exception {
        ChatTemplate t = ChatTemplate.of(ServeFixture.CHATML, "<|endoftext|>", "<|endoftext|>");
        String rendered = t.render(List.of(new ChatTemplate.Message("system", "Be brief."),
                new ChatTemplate.Message("user", "Hello there!")), true);
        assertThat(rendered).isEqualTo("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello there!"
                + "<|im_end|>\n<|im_start|>assistant\n");
        int[] ids = TokenizerJson.load(dir.resolve("tokenizer.json")).encode(rendered, false);
        JsonNode ref = generate("--prompt-ids", Arrays.stream(ids).mapToObj(Integer::toString)
                .collect(Collectors.joining(",")), "--max-tokens", "16", "--temperature", "0");
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("tiny")
                .addSystemMessage("Be brief.").addUserMessage("Hello there!").maxCompletionTokens(16)
                .temperature(0.0).build();
        ChatCompletion c = client.chat().completions().create(params);
        String refText = dev.sparsa.io.tokenizer.TokenizerJson.load(dir.resolve("tokenizer.json"))
                .decode(new ObjectMapper().convertValue(ref.get("generated_ids"), int[].class), true);
        assertThat(c.choices().getFirst().message().content()).contains(refText);   // Optional holding exactly it
        assertThat(c.choices().getFirst().finishReason().asString()).isEqualTo(finish(ref));
        assertThat(c.usage().orElseThrow().promptTokens()).isEqualTo(ids.length);
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(ref.get("generated_ids").size());

        StringBuilder streamed = new StringBuilder();
        List<String> roles = new ArrayList<>();
        long[] completionTokens = {-1};
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(params.toBuilder()
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            s.stream().forEach(chunk -> {
                assertThat(chunk.id()).startsWith("chatcmpl-");
                chunk.usage().ifPresent(u -> completionTokens[0] = u.completionTokens());
                chunk.choices().forEach(ch -> {
                    ch.delta().content().ifPresent(streamed::append);
                    ch.delta().role().ifPresent(r -> roles.add(r.asString()));
                });
            });
        }
        assertThat(streamed.toString()).isEqualTo(refText);
        assertThat(roles).containsExactly("assistant");
        assertThat(completionTokens[0]).isEqualTo(ref.get("generated_ids").size());
    }

    @Test
    void stopStringsCutTheTextAndSeedsReproduceGeneratesSampling() throws Exception {
        String prompt = "Hello there";
        JsonNode ref = generate("--prompt", prompt, "--max-tokens", "32", "--temperature", "0");
        String text = ref.get("generated_text").asText();
        assertThat(text.length()).as("the reference must be long enough to cut").isGreaterThan(12);
        String stop = text.substring(6, 9);
        String want = text.substring(0, text.indexOf(stop));
        Completion c = client.completions().create(CompletionCreateParams.builder().model("tiny").prompt(prompt)
                .maxTokens(32).temperature(0.0).stop(CompletionCreateParams.Stop.ofStrings(List.of("\u0000never",
                        stop))).build());
        assertThat(c.choices().getFirst().text()).isEqualTo(want);
        assertThat(c.choices().getFirst().finishReason().asString()).isEqualTo("stop");
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<Completion> s = client.completions().createStreaming(CompletionCreateParams.builder()
                .model("tiny").prompt(prompt).maxTokens(32).temperature(0.0).stop(stop).build())) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> streamed.append(ch.text())));
        }
        assertThat(streamed.toString()).isEqualTo(want);

        // seeded sampling: the server's sampler is generate's (same seed, temperature, top-p → same tokens)
        JsonNode sampled = generate("--prompt", prompt, "--max-tokens", "20", "--temperature", "1", "--top-p", "1",
                "--seed", "123");
        for (int i = 0; i < 2; i++) {
            Completion s = client.completions().create(CompletionCreateParams.builder().model("tiny").prompt(prompt)
                    .maxTokens(20).temperature(1.0).seed(123).build());
            assertThat(s.choices().getFirst().text()).isEqualTo(sampled.get("generated_text").asText());
        }
    }

    @Test
    void modelsAndErrorsThroughTheSdk() {
        var models = client.models().list();
        assertThat(models.data()).hasSize(1);
        assertThat(models.data().getFirst().id()).isEqualTo("tiny");
        assertThat(client.models().retrieve("tiny").ownedBy()).isEqualTo("sparsa");
        assertThatThrownBy(() -> client.completions().create(CompletionCreateParams.builder().model("gpt-4")
                .prompt("x").build())).isInstanceOfSatisfying(NotFoundException.class,
                e -> assertThat(e.code()).contains("model_not_found"));
        assertThatThrownBy(() -> client.completions().create(CompletionCreateParams.builder().model("tiny")
                .prompt("x").maxTokens(0).build())).isInstanceOfSatisfying(BadRequestException.class,
                e -> assertThat(e.param()).contains("max_tokens"));
        assertThatThrownBy(() -> client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model("tiny").addUserMessage("x").temperature(-0.5).build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.param()).contains("temperature"));
    }
}
