package dev.sparsa;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The package layers of docs/ARCHITECTURE.md §1, read from the sources: every reference from one package of
 * sparsa-core to another (imports and qualified names in code) points to a lower layer, or inside its own package
 * family without a cycle; {@code dev.sparsa.SparsaException} may be used by all.
 */
class LayersTest {
    /** Layer of each top-level package; sub-packages share their family's layer. */
    static final Map<String, Integer> LAYER = Map.ofEntries(Map.entry("tensor", 0), Map.entry("spec", 1),
            Map.entry("io", 2), Map.entry("model", 3), Map.entry("eval", 4), Map.entry("infer", 4),
            Map.entry("profile", 5), Map.entry("train", 5), Map.entry("perf", 6), Map.entry("calibrate", 6),
            Map.entry("experiment", 7));

    static final Pattern REF = Pattern.compile("\\bdev\\.sparsa\\.((?:[a-z]\\w*\\.)*[a-z]\\w*)\\.[A-Z]");

    @Test
    void everyReferenceBetweenPackagesPointsDownOrInsideItsFamily() throws IOException {
        Path root = Path.of("src/main/java/dev/sparsa");
        Map<String, TreeSet<String>> deps = new TreeMap<>();
        TreeSet<String> packages = new TreeSet<>();
        List<String> upward = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String pkg = root.relativize(f.getParent()).toString().replace('/', '.');
                if (pkg.isEmpty()) {
                    continue;                                  // dev.sparsa: SparsaException only
                }
                assertThat(LAYER).as("layer of package dev.sparsa." + pkg).containsKey(family(pkg));
                packages.add(pkg);
                for (String line : Files.readAllLines(f)) {
                    String code = line.strip();
                    if (code.startsWith("*") || code.startsWith("/*") || code.startsWith("//")) {
                        continue;                              // comments may point anywhere
                    }
                    Matcher m = REF.matcher(code);
                    while (m.find()) {
                        String to = m.group(1);
                        if (to.equals(pkg)) {
                            continue;
                        }
                        deps.computeIfAbsent(pkg, k -> new TreeSet<>()).add(to);
                        boolean down = LAYER.get(family(to)) < LAYER.get(family(pkg));
                        if (!down && !family(to).equals(family(pkg))) {
                            upward.add(f.getFileName() + ": dev.sparsa." + pkg + " -> dev.sparsa." + to);
                        }
                    }
                }
            }
        }
        assertThat(packages).as("packages found").contains("tensor", "spec", "io", "model", "eval", "infer", "profile", "train", "perf", "experiment");
        assertThat(upward).as("references that do not point to a lower layer").isEmpty();
        for (String pkg : deps.keySet()) {
            assertThat(reaches(deps, pkg, pkg, new TreeSet<>())).as("dev.sparsa." + pkg + " is in a cycle").isFalse();
        }
    }

    static String family(String pkg) {
        int dot = pkg.indexOf('.');
        return dot < 0 ? pkg : pkg.substring(0, dot);
    }

    private static boolean reaches(Map<String, TreeSet<String>> deps, String from, String target, TreeSet<String> seen) {
        for (String to : deps.getOrDefault(from, new TreeSet<>())) {
            if (to.equals(target) || (seen.add(to) && reaches(deps, to, target, seen))) {
                return true;
            }
        }
        return false;
    }
}
