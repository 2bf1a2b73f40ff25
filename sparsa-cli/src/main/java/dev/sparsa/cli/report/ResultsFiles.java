package dev.sparsa.cli.report;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sparsa.SparsaException;
import dev.sparsa.profile.ProfileResults;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** results.json and report.html on disk, each written to a temporary file and renamed into place. */
public final class ResultsFiles {
    private ResultsFiles() {
    }

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public static void writeJson(ProfileResults r, Path file) {
        try {
            atomic(file, JSON.writeValueAsBytes(r));
        } catch (IOException e) {
            throw new SparsaException(file + ": cannot write results: " + e.getMessage(), e);
        }
    }

    public static ProfileResults readJson(Path file) {
        try {
            ProfileResults r = JSON.readValue(file.toFile(), ProfileResults.class);
            if (r == null || !ProfileResults.SCHEMA.equals(r.schema()) || r.layers() == null || r.layers().isEmpty()
                    || r.run() == null) {
                throw SparsaException.FormatException.of(file, "not a Sparsa profile (schema "
                        + ProfileResults.SCHEMA + " with at least one layer expected)");
            }
            return r;
        } catch (NoSuchFileException e) {
            throw SparsaException.FormatException.of(file, "no such file");
        } catch (IOException e) {
            throw SparsaException.FormatException.of(file, "malformed results JSON: "
                    + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    /** Renders the report from the JSON file alone. */
    public static Path renderReport(Path json, Path html) {
        String page = ReportHtml.render(readJson(json));
        try {
            atomic(html, page.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new SparsaException(html + ": cannot write report: " + e.getMessage(), e);
        }
        return html;
    }

    static void atomic(Path file, byte[] data) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".part");
        try {
            Files.write(tmp, data);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
