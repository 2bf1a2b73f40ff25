package dev.sparsa.io.onnx;

import dev.sparsa.io.Fetch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class MiniLmTest {

    @Test
    void fetchesAndExtractsTheModelAndTokenizerOnce(@TempDir Path cache) throws IOException {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Fetch fetch = new Fetch(cache, new PrintStream(log, true));
        MiniLm.Files files = MiniLm.fetch(fetch);
        assertThat(files.model()).startsWith(cache).isRegularFile();
        assertThat(files.tokenizer()).startsWith(cache).isRegularFile();
        // the same bytes as the artifact's classpath resources
        assertThat(Files.size(files.model())).isEqualTo(resourceSize("/" + MiniLm.MODEL_ENTRY));
        assertThat(Files.size(files.tokenizer())).isEqualTo(resourceSize("/" + MiniLm.TOKENIZER_ENTRY));
        try (OnnxModel m = OnnxModel.open(files.model())) {
            assertThat(m.contains("embeddings.word_embeddings.weight")).isTrue();
        }
        // second call: from the cache, nothing fetched
        log.reset();
        assertThat(MiniLm.fetch(fetch)).isEqualTo(files);
        assertThat(log.toString()).isEmpty();
    }

    private static long resourceSize(String name) throws IOException {
        try (InputStream in = MiniLmTest.class.getResourceAsStream(name)) {
            assertThat(in).as(name).isNotNull();
            return in.transferTo(java.io.OutputStream.nullOutputStream());
        }
    }
}
