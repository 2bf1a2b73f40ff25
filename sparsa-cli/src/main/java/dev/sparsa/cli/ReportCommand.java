package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.cli.report.ResultsFiles;
import dev.sparsa.io.AtomicFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code sparsa report RESULTS [--out DIR]}: renders report.html and section.md from any results file Sparsa writes
 * (a profile, the demo, every {@code sparsa experiment}, {@code bench --modes --json}), by its {@code schema} field
 * ({@link ResultsFiles#render}): the same bytes as the command that wrote the file. Both pages are rendered before
 * anything is written.
 */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"Render report.html and section.md from a results file alone, dispatched on its schema field: "
                + "sparsa profile, demo, every sparsa experiment (sparsify, redo, ap, sap, attribution, lte, clnp, "
                + "sparcl) and bench --modes --json. They are the bytes the command wrote.",
                "A file named results.json gives report.html and section.md; NAME.json gives NAME.html and NAME.md."})
public final class ReportCommand implements Callable<Integer> {

    @Parameters(paramLabel = "RESULTS", description = "results.json (or any NAME.json a Sparsa command wrote)")
    Path json;

    @Option(names = "--out", paramLabel = "DIR", description = "folder of the two files (default: beside RESULTS; "
            + "made if missing)")
    Path out;

    @Override
    public Integer call() throws IOException {
        Path dir = out != null ? out : json.toAbsolutePath().getParent();
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new SparsaException.UsageException("--out " + dir + ": exists and is not a directory");
        }
        ResultsFiles.Rendered r = ResultsFiles.render(json);
        String name = json.getFileName().toString();
        String stem = name.equals("results.json") ? null : name.endsWith(".json")
                ? name.substring(0, name.length() - 5) : name;
        Path html = dir.resolve(stem == null ? "report.html" : stem + ".html");
        Path md = dir.resolve(stem == null ? "section.md" : stem + ".md");
        Files.createDirectories(dir);
        ResultsFiles.writePage(r.html(), html);
        AtomicFile.write(md, r.markdown().getBytes(StandardCharsets.UTF_8));
        System.out.println("report:  " + html.toAbsolutePath() + "   (" + r.schema() + ")");
        System.out.println("section: " + md.toAbsolutePath());
        return 0;
    }
}
