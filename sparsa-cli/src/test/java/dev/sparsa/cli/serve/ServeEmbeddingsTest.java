package dev.sparsa.cli.serve;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.BadRequestException;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import dev.sparsa.io.Fetch;
import dev.sparsa.io.onnx.MiniLm;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;
import dev.sparsa.model.bert.BertModel;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code /v1/embeddings} of all-MiniLM-L6-v2 (ONNX, the project's Maven fixture) through the OpenAI SDK: each
 * embedding equals {@link BertModel#sentenceEmbeddings} of the same text (ONNX Runtime agreement of that is
 * BertOnnxTest's), as floats and as base64.
 */
@Timeout(90)
class ServeEmbeddingsTest {
    @TempDir
    Path cache;

    @Test
    void embeddingsEqualSentenceEmbeddingsAsFloatsAndBase64() throws Exception {
        MiniLm.Files f = MiniLm.fetch(new Fetch(cache, new PrintStream(new ByteArrayOutputStream())));
        List<String> texts = List.of("hello world", "The stock market fell.", "A stitch in time saves nine.");
        Tokenizer tok = TokenizerJson.load(f.tokenizer());
        ServedModel m = ServedModel.open(f.model().toString(), cache, "dense", null, f.tokenizer(), null, "minilm");
        BertModel bert = ((ServedModel.Encoder) m).model();           // the served model, loaded once
        float[][] want;
        try (Parallel par = new Parallel(2)) {
            want = bert.sentenceEmbeddings(BertModel.Batch.of(texts.stream().map(t -> tok.encode(t, true)).toList()),
                    par);
        }
        try (SparsaServer server = SparsaServer.start(m, ServeFixture.options(1, 8, true));
             HttpClient http = HttpClient.newHttpClient()) {
            OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(server.url() + "/v1").apiKey("unused")
                    .maxRetries(0).build();
            try {
                CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder().model("minilm")
                        .input(EmbeddingCreateParams.Input.ofArrayOfStrings(texts)).build());
                assertThat(r.data()).hasSize(3);
                for (int i = 0; i < 3; i++) {
                    List<Float> e = r.data().get(i).embedding();
                    assertThat(r.data().get(i).index()).isEqualTo(i);
                    assertThat(e).hasSize(384);
                    for (int j = 0; j < 384; j++) {
                        assertThat(e.get(j)).isEqualTo(want[i][j]);
                    }
                }
                long tokens = texts.stream().mapToLong(t -> tok.encode(t, true).length).sum();
                assertThat(r.usage().promptTokens()).isEqualTo(tokens);
                CreateEmbeddingResponse one = client.embeddings().create(EmbeddingCreateParams.builder()
                        .model("minilm").input("hello world").build());
                assertThat(one.data().getFirst().embedding().getFirst()).isEqualTo(want[0][0]);
                assertThatThrownBy(() -> client.embeddings().create(EmbeddingCreateParams.builder().model("minilm")
                        .input("x").dimensions(64).build())).isInstanceOfSatisfying(BadRequestException.class,
                        e -> assertThat(e.param()).contains("dimensions"));
                assertThatThrownBy(() -> client.completions().create(
                        com.openai.models.completions.CompletionCreateParams.builder().model("minilm").prompt("x")
                                .build())).isInstanceOfSatisfying(BadRequestException.class,
                        e -> assertThat(e.getMessage()).contains("is an encoder"));
            } finally {
                client.close();
            }
            // base64 over plain HTTP: little-endian float32 bytes
            HttpResponse<String> b64 = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/v1/embeddings"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"input\": [\"hello world\"], \"encoding_format\": "
                            + "\"base64\"}")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(b64.statusCode()).isEqualTo(200);
            String s = new com.fasterxml.jackson.databind.ObjectMapper().readTree(b64.body()).get("data").get(0)
                    .get("embedding").asText();
            float[] got = new float[384];
            ByteBuffer.wrap(Base64.getDecoder().decode(s)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(got);
            assertThat(got).containsExactly(want[0]);
            HttpResponse<String> tooLong = http.send(HttpRequest.newBuilder(URI.create(server.url()
                    + "/v1/embeddings")).POST(HttpRequest.BodyPublishers.ofString("{\"input\": \""
                    + "word ".repeat(600) + "\"}")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(tooLong.statusCode()).isEqualTo(400);
            assertThat(tooLong.body()).contains("\"param\":\"input\"").contains("maximum context length is 512");
            String metrics = new String(server.metrics().scrape(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(metrics).contains("sparsa_ffn_active_fraction{layer=\"5\"}");
        }
    }
}
