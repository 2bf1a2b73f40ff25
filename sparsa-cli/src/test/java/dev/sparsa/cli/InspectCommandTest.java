package dev.sparsa.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.model.bert.TinyBertOnnx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code sparsa inspect} on ONNX files (the safetensors / GGUF paths are in HostileFilesTest). */
class InspectCommandTest {
    @TempDir
    Path tmp;

    @Test
    void onnxBertListsInitializersAndTheArchitecture() throws IOException {
        Path onnx = Files.write(tmp.resolve("tiny.onnx"), TinyBertOnnx.build(7, "gelu", false));
        CliRun r = CliRun.of("inspect", "--model", onnx.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).contains("format:  onnx")
                .contains("arch:    bert  hidden 8  ffn 16  layers 2  heads 2 (dim 4)  vocab 20  ctx 16  token types 2")
                .contains("act gelu")
                // the word embedding table, and an INT64 initializer (position ids) listed with its own type
                .containsPattern("\\nword +FLOAT +\\[20, 8] +640\\n")
                .containsPattern("\\nposition_ids +INT64 +\\[1, 16] +128\\n");

        CliRun j = CliRun.of("inspect", "--model", onnx.toString(), "--json");
        assertThat(j.code()).as(j.err()).isZero();
        JsonNode doc = new ObjectMapper().readTree(j.out());
        assertThat(doc.get("format").asText()).isEqualTo("onnx");
        assertThat(doc.get("config").get("numLayers").asInt()).isEqualTo(2);
        assertThat(doc.get("config").get("hiddenAct").asText()).isEqualTo("gelu");
        assertThat(doc.get("architectureNote").isNull()).isTrue();
        long bytes = 0;
        for (JsonNode t : doc.get("tensors")) {
            bytes += t.get("bytes").asLong();
        }
        assertThat(doc.get("bytes").asLong()).isEqualTo(bytes).isPositive();
    }

    @Test
    void onnxThatIsNotBertStillListsItsInitializers() throws IOException {
        Path onnx = Files.write(tmp.resolve("other.onnx"), TinyBertOnnx.build(7, "gelu", true));
        CliRun r = CliRun.of("inspect", "--model", onnx.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("format:  onnx")
                .contains("arch:    unknown (not a BERT encoder graph: layer 1 output: no residual Add of")
                .containsPattern("\\nword +FLOAT +\\[20, 8] +640\\n");
    }
}
