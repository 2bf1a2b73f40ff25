package dev.sparsa.cli;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code sparsa report RESULTS --out DIR} into a fresh folder, for the tests of the commands that write results: the
 * pages it renders from the JSON alone, to compare byte for byte with what the command wrote.
 */
record ReportAgain(byte[] html, byte[] markdown, String out) {

    /** Runs the report of {@code json} into {@code dir} (which must not exist) and reads both pages back. */
    static ReportAgain of(Path json, Path dir) throws Exception {
        assertThat(dir).doesNotExist();
        CliRun r = CliRun.of("report", json.toString(), "--out", dir.toString());
        assertThat(r.code()).as(r.err()).isZero();
        String name = json.getFileName().toString();
        String stem = name.equals("results.json") ? null : name.substring(0, name.length() - ".json".length());
        Path html = dir.resolve(stem == null ? "report.html" : stem + ".html");
        Path md = dir.resolve(stem == null ? "section.md" : stem + ".md");
        try (var s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString()).sorted().toList())
                    .containsExactly(html.getFileName().toString(), md.getFileName().toString()).isSorted();
        }
        return new ReportAgain(Files.readAllBytes(html), Files.readAllBytes(md), r.out());
    }

    /** Both pages equal, byte for byte, the report.html and section.md beside {@code json}. */
    static void sameAsWritten(Path json, Path dir) throws Exception {
        ReportAgain a = of(json, dir);
        Path beside = json.toAbsolutePath().getParent();
        assertThat(a.html()).as("report.html").isEqualTo(Files.readAllBytes(beside.resolve("report.html")));
        assertThat(a.markdown()).as("section.md").isEqualTo(Files.readAllBytes(beside.resolve("section.md")));
    }
}
