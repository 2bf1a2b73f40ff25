package dev.sparsa.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.SparsaException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The PyTorch CPU peer of {@code sparsa bench-train}: {@code scripts/bench/train_torch.py} (packed into this jar as
 * a resource, so the command needs no checkout path) run by a Python that has torch, its script fed on stdin
 * ({@code python -}), its progress (stderr) forwarded line by line, its one JSON line (stdout) parsed.
 */
final class TorchPeer {
    private TorchPeer() {
    }

    /** Where the script lives in the jar (copied there from scripts/bench by the module's pom). */
    static final String SCRIPT = "/dev/sparsa/cli/train_torch.py";
    /** How to get PyTorch on Debian / Ubuntu: the line every missing-torch error names. */
    static final String SETUP = "scripts/bench/setup-pytorch.sh (apt-get install -y python3-torch libopenblas0-pthread)";
    private static final long CHECK_SECONDS = 300;

    /** Debian's interpreter (where apt puts python3-torch) when present, else python3 from PATH. */
    static String defaultPython() {
        return Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    }

    /**
     * Checks that {@code python} runs and imports torch, before any work; returns torch's version. A one-line
     * usage error naming the setup script otherwise.
     */
    static String check(String python) {
        Process p;
        try {
            p = new ProcessBuilder(python, "-c", "import torch, sys; sys.stdout.write(torch.__version__)")
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new SparsaException.UsageException("--peer torch: cannot run " + python + " (" + e.getMessage()
                    + "); install PyTorch with " + SETUP + ", name another interpreter with --python, or use --peer none");
        }
        try {
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(CHECK_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new SparsaException.UsageException("--peer torch: " + python + " did not import torch within "
                        + CHECK_SECONDS + " s");
            }
            if (p.exitValue() != 0) {
                List<String> lines = out.lines().toList();
                String why = lines.isEmpty() ? "exit " + p.exitValue() : lines.getLast();
                throw new SparsaException.UsageException("--peer torch: " + python + " has no usable torch (" + why
                        + "); install it with " + SETUP + ", or use --peer none");
            }
            return out.isEmpty() ? "unknown" : out.lines().toList().getLast();
        } catch (IOException e) {
            throw new SparsaException.UsageException("--peer torch: " + python + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new SparsaException("--peer torch: interrupted");
        }
    }

    /** Runs the script with {@code args}; progress to {@code log}; returns its JSON object. */
    static JsonNode run(String python, List<String> args, Consumer<String> log) {
        byte[] script;
        try (InputStream in = TorchPeer.class.getResourceAsStream(SCRIPT)) {
            if (in == null) {
                throw new IllegalStateException("train_torch.py is missing from the jar (" + SCRIPT + ")");
            }
            script = in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + SCRIPT, e);
        }
        List<String> cmd = new ArrayList<>(List.of(python, "-"));
        cmd.addAll(args);
        Process p;
        try {
            p = new ProcessBuilder(cmd).start();
        } catch (IOException e) {
            throw new SparsaException("PyTorch peer: cannot run " + python + ": " + e.getMessage());
        }
        List<String> errLines = new ArrayList<>();
        Thread pump = Thread.ofPlatform().daemon().name("torch-peer-stderr").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    synchronized (errLines) {
                        errLines.add(line);
                    }
                    log.accept(line);
                }
            } catch (IOException e) {
                // the process ended; what it printed is in errLines
            }
        });
        try {
            try (OutputStream stdin = p.getOutputStream()) {
                stdin.write(script);
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int code = p.waitFor();
            pump.join();
            if (code != 0) {
                String last;
                synchronized (errLines) {
                    last = errLines.isEmpty() ? "no message" : errLines.getLast();
                }
                throw new SparsaException("PyTorch peer failed (exit " + code + "): " + last);
            }
            List<String> json = out.lines().filter(l -> l.startsWith("{")).toList();
            if (json.isEmpty()) {
                throw new SparsaException("PyTorch peer printed no JSON result (stdout: '" + Main.oneLine(out.strip())
                        + "')");
            }
            JsonNode node = new ObjectMapper().readTree(json.getLast());
            if (!node.path("tokensPerSecond").isNumber() || !(node.path("tokensPerSecond").asDouble() > 0)) {
                throw new SparsaException("PyTorch peer's JSON has no positive tokensPerSecond: " + json.getLast());
            }
            return node;
        } catch (IOException e) {
            throw new SparsaException("PyTorch peer: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new SparsaException("PyTorch peer: interrupted");
        }
    }
}
