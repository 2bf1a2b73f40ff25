package dev.sparsa.cli;

import dev.sparsa.cli.report.ResultsFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code sparsa report results.json}: re-renders report.html from a profile's JSON alone. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Render report.html from a results.json written by `sparsa profile`.")
public final class ReportCommand implements Callable<Integer> {

    @Parameters(paramLabel = "RESULTS", description = "results.json")
    Path json;

    @Option(names = "--out", paramLabel = "FILE", description = "report file (default: report.html beside RESULTS)")
    Path out;

    @Override
    public Integer call() {
        Path html = out != null ? out : json.toAbsolutePath().resolveSibling("report.html");
        System.out.println("report: " + ResultsFiles.renderReport(json, html).toAbsolutePath());
        return 0;
    }
}
