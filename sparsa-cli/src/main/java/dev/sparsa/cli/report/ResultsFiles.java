package dev.sparsa.cli.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
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
import dev.sparsa.perf.ModesResults;
import dev.sparsa.profile.ProfileResults;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * results.json, report.html and section.md on disk, each written to a temporary file and renamed into place, and
 * {@link #render}: both pages of any results file Sparsa writes, from the JSON alone, by its {@code schema} field.
 */
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
        writeJson(r, null, file);
    }

    /**
     * As above, with the command line that made it as a {@code command} field after {@code schema} (null: none), so
     * that {@code sparsa report} writes the same section.md as the command did.
     */
    public static void writeJson(Object r, String command, Path file) {
        try {
            JsonNode tree = JSON.valueToTree(r);
            if (command != null && tree instanceof com.fasterxml.jackson.databind.node.ObjectNode o) {
                var n = JSON.createObjectNode();
                if (o.has("schema")) {
                    n.set("schema", o.get("schema"));
                }
                n.put("command", command);
                o.properties().forEach(e -> n.set(e.getKey(), e.getValue()));
                tree = n;
            }
            atomic(file, JSON.writeValueAsBytes(tree));
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

    /** The results of {@code experiment redo|ap|sap|attribution}, by schema (a format error for anything else). */
    public static Object readNeuron(Path file) {
        String schema = schema(file);
        Object r = switch (schema) {
            case RedoResults.SCHEMA -> read(file, RedoResults.class);
            case PruneResults.AP, PruneResults.SAP -> read(file, PruneResults.class);
            case AttributionResults.SCHEMA -> {
                AttributionResults a = read(file, AttributionResults.class);
                if (a.llama() == null && a.encoder() == null) {
                    throw SparsaException.FormatException.of(file, "neither a \"llama\" nor an \"encoder\" field "
                            + "(schema " + schema + " needs one)");
                }
                yield a;
            }
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

    /** The demo's results; a one-line error for anything else. */
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
        } catch (IOException e) {
            throw readError(file, e);
        }
    }

    /**
     * The one-line error of a file Jackson could not read: no such file; malformed JSON (line and column); a field
     * of the wrong type (its path, e.g. {@code "runs[2].steps"}).
     */
    static SparsaException.FormatException readError(Path file, IOException e) {
        if (e instanceof NoSuchFileException || e instanceof java.io.FileNotFoundException) {
            return SparsaException.FormatException.of(file, "no such file");
        }
        if (e instanceof JsonMappingException m && !m.getPath().isEmpty()) {
            StringBuilder f = new StringBuilder();
            for (JsonMappingException.Reference r : m.getPath()) {
                if (r.getFieldName() != null) {
                    f.append(f.isEmpty() ? "" : ".").append(r.getFieldName());
                } else if (r.getIndex() >= 0) {
                    f.append('[').append(r.getIndex()).append(']');
                }
            }
            return SparsaException.FormatException.of(file, "field \"" + f + "\": "
                    + m.getOriginalMessage().lines().findFirst().orElse(""));
        }
        if (e instanceof JsonProcessingException p && p.getLocation() != null) {
            return SparsaException.FormatException.of(file, "malformed JSON at line " + p.getLocation().getLineNr()
                    + ", column " + p.getLocation().getColumnNr() + ": "
                    + p.getOriginalMessage().lines().findFirst().orElse(""));
        }
        return SparsaException.FormatException.of(file, "cannot read results JSON: "
                + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
    }

    /** A {@code bench --modes} results file. */
    public static ModesResults readModes(Path file) {
        ModesResults r = read(file, ModesResults.class);
        if (r == null || !ModesResults.SCHEMA.equals(r.schema()) || r.rows() == null || r.rows().isEmpty()) {
            throw SparsaException.FormatException.of(file, "not the results of sparsa bench --modes --json (schema "
                    + ModesResults.SCHEMA + " with at least one row expected)");
        }
        return r;
    }

    /** The {@code schema} field of a results file ("" when absent). */
    static String schema(Path file) {
        JsonNode node = tree(file);
        return node.has("schema") ? node.get("schema").asText() : "";
    }

    /** The file as a JSON object (a one-line error for no file, malformed JSON or another JSON value). */
    static JsonNode tree(Path file) {
        JsonNode node;
        try {
            node = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw readError(file, e);
        }
        if (node == null || !node.isObject()) {
            throw SparsaException.FormatException.of(file, "not a results file: a JSON object with a \"schema\" "
                    + "field expected");
        }
        return node;
    }

    /** A profile's results; a one-line error for anything else. */
    public static ProfileResults readJson(Path file) {
        ProfileResults r = read(file, ProfileResults.class);
        if (r == null || !ProfileResults.SCHEMA.equals(r.schema()) || r.layers() == null || r.layers().isEmpty()
                || r.run() == null) {
            throw SparsaException.FormatException.of(file, "not a Sparsa profile (schema " + ProfileResults.SCHEMA
                    + " with at least one layer expected)");
        }
        return r;
    }

    /** The two pages of a results file: the HTML report and the Markdown section (for EXPERIMENTS.md etc.). */
    public record Rendered(String schema, String html, String markdown) {
    }

    /**
     * Every schema {@link #render} knows, with what writes it and the top-level fields it needs (checked before the
     * file is bound, so that a missing one is named).
     */
    static final Map<String, List<String>> REQUIRED = Map.ofEntries(
            Map.entry(ProfileResults.SCHEMA, List.of("run", "layers")),
            Map.entry(DemoResults.SCHEMA, List.of("minilm", "llama")),
            Map.entry(SparsifyResults.SCHEMA, List.of("setup", "dense", "runs")),
            Map.entry(RedoResults.SCHEMA, List.of("setup", "runs")),
            Map.entry(PruneResults.AP, List.of("setup", "dense", "runs")),
            Map.entry(PruneResults.SAP, List.of("setup", "dense", "runs")),
            Map.entry(AttributionResults.SCHEMA, List.of("setup")),
            Map.entry(LteResults.SCHEMA, List.of("setup", "runs", "points")),
            Map.entry(ClResults.SCHEMA, List.of("setup", "runs")),
            Map.entry(ModesResults.SCHEMA, List.of("rows")));

    /**
     * Both pages of {@code json} from the file alone, dispatched on its {@code schema} field: a profile, the demo,
     * every {@code sparsa experiment}, {@code bench --modes --json}. The Markdown is what the command wrote as
     * section.md (its command line from the file's {@code command} field; a profile and the demo record none). A
     * missing file, malformed JSON, a missing or unknown schema, a missing or mistyped field: one line naming the
     * file and the field; nothing is rendered.
     */
    public static Rendered render(Path json) {
        JsonNode root = tree(json);
        JsonNode sn = root.get("schema");
        if (sn == null || !sn.isTextual()) {
            throw SparsaException.FormatException.of(json, (sn == null ? "no \"schema\" field" : "field \"schema\" "
                    + "is not a string") + " (a results.json of sparsa profile, demo, experiment or bench --modes "
                    + "--json has one; known: " + known() + ")");
        }
        String schema = sn.asText();
        List<String> need = REQUIRED.get(schema);
        if (need == null) {
            throw SparsaException.FormatException.of(json, "field \"schema\": unknown schema '" + schema
                    + "' (known: " + known() + ")");
        }
        for (String f : need) {
            if (!root.hasNonNull(f)) {
                throw SparsaException.FormatException.of(json, "no \"" + f + "\" field (schema " + schema
                        + " needs it)");
            }
        }
        JsonNode cn = root.get("command");
        String command = cn != null && cn.isTextual() ? cn.asText() : null;
        String given = command != null ? command : "(the command is not recorded in " + json.getFileName() + ")";
        try {
            return switch (schema) {
                case SparsifyResults.SCHEMA -> {
                    SparsifyResults r = readSparsify(json);
                    yield new Rendered(schema, SparsifyReportHtml.render(r), SparsifyMarkdown.section(r, given));
                }
                case DemoResults.SCHEMA -> {
                    DemoResults r = readDemo(json);
                    yield new Rendered(schema, DemoReportHtml.render(r), DemoReportHtml.markdown(r));
                }
                case ModesResults.SCHEMA -> {
                    ModesResults r = readModes(json);
                    yield new Rendered(schema, ModesReportHtml.render(r), ModesMarkdown.section(r, command));
                }
                case ProfileResults.SCHEMA -> {
                    ProfileResults r = readJson(json);
                    yield new Rendered(schema, ReportHtml.render(r), ReportHtml.markdown(r));
                }
                default -> {
                    Object r = readNeuron(json);
                    yield new Rendered(schema, NeuronReport.html(r), NeuronReport.markdown(r, given));
                }
            };
        } catch (NullPointerException | IndexOutOfBoundsException e) {   // a nested field absent
            throw SparsaException.FormatException.of(json, "incomplete results (schema " + schema + "): "
                    + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
        }
    }

    private static String known() {
        return String.join(", ", new java.util.TreeSet<>(REQUIRED.keySet()));
    }

    /** Renders the HTML report from the JSON file alone ({@link #render}) and writes it to {@code html}. */
    public static Path renderReport(Path json, Path html) {
        return writePage(render(json).html(), html);
    }

    /**
     * An experiment's outputs under {@code dir}: results.json (with {@code command}), then report.html and section.md
     * rendered from the written JSON by {@link #render} (what {@code sparsa report} writes again), then the section
     * and where each file is, printed to {@code w}.
     */
    public static void writeExperiment(Object results, String command, Path dir, java.io.PrintWriter w,
                                       String wallTime, int threads) {
        Path json = dir.resolve("results.json");
        writeJson(results, command, json);
        Rendered r = render(json);
        Path html = writePage(r.html(), dir.resolve("report.html"));
        String md = r.markdown();
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
