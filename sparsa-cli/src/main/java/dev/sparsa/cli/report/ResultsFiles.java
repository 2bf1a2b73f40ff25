package dev.sparsa.cli.report;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sparsa.SparsaException;
import dev.sparsa.experiment.AttributionResults;
import dev.sparsa.experiment.DemoResults;
import dev.sparsa.experiment.LteResults;
import dev.sparsa.experiment.PruneResults;
import dev.sparsa.experiment.RedoResults;
import dev.sparsa.experiment.SparsifyResults;
import dev.sparsa.experiment.cl.ClResults;
import dev.sparsa.profile.ProfileResults;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** results.json and report.html on disk, each written to a temporary file and renamed into place. */
public final class ResultsFiles {
    private ResultsFiles() {
    }

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public static void writeJson(ProfileResults r, Path file) {
        writeJson((Object) r, file);
    }

    /** Any results record (profile, experiment, demo) as indented JSON. */
    public static void writeJson(Object r, Path file) {
        try {
            atomic(file, JSON.writeValueAsBytes(r));
        } catch (IOException e) {
            throw new SparsaException(file + ": cannot write results: " + e.getMessage(), e);
        }
    }

    /** The experiment's results; a one-line error for anything else. */
    public static SparsifyResults readSparsify(Path file) {
        SparsifyResults r = read(file, SparsifyResults.class);
        if (r == null || !SparsifyResults.SCHEMA.equals(r.schema()) || r.setup() == null || r.dense() == null
                || r.runs() == null) {
            throw SparsaException.FormatException.of(file, "not the results of sparsa experiment sparsify (schema "
                    + SparsifyResults.SCHEMA + " expected)");
        }
        return r;
    }

    /** The demo's results; a one-line error for anything else. */
    /** The results of {@code experiment redo|ap|sap|attribution}, by schema (a format error for anything else). */
    public static Object readNeuron(Path file) {
        String schema = schema(file);
        Object r = switch (schema) {
            case RedoResults.SCHEMA -> read(file, RedoResults.class);
            case PruneResults.AP, PruneResults.SAP -> read(file, PruneResults.class);
            case AttributionResults.SCHEMA -> read(file, AttributionResults.class);
            case LteResults.SCHEMA -> read(file, LteResults.class);
            case ClResults.SCHEMA -> read(file, ClResults.class);
            default -> null;
        };
        if (r == null) {
            throw SparsaException.FormatException.of(file, "not the results of sparsa experiment redo, ap, sap, "
                    + "attribution, lte, clnp or sparcl (schema '" + schema + "')");
        }
        return r;
    }

    public static DemoResults readDemo(Path file) {
        DemoResults r = read(file, DemoResults.class);
        if (r == null || !DemoResults.SCHEMA.equals(r.schema()) || r.minilm() == null || r.llama() == null) {
            throw SparsaException.FormatException.of(file, "not the results of sparsa demo (schema "
                    + DemoResults.SCHEMA + " expected)");
        }
        return r;
    }

    private static <T> T read(Path file, Class<T> type) {
        try {
            return JSON.readValue(file.toFile(), type);
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            throw SparsaException.FormatException.of(file, "no such file");
        } catch (IOException e) {
            throw SparsaException.FormatException.of(file, "malformed results JSON: "
                    + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    /** A {@code bench --modes} results file. */
    public static dev.sparsa.perf.ModesResults readModes(Path file) {
        try {
            return JSON.readValue(file.toFile(), dev.sparsa.perf.ModesResults.class);
        } catch (IOException e) {
            throw SparsaException.FormatException.of(file, "malformed bench --modes JSON: "
                    + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    /** The {@code schema} field of a results file ("" when absent). */
    static String schema(Path file) {
        try {
            var node = JSON.readTree(file.toFile());
            return node != null && node.has("schema") ? node.get("schema").asText() : "";
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            throw SparsaException.FormatException.of(file, "no such file");
        } catch (IOException e) {
            throw SparsaException.FormatException.of(file, "malformed results JSON: "
                    + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    public static ProfileResults readJson(Path file) {
        try {
            ProfileResults r = JSON.readValue(file.toFile(), ProfileResults.class);
            if (r == null || !ProfileResults.SCHEMA.equals(r.schema()) || r.layers() == null || r.layers().isEmpty()
                    || r.run() == null) {
                throw SparsaException.FormatException.of(file, "not a Sparsa profile (schema "
                        + ProfileResults.SCHEMA + " with at least one layer expected), nor the results of an "
                        + "experiment (" + SparsifyResults.SCHEMA + ") or of the demo (" + DemoResults.SCHEMA + ")");
            }
            return r;
        } catch (NoSuchFileException e) {
            throw SparsaException.FormatException.of(file, "no such file");
        } catch (IOException e) {
            throw SparsaException.FormatException.of(file, "malformed results JSON: "
                    + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    /** Renders the report from the JSON file alone: a profile, the sparsify experiment or the demo, by schema. */
    public static Path renderReport(Path json, Path html) {
        String page = switch (schema(json)) {
            case SparsifyResults.SCHEMA -> SparsifyReportHtml.render(readSparsify(json));
            case DemoResults.SCHEMA -> DemoReportHtml.render(readDemo(json));
            case RedoResults.SCHEMA, PruneResults.AP, PruneResults.SAP, AttributionResults.SCHEMA, LteResults.SCHEMA,
                 ClResults.SCHEMA ->
                    NeuronReport.html(readNeuron(json));
            case dev.sparsa.perf.ModesResults.SCHEMA -> ModesReportHtml.render(readModes(json));
            default -> ReportHtml.render(readJson(json));
        };
        return writePage(page, html);
    }

    /** Writes a rendered page atomically. */
    /**
     * An experiment's outputs under {@code dir}: results.json, report.html and section.md ({@code section} renders
     * the Markdown from the written JSON), then the section and where each file is, printed to {@code w}.
     */
    public static void writeExperiment(Object results, Path dir, java.util.function.Function<Path, String> section,
                                       java.io.PrintWriter w, String wallTime, int threads) {
        Path json = dir.resolve("results.json");
        writeJson(results, json);
        Path html = renderReport(json, dir.resolve("report.html"));
        String md = section.apply(json);
        dev.sparsa.io.AtomicFile.write(dir.resolve("section.md"), md.getBytes(StandardCharsets.UTF_8));
        w.print(md);
        w.println();
        w.println("results: " + json.toAbsolutePath());
        w.println("report:  " + html.toAbsolutePath());
        w.println("section: " + dir.resolve("section.md").toAbsolutePath() + "   (for EXPERIMENTS.md)");
        w.printf(java.util.Locale.ROOT, "wall time %s, %d thread(s)%n", wallTime, threads);
        w.flush();
    }

    public static Path writePage(String page, Path html) {
        try {
            atomic(html, page.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new SparsaException(html + ": cannot write report: " + e.getMessage(), e);
        }
        return html;
    }

    // temp file, fsync, rename, readable by everyone (io.AtomicFile)
    static void atomic(Path file, byte[] data) throws IOException {
        dev.sparsa.io.AtomicFile.write(file, data);
    }
}
