package dev.sparsa.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Renders a toy report in headless Chromium when one is installed (skipped otherwise) — the page must load from a
 * file with no server and produce a full-size screenshot. Looking at the picture is scripts/screenshot-report.sh.
 */
class ReportScreenshotTest {

    static String chromium() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            for (String name : new String[]{"chromium", "chromium-browser", "google-chrome"}) {
                if (Files.isExecutable(Path.of(dir, name))) {
                    return Path.of(dir, name).toString();
                }
            }
        }
        return null;
    }

    @Test
    void reportRendersInHeadlessChromium(@TempDir Path dir) throws Exception {
        String browser = chromium();
        Assumptions.assumeTrue(browser != null, "no chromium on PATH: screenshot test skipped");
        Path out = dir.resolve("out");
        var r = ProfileCommandTest.cli("profile", "--model", "toy-relu", "--text",
                ProfileCommandTest.text(dir, 40).toString(), "--tokens", "512", "--out", out.toString(),
                "--eval-tokens", "128", "--bisection-steps", "1", "--predictor-tokens", "128");
        assertThat(r.code()).as(r.err()).isZero();
        Path png = dir.resolve("shot.png");
        Process p = new ProcessBuilder(browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + dir.resolve("profile"), "--screenshot=" + png, "--window-size=1400,3000",
                out.resolve("report.html").toUri().toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("chromium.log").toFile()).start();
        Assumptions.assumeTrue(p.waitFor(90, TimeUnit.SECONDS), "chromium did not finish in 90 s: skipped");
        byte[] b = Files.readAllBytes(png);
        assertThat(Arrays.copyOf(b, 4)).containsExactly(0x89, 'P', 'N', 'G');
        assertThat(b.length).isGreaterThan(50_000); // a blank page compresses to a few KB
    }
}
