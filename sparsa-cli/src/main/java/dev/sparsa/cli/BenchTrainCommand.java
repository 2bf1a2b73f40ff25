package dev.sparsa.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.SparsaException;
import dev.sparsa.io.ConfigJson;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.Presets;
import dev.sparsa.train.StepProfile;
import dev.sparsa.train.StepProfile.Op;
import dev.sparsa.train.TrainBench;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/**
 * {@code sparsa bench-train}: training tokens/s of the trainer core on random data (fp32, AdamW), its GFLOP/s
 * against the cores' measured FP32 peak and the peak RSS, side by side with PyTorch CPU on the same model, sizes and
 * threads in the same invocation ({@link TorchPeer}).
 */
@Command(name = "bench-train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Measure training throughput: fresh fp32 parameters, random token batches, forward + "
                + "cross-entropy + backward + AdamW (lr 1e-3, betas 0.9/0.95, weight decay 0.1, clip 1.0) per step; "
                + "warm-up steps, then timed steps. Reports tokens/s, s/step, GFLOP/s (6·N_matmul·tokens + causal "
                + "attention), the fraction of the cores' FP32 peak (measured by a Vector API FMA loop) and the peak "
                + "RSS; then runs PyTorch CPU (scripts/bench/train_torch.py) on the same config and prints the ratio.",
                "PyTorch on Debian/Ubuntu: scripts/bench/setup-pytorch.sh (apt-get install -y python3-torch "
                        + "libopenblas0-pthread)."})
public final class BenchTrainCommand implements Callable<Integer> {

    @Option(names = "--batch", defaultValue = "8", description = "Sequences per step (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seq", defaultValue = "256", description = "Tokens per sequence (default ${DEFAULT-VALUE}).")
    int seq;

    @Option(names = "--steps", defaultValue = "10", description = "Timed steps (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--warmup", defaultValue = "2", description = "Untimed warm-up steps (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--threads", description = "Threads, Sparsa's and PyTorch's (default: all processors).")
    Integer threads;

    @Option(names = "--config", defaultValue = "tiny-llama", paramLabel = "NAME|config.json",
            description = "Model shape: tiny-llama, micro-llama or a Hugging Face config.json (default ${DEFAULT-VALUE}).")
    String config;

    @Option(names = "--json", description = "Print one JSON object on stdout instead of the tables.")
    boolean json;

    @Option(names = "--peer", defaultValue = "torch", paramLabel = "torch|none",
            description = "torch: also run PyTorch CPU on the same config, sizes and threads (default ${DEFAULT-VALUE}).")
    String peer;

    @Option(names = "--python", paramLabel = "EXE",
            description = "Python with torch for --peer torch (default: /usr/bin/python3 when present, else python3).")
    String python;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the parameters and the token batches (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--profile", description = "Also time each section of Sparsa's step (forward per layer, loss, "
            + "every backward op, optimizer) over the timed steps.")
    boolean profile;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        int n = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        if (n < 1) {
            throw new SparsaException.UsageException("--threads must be >= 1, got " + n);
        }
        if (!peer.equals("torch") && !peer.equals("none")) {
            throw new SparsaException.UsageException("--peer must be torch or none, got '" + peer + "'");
        }
        ModelConfig cfg = resolveConfig(config);
        TrainBench.validate(cfg, config, batch, seq, warmup, steps);
        String py = python != null ? python : TorchPeer.defaultPython();
        PrintWriter err = spec.commandLine().getErr();
        Consumer<String> log = line -> {
            err.println(line);
            err.flush();
        };
        String torchVersion = null;
        if (peer.equals("torch")) {
            torchVersion = TorchPeer.check(py);                     // before any work
            log.accept("peer: torch " + torchVersion + " (" + py + ")");
        }
        String loadStart = loadAverage();
        int cores = Math.min(n, Runtime.getRuntime().availableProcessors());
        double measured = TrainBench.fp32PeakGflops(1, 100, 3);
        double nominal = TrainBench.nominalPeakGflopsPerCore();
        // the larger: a probe that shared its core with other work reads low, a turbo clock above the nominal one
        double perCore = Double.isNaN(nominal) ? measured : Math.max(measured, nominal);
        double peak = perCore * cores;
        log.accept(String.format(Locale.ROOT, "FP32 peak per core: %.1f GFLOP/s measured (Vector API FMA, %d lanes), "
                + "%.1f nominal (clock x 2 FMA x lanes x 2); %.1f for %d cores", measured, TrainBench.peakLanes(),
                nominal, peak, cores));
        StepProfile prof = profile ? new StepProfile(cfg.numLayers(), TrainBench.heapCounter()) : null;
        TrainBench.Result r;
        try (Parallel par = new Parallel(n)) {
            r = TrainBench.run(cfg, batch, seq, warmup, steps, seed, par, prof, log);
        }
        long rss = TrainBench.peakRssBytes();
        log.accept(String.format(Locale.ROOT, "sparsa: %.1f tok/s, %.1f GFLOP/s", r.tokensPerSecond(), r.gflops()));
        JsonNode torch = null;
        if (peer.equals("torch")) {
            String cfgJson = new String(ConfigJson.toJson(cfg), java.nio.charset.StandardCharsets.UTF_8);
            torch = TorchPeer.run(py, List.of("--batch", "" + batch, "--seq", "" + seq, "--steps", "" + steps,
                    "--warmup", "" + warmup, "--threads", "" + n, "--seed", "" + seed, "--config", cfgJson), log);
        }
        Map<String, Object> res = result(cfg, r, rss, measured, nominal, peak, torch, loadStart, loadAverage());
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            try {
                out.println(new ObjectMapper().writeValueAsString(res));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        } else {
            out.print(table(res));
            if (prof != null) {
                out.print(profileTable(cfg, r, prof));
            }
        }
        out.flush();
        return 0;
    }

    /** A preset name or a config.json; one-line usage error otherwise. */
    static ModelConfig resolveConfig(String name) {
        if (Presets.NAMES.contains(name)) {
            return Presets.of(name);
        }
        Path p = Path.of(name);
        if (Files.isDirectory(p) && Files.isRegularFile(p.resolve("config.json"))) {
            p = p.resolve("config.json");
        }
        if (!Files.isRegularFile(p)) {
            throw new SparsaException.UsageException("--config '" + name + "' is neither a preset ("
                    + String.join(", ", Presets.NAMES) + ") nor a config.json file");
        }
        return ConfigJson.read(p);
    }

    private Map<String, Object> result(ModelConfig cfg, TrainBench.Result r, long rss, double measured,
                                       double nominal, double peak, JsonNode torch, String loadStart,
                                       String loadEnd) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("engine", "sparsa");
        m.put("config", config);
        m.put("params", r.params());
        m.put("matmulParams", r.matmulParams());
        m.put("batch", r.batch());
        m.put("seq", r.seq());
        m.put("threads", r.threads());
        m.put("warmup", r.warmup());
        m.put("steps", r.steps());
        m.put("seed", seed);
        m.put("tokensPerStep", r.tokensPerStep());
        m.put("flopsPerStep", r.flopsPerStep());
        m.put("tokensPerSecond", r.tokensPerSecond());
        m.put("secondsPerStep", r.secondsPerStep());
        m.put("medianStepSeconds", r.medianStepSeconds());
        m.put("minStepSeconds", r.minStepSeconds());
        m.put("stepSeconds", r.stepSeconds());
        m.put("gflops", r.gflops());
        m.put("peakGflopsPerCoreMeasured", measured);
        m.put("peakGflopsPerCoreNominal", Double.isNaN(nominal) ? null : nominal);
        m.put("peakGflops", peak);
        m.put("peakFraction", r.gflops() / peak);
        m.put("peakRssMiB", rss < 0 ? null : rss / 1048576.0);
        m.put("allocatedMiBPerStep", Double.isNaN(r.allocatedBytesPerStep()) ? null
                : r.allocatedBytesPerStep() / 1048576.0);
        m.put("firstLoss", r.firstLoss());
        m.put("lastLoss", r.lastLoss());
        m.put("java", Runtime.version().toString());
        m.put("cpu", cpuModel());
        m.put("loadAverageStart", loadStart);
        m.put("loadAverageEnd", loadEnd);
        if (r.profile() != null) {
            m.put("profile", profileJson(cfg, r, r.profile()));
        }
        if (torch != null) {
            Map<String, Object> pm = new ObjectMapper().convertValue(torch, LinkedHashMap.class);
            double tps = torch.get("tokensPerSecond").asDouble();
            double g = r.flopsPerStep() * tps / r.tokensPerStep() / 1e9;        // the same FLOP count as Sparsa's
            pm.put("gflops", g);
            pm.put("peakFraction", g / peak);
            m.put("peer", pm);
            m.put("ratio", r.tokensPerSecond() / tps);
        }
        return m;
    }

    private static List<Map<String, Object>> profileJson(ModelConfig cfg, TrainBench.Result r, StepProfile p) {
        List<Map<String, Object>> rows = new ArrayList<>();
        double steps = p.steps();
        double total = p.totalSeconds();
        for (Op op : Op.values()) {
            Map<String, Object> row = new LinkedHashMap<>();
            double s = p.seconds(op);
            row.put("op", op.name());
            row.put("label", op.label().strip());
            row.put("msPerStep", s / steps * 1e3);
            row.put("fraction", s / total);
            double fl = TrainBench.stepFlops(op, cfg, r.batch(), r.seq());
            row.put("gflops", fl > 0 ? fl * steps / s / 1e9 : null);
            row.put("allocatedMiBPerStep", p.countsAllocation() ? p.allocatedBytes(op) / steps / 1048576.0 : null);
            if (TrainBench.perLayer(op)) {
                double[] per = new double[cfg.numLayers()];
                for (int l = 0; l < per.length; l++) {
                    per[l] = p.seconds(op, l) / steps * 1e3;
                }
                row.put("msPerLayer", per);
            }
            rows.add(row);
        }
        return rows;
    }

    /** The profile as a Markdown table (ms per step, share, GFLOP/s of the counted FLOPs). */
    static String profileTable(ModelConfig cfg, TrainBench.Result r, StepProfile p) {
        StringBuilder sb = new StringBuilder();
        double steps = p.steps();
        double total = p.totalSeconds();
        sb.append(String.format(Locale.ROOT, "%nSparsa step profile (mean of %d timed steps; %.1f ms per step in all)%n%n",
                p.steps(), total / steps * 1e3));
        sb.append("| section | ms/step | share | GFLOP/s | heap MiB/step |\n|---|---|---|---|---|\n");
        for (Op op : Op.values()) {
            double s = p.seconds(op);
            double fl = TrainBench.stepFlops(op, cfg, r.batch(), r.seq());
            sb.append(String.format(Locale.ROOT, "| %s%s | %.1f | %.1f%% | %s | %s |%n", op.label(),
                    TrainBench.perLayer(op) ? " (x" + cfg.numLayers() + ")" : "", s / steps * 1e3, 100 * s / total,
                    fl > 0 ? String.format(Locale.ROOT, "%.1f", fl * steps / s / 1e9) : "",
                    p.countsAllocation() ? String.format(Locale.ROOT, "%.1f", p.allocatedBytes(op) / steps / 1048576.0)
                            : ""));
        }
        sb.append("\nper layer (ms/step): forward");
        for (int l = 0; l < cfg.numLayers(); l++) {
            sb.append(String.format(Locale.ROOT, " %.1f", p.seconds(Op.FWD_LAYER, l) / steps * 1e3));
        }
        sb.append(", backward");
        for (int l = 0; l < cfg.numLayers(); l++) {
            sb.append(String.format(Locale.ROOT, " %.1f", p.backwardSeconds(l) / steps * 1e3));
        }
        sb.append('\n');
        return sb.toString();
    }

    /** The human summary: one row per engine and the ratio. */
    @SuppressWarnings("unchecked")
    static String table(Map<String, Object> m) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%s: %d parameters, batch %d x %d tokens, %d threads, %d warm-up + %d timed "
                        + "steps, %.2f GFLOP per step; FP32 peak %.1f GFLOP/s (per core: %.1f measured, %s nominal)%n%n",
                m.get("config"), m.get("params"), m.get("batch"), m.get("seq"), m.get("threads"), m.get("warmup"),
                m.get("steps"), (double) m.get("flopsPerStep") / 1e9, m.get("peakGflops"), m.get("peakGflopsPerCoreMeasured"),
                m.get("peakGflopsPerCoreNominal") == null ? "unknown" : String.format(Locale.ROOT, "%.1f",
                        (double) m.get("peakGflopsPerCoreNominal"))));
        sb.append("| engine | tok/s | s/step (mean) | s/step (median, min) | GFLOP/s | % of FP32 peak | peak RSS MiB "
                + "| loss first -> last |\n|---|---|---|---|---|---|---|---|\n");
        row(sb, "sparsa (Java " + m.get("java") + ")", m);
        Object peer = m.get("peer");
        if (peer instanceof Map<?, ?> pm) {
            Map<String, Object> p = (Map<String, Object>) pm;
            row(sb, "pytorch " + p.get("torch") + " (" + p.get("threads") + " threads)", p);
            sb.append(String.format(Locale.ROOT, "%nratio sparsa / pytorch: %.2fx%n", (double) m.get("ratio")));
            if (p.get("blas") != null) {
                sb.append("pytorch BLAS: ").append(p.get("blas")).append('\n');
            }
        }
        if (m.get("allocatedMiBPerStep") instanceof Number a) {
            sb.append(String.format(Locale.ROOT, "sparsa Java heap allocated per timed step: %.1f MiB%n",
                    a.doubleValue()));
        }
        sb.append("load average: ").append(m.get("loadAverageStart")).append(" at the start, ")
                .append(m.get("loadAverageEnd")).append(" at the end\n");
        return sb.toString();
    }

    private static void row(StringBuilder sb, String name, Map<String, Object> m) {
        Object rss = m.get("peakRssMiB");
        sb.append(String.format(Locale.ROOT, "| %s | %.1f | %.3f | %.3f, %.3f | %.1f | %.1f%% | %s | %.4f -> %.4f |%n", name,
                num(m, "tokensPerSecond"), num(m, "secondsPerStep"), num(m, "medianStepSeconds"),
                num(m, "minStepSeconds"), num(m, "gflops"), 100 * num(m, "peakFraction"),
                rss == null ? "" : String.format(Locale.ROOT, "%.0f", ((Number) rss).doubleValue()),
                num(m, "firstLoss"), num(m, "lastLoss")));
    }

    private static double num(Map<String, Object> m, String key) {
        return m.get(key) instanceof Number x ? x.doubleValue() : Double.NaN;
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).strip();
                }
            }
        } catch (IOException | RuntimeException e) {
            return System.getProperty("os.arch");
        }
        return System.getProperty("os.arch");
    }
}
