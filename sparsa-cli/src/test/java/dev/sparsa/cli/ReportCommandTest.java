package dev.sparsa.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code sparsa report} on files it cannot render: one line naming the file and the field, exit 2, nothing written.
 * (Each command's test renders its own results.json again and compares the bytes: {@link ReportAgain}.)
 */
class ReportCommandTest {

    static void refused(Path dir, String name, String json, String... expect) throws Exception {
        Path f = dir.resolve(name);
        if (json != null) {
            Files.writeString(f, json);
        }
        Path out = dir.resolve("out-" + name);
        CliRun r = CliRun.of("report", f.toString(), "--out", out.toString());
        assertThat(r.code()).as(json).isEqualTo(2);
        assertThat(r.err().strip()).as(json).startsWith("sparsa: ").contains(name).contains(expect)
                .doesNotContain("\n", "Exception");
        assertThat(out).as("nothing written for " + json).doesNotExist();
        CliRun beside = CliRun.of("report", f.toString());
        assertThat(beside.code()).isEqualTo(2);
        try (var s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".json")).toList())
                    .as("nothing beside " + name).isEmpty();
        }
    }

    @Test
    void badFilesAreOneLineNamingTheFileAndTheField(@TempDir Path dir) throws Exception {
        refused(dir, "missing.json", null, "no such file");
        refused(dir, "syntax.json", "{\"schema\": \"sparsa.profile/1\", \"run\": ", "malformed JSON at line 1");
        refused(dir, "array.json", "[1, 2]", "a JSON object with a \"schema\" field expected");
        refused(dir, "bench.json", "{\"bandwidth_gb_s\": 20.0, \"threads\": 2, \"rows\": []}", "no \"schema\" field",
                "sparsa-bench-modes/1", "sparsa.profile/1");
        refused(dir, "number.json", "{\"schema\": 3}", "field \"schema\" is not a string");
        refused(dir, "other.json", "{\"schema\": \"sparsa.profile/9\"}", "field \"schema\": unknown schema "
                + "'sparsa.profile/9'", "sparsa.experiment.sparsify/1");
        refused(dir, "nosetup.json", "{\"schema\": \"sparsa.experiment.redo/1\", \"runs\": []}", "no \"setup\" field",
                "sparsa.experiment.redo/1");
        refused(dir, "nullrows.json", "{\"schema\": \"sparsa-bench-modes/1\", \"rows\": null}", "no \"rows\" field");
        refused(dir, "typed.json", "{\"schema\": \"sparsa-bench-modes/1\", \"rows\": [{\"mode\": \"dense\", "
                + "\"decode_tok_s\": \"fast\"}]}", "field \"rows[0].decode_tok_s\"");
    }

    @Test
    void outMustBeAFolder(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("file.txt");
        Files.writeString(f, "x");
        Path json = dir.resolve("results.json");
        Files.writeString(json, "{\"schema\": \"sparsa.profile/9\"}");
        CliRun r = CliRun.of("report", json.toString(), "--out", f.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip()).contains("--out", "not a directory").doesNotContain("\n");
        assertThat(Files.readString(f)).isEqualTo("x");
    }
}
