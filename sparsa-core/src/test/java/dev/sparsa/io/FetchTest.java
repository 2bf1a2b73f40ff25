package dev.sparsa.io;

import dev.sparsa.SparsaException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FetchTest {

    @Test
    void progressLinesKeepFileNameAndSize() {
        assertThat(Fetch.progressLine("Downloaded from central: https://host/a/b/model-1.0.jar (87 MB at 12 MB/s)"))
                .isEqualTo("downloaded model-1.0.jar (87 MB at 12 MB/s)");
        assertThat(Fetch.progressLine("npm notice package size: 2.9 MB")).isEqualTo("npm: package size: 2.9 MB");
        assertThat(Fetch.progressLine("[INFO] BUILD SUCCESS")).isNull();
        assertThat(Fetch.progressLine("Downloading from central: https://host/x.pom")).isNull();
    }

    @Test
    void npmPackageIsFetchedOnceIntoTheCacheWithProgress(@TempDir Path cache) {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Fetch fetch = new Fetch(cache, new PrintStream(log, true, StandardCharsets.UTF_8));
        Path pkg = fetch.npmPackage("is-number", "7.0.0");
        assertThat(pkg.resolve("package.json")).isRegularFile();
        String said = log.toString(StandardCharsets.UTF_8);
        assertThat(said).contains("fetching npm package is-number@7.0.0").contains("npm: package size");
        log.reset();
        assertThat(fetch.npmPackage("is-number", "7.0.0")).isEqualTo(pkg);   // cached: no second fetch
        assertThat(log.toString(StandardCharsets.UTF_8)).isEmpty();
        try (var left = Files.list(pkg.getParent())) {   // no temp folders left behind
            assertThat(left.map(p -> p.getFileName().toString())).containsExactly(pkg.getFileName().toString());
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void badCoordinatesAndMissingPackagesAreOneLineErrors(@TempDir Path cache) {
        Fetch fetch = new Fetch(cache, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertThatThrownBy(() -> fetch.npmPackage("x; rm -rf /", "1"))
                .isInstanceOf(SparsaException.UsageException.class).hasMessageContaining("not a package coordinate");
        assertThatThrownBy(() -> fetch.npmPackage("sparsa-no-such-package-zz9", "0.0.1"))
                .isInstanceOf(SparsaException.class).hasMessageContaining("npm pack").hasMessageNotContaining("\n");
    }
}
