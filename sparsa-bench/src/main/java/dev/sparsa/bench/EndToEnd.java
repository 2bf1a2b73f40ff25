package dev.sparsa.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sparsa.SparsaException;
import dev.sparsa.io.AtomicFile;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;
import dev.sparsa.perf.Bandwidth;
import dev.sparsa.perf.Bench;
import dev.sparsa.perf.BenchPrompt;
import dev.sparsa.perf.BenchRow;
import dev.sparsa.perf.DecodeBytes;
import dev.sparsa.perf.Stats;
import dev.sparsa.perf.Synth;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Parallel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/**
 * {@code ./sparsa bench-e2e}: Sparsa against the engines a Java user would pick instead, side by side in one
 * process and one run, on the same random-weight models written by {@code sparsa synth} (created when missing):
 * llama.cpp through de.kherud:llama (JNI, Q8_0 GGUF) and Jlama (safetensors folder, BF16). Sparsa runs its dense
 * FFN on BF16 and Q8_0, and its exact-sparse FFN on the ~90%-sparse FATReLU stand-in (same shape and bytes; the
 * dense SiLU model is the fair dense baseline for llama.cpp, which has no FATReLU).
 *
 * <p>Same definitions for every engine (see {@link Bench}): prefill tok/s = prompt tokens / time to first token;
 * decode tok/s = (tokens − 1) / (time of the last token − time of the first). Greedy, EOS ignored.
 */
@Command(name = "bench-e2e", mixinStandardHelpOptions = true,
        description = "End-to-end prefill/decode tokens/s of Sparsa vs llama.cpp (de.kherud:llama) and Jlama on "
                + "random-weight models at a realistic shape (created with sparsa synth when missing), with the fraction"
                + " of the memory bandwidth measured in the same run. --modes: dense and each sparse mode side by side "
                + "with their quality cost and llama.cpp dense Q8_0 as the reference row (docs/sparse-modes.md).")
public final class EndToEnd implements Callable<Integer> {

    @Option(names = "--shape", defaultValue = "tinyllama", description = "Model shape (default ${DEFAULT-VALUE}).")
    String shape;

    @Option(names = "--cache", paramLabel = "DIR",
            description = "Where the synthetic models live (default: $SPARSA_CACHE/synth or ~/.cache/sparsa/synth).")
    Path cache;

    @Option(names = "--prompt-tokens", defaultValue = "128", description = "Prompt length (default ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--decode-tokens", defaultValue = "64", description = "Generated tokens (default ${DEFAULT-VALUE}).")
    int decodeTokens;

    @Option(names = "--threads", defaultValue = "2", description = "Threads for every engine (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--reps", defaultValue = "3", description = "Timed repetitions (default ${DEFAULT-VALUE}).")
    int reps;

    @Option(names = "--warmup", defaultValue = "1", description = "Warm-up runs (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--sparsity", defaultValue = "0.9", description = "Target sparsity of the FATReLU model (default ${DEFAULT-VALUE}).")
    double sparsity;

    @Option(names = "--engines", split = ",", defaultValue = "sparsa,sparsa-sparse,sparsa-predicted,llamacpp,jlama,jlama-q4",
            description = "Which rows: sparsa (dense BF16 + Q8_0), sparsa-sparse (exact-sparse BF16 + Q8_0, and dense "
                    + "on the sparse model), sparsa-sparse-split (exact-sparse Q8_0 in the split layout), sparsa-predicted "
                    + "(rank-r predicted-sparse BF16 + Q8_0), llamacpp, jlama, "
                    + "jlama-q4 (default ${DEFAULT-VALUE}).")
    List<String> engines;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the results as JSON (atomically).")
    Path json;

    @Option(names = "--markdown", paramLabel = "FILE", description = "Write the table as Markdown (atomically).")
    Path markdown;

    @CommandLine.Mixin
    dev.sparsa.cli.ModesOptions modesOptions = new dev.sparsa.cli.ModesOptions();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new EndToEnd());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof SparsaException) {
                cmd.getErr().println("sparsa bench-e2e: " + ex.getMessage());
                return 2;
            }
            throw ex;
        });
        System.exit(cl.execute(args));
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        Consumer<String> log = line -> {
            err.println(line);
            err.flush();
        };
        for (String e : engines) {
            if (!List.of("sparsa", "sparsa-sparse", "sparsa-sparse-split", "sparsa-predicted", "llamacpp", "jlama",
                    "jlama-q4").contains(e)) {
                throw new SparsaException.UsageException("--engines: unknown engine '" + e + "'");
            }
        }
        Synth.Shape s = Synth.SHAPES.get(shape);
        if (s == null) {
            throw new SparsaException.UsageException("--shape: unknown shape '" + shape + "'");
        }
        Path dir = cache != null ? cache : defaultCache();
        if (modesOptions.modes != null) {
            return modes(s, dir, log);
        }
        if (modesOptions.html != null) {
            throw new SparsaException.UsageException("--html is for --modes");
        }
        String load0 = loadAverage();
        Synth.Result dense = Synth.ensure(new Synth.Options(s, DType.BF16, DType.Q8_0, "silu", sparsity, 1),
                dir.resolve(shape + "-silu"), log);
        Synth.Result sparse = engines.contains("sparsa-sparse") || engines.contains("sparsa-sparse-split")
                || engines.contains("sparsa-predicted")
                ? Synth.ensure(new Synth.Options(s, DType.BF16, DType.Q8_0, "fatrelu", sparsity, 1),
                dir.resolve(shape + "-fatrelu" + Math.round(sparsity * 100)), log) : null;

        Tokenizer tok = TokenizerJson.load(dense.dir().resolve(ModelFiles.TOKENIZER));
        BenchPrompt prompt = BenchPrompt.of(tok, promptTokens, 7);
        List<BenchRow> rows = new ArrayList<>();
        double bw0;
        double bw1;
        String loadStart = loadAverage();
        try (Parallel par = new Parallel(threads)) {
            bw0 = Bandwidth.measure(par, 1L << 30, 5);
            log.accept(String.format("memory bandwidth (read, %d threads): %.1f GB/s; load average %s", threads, bw0,
                    loadStart));
            if (engines.contains("sparsa")) {
                rows.add(sparsa(dense.dir(), "dense", prompt, par, log));
                rows.add(sparsa(dense.gguf(), "dense", prompt, par, log));
            }
            if (engines.contains("sparsa-sparse")) {
                rows.add(sparsa(sparse.dir(), "exact-sparse", prompt, par, log));
                rows.add(sparsa(sparse.gguf(), "exact-sparse", prompt, par, log));
                rows.add(sparsa(sparse.gguf(), "dense", prompt, par, log));
            }
            if (engines.contains("sparsa-predicted")) {
                rows.add(sparsa(sparse.dir(), "predicted-sparse", prompt, par, log));
                rows.add(sparsa(sparse.gguf(), "predicted-sparse", prompt, par, log));
            }
            double denseQ8 = bytes(dense.gguf(), promptTokens + decodeTokens / 2);
            double denseBf16 = bytes(dense.dir(), promptTokens + decodeTokens / 2);
            if (engines.contains("llamacpp")) {
                rows.add(peer(() -> Peers.llamaCpp(dense.gguf(), prompt, decodeTokens, threads, warmup, reps, log),
                        "llama.cpp", Bench.modelName(dense.gguf()), "Q8_0", denseQ8));
            }
            if (engines.contains("jlama")) {
                rows.add(peer(() -> Peers.jlama(dense.dir(), null, prompt, decodeTokens, threads, warmup, reps, log),
                        "jlama", Bench.modelName(dense.dir()), "BF16", denseBf16));
            }
            if (engines.contains("jlama-q4")) {
                rows.add(peer(() -> Peers.jlama(dense.dir(), "Q4", prompt, decodeTokens, threads, warmup, reps, log),
                        "jlama", Bench.modelName(dense.dir()), "Q4 (quantized at load)", Double.NaN));
            }
            bw1 = Bandwidth.measure(par, 1L << 30, 5);
        }
        double bw = Math.max(bw0, bw1);
        List<BenchRow> done = new ArrayList<>();
        for (BenchRow r : rows) {
            done.add(r.withBandwidth(bw));
        }
        String loadEnd = loadAverage();
        String md = markdown(done, bw0, bw1, loadStart, loadEnd);
        PrintWriter out = spec.commandLine().getOut();
        out.println(md);
        out.flush();
        if (markdown != null) {
            AtomicFile.write(markdown, md.getBytes(StandardCharsets.UTF_8));
        }
        if (json != null) {
            Map<String, Object> res = new LinkedHashMap<>();
            res.put("date", Instant.now().toString());
            res.put("cpu", cpuModel());
            res.put("processors", Runtime.getRuntime().availableProcessors());
            res.put("threads", threads);
            res.put("bandwidth_gb_s_start", bw0);
            res.put("bandwidth_gb_s_end", bw1);
            res.put("load_average_before", load0);
            res.put("load_average_start", loadStart);
            res.put("load_average_end", loadEnd);
            res.put("prompt_text", prompt.text());
            res.put("rows", done);
            AtomicFile.write(json, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(res));
        }
        return 0;
    }

    /**
     * {@code --modes}: dense and each sparse mode side by side (dev.sparsa.cli.ModesBench) on the Q8_0 GGUFs of the
     * synthetic models, exact and predicted on the FATReLU one, cats, teal and topk on the SiLU one (each against
     * Sparsa dense on the same file), quality on the {@code --quality-model}s, and llama.cpp dense Q8_0 on the SiLU
     * file as the reference row of the same run.
     */
    private int modes(Synth.Shape s, Path dir, Consumer<String> log) throws Exception {
        if (modesOptions.quick) {
            throw new SparsaException.UsageException("--quick is for sparsa bench --modes (bench-e2e measures the "
                    + "peers on the shape given)");
        }
        if (modesOptions.qualityModels.isEmpty()) {
            throw new SparsaException.UsageException("--modes needs --quality-model DIR: trained models for the "
                    + "quality rows (a ReLU-family one for exact/predicted, e.g. a ProSparse tiny-llama; a dense one "
                    + "for cats/teal/topk, e.g. the cached micro-llama under ~/.cache/sparsa/models); the synthetic "
                    + "models have random weights");
        }
        modesOptions.settings(promptTokens, decodeTokens, warmup, reps);     // bad values fail before any synth
        Synth.Result dense = Synth.ensure(new Synth.Options(s, DType.BF16, DType.Q8_0, "silu", sparsity, 1),
                dir.resolve(shape + "-silu"), log);
        Synth.Result sparse = Synth.ensure(new Synth.Options(s, DType.BF16, DType.Q8_0, "fatrelu", sparsity, 1),
                dir.resolve(shape + "-fatrelu" + Math.round(sparsity * 100)), log);
        Tokenizer tok = TokenizerJson.load(dense.dir().resolve(ModelFiles.TOKENIZER));
        BenchPrompt prompt = BenchPrompt.of(tok, promptTokens, 7);
        double denseQ8 = bytes(dense.gguf(), promptTokens + decodeTokens / 2);
        return modesOptions.run(List.of(sparse.gguf(), dense.gguf()), threads, promptTokens, decodeTokens, warmup,
                reps, 1024, json, spec, (par, lg) -> peer(() -> Peers.llamaCpp(dense.gguf(), prompt, decodeTokens,
                        threads, warmup, reps, lg), "llama.cpp", Bench.modelName(dense.gguf()), "Q8_0", denseQ8));
    }

    private BenchRow sparsa(Path model, String ffn, BenchPrompt prompt, Parallel par, Consumer<String> log) {
        try (ModelFiles files = ModelFiles.open(model)) {
            return Bench.sparsa(files, Bench.modelName(model), ffn, prompt.ids(), decodeTokens, warmup, reps, par, log);
        }
    }

    private static double bytes(Path model, int context) {
        try (ModelFiles files = ModelFiles.open(model)) {
            return DecodeBytes.dense(files, context);
        }
    }

    @FunctionalInterface
    interface PeerRun {
        Peers.Result run() throws Exception;
    }

    /** Runs a peer; a failure becomes a row with the reason instead of ending the benchmark. */
    private BenchRow peer(PeerRun run, String engine, String model, String dtype, double bytes) {
        try {
            Peers.Result r = run.run();
            return new BenchRow(engine, model, dtype, "dense", threads, r.promptTokens(), decodeTokens, r.prefill(),
                    r.decode(), Double.isNaN(bytes) ? null : bytes, null, null, null, null, null, r.note());
        } catch (Throwable t) {
            StringWriter sw = new StringWriter();
            t.printStackTrace(new PrintWriter(sw));
            spec.commandLine().getErr().println(engine + " failed: " + sw);
            return new BenchRow(engine, model, dtype, "dense", threads, promptTokens, decodeTokens, null, null, null,
                    null, null, null, null, null, "FAILED: " + t);
        }
    }

    private String markdown(List<BenchRow> rows, double bw0, double bw1, String loadStart, String loadEnd) {
        Double llama = rows.stream().filter(r -> r.engine().equals("llama.cpp") && r.decode() != null)
                .map(r -> r.decode().median()).findFirst().orElse(null);
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%s, %d processors, %d threads; %s; load average %s at the start, %s at the end%n%n",
                cpuModel(), Runtime.getRuntime().availableProcessors(), threads, Instant.now(), loadStart, loadEnd));
        sb.append(String.format("Measured memory bandwidth (STREAM-style read, %d threads, 1 GiB): %.1f GB/s at the start,"
                + " %.1f GB/s at the end (the larger is the limit below).%n", threads, bw0, bw1));
        sb.append(String.format("Prompt %d tokens, %d decoded, %d warm-up + %d timed runs: median [min–max].%n%n",
                promptTokens, decodeTokens, warmup, reps));
        sb.append("| engine | model | weights | FFN | prefill tok/s | decode tok/s | MB/token | GB/s | % of BW "
                + "| decode vs llama.cpp | active | recall | ideal speedup (bytes) | note |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (BenchRow r : rows) {
            sb.append(String.format("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n",
                    r.engine(), r.model(), r.dtype(), r.ffn(),
                    r.prefill() == null ? "—" : fmt(r.prefill()), r.decode() == null ? "—" : fmt(r.decode()),
                    r.bytesPerToken() == null ? "" : String.format("%.0f", r.bytesPerToken() / 1e6),
                    r.gbPerSecond() == null ? "" : String.format("%.1f", r.gbPerSecond()),
                    r.fractionOfBandwidth() == null ? "" : String.format("%.0f%%", 100 * r.fractionOfBandwidth()),
                    llama == null || r.decode() == null ? "" : String.format("%.2fx", r.decode().median() / llama),
                    r.activeFraction() == null ? "" : String.format("%.3f", r.activeFraction()),
                    r.recall() == null ? "" : String.format("%.3f", r.recall()),
                    r.idealSpeedup() == null ? "" : String.format("%.2fx", r.idealSpeedup()),
                    r.note() == null ? "" : r.note().replace("|", "/")));
        }
        return sb.toString();
    }

    private static String fmt(Stats s) {
        return String.format("%.1f [%.1f–%.1f]", s.median(), s.min(), s.max());
    }

    static Path defaultCache() {
        String env = System.getenv("SPARSA_CACHE");
        Path base = env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "sparsa");
        return base.resolve("synth");
    }

    static String loadAverage() {
        try {
            String s = Files.readString(Path.of("/proc/loadavg")).trim();
            String[] p = s.split("\\s+");
            return p[0] + " " + p[1] + " " + p[2];
        } catch (Exception e) {
            return String.format("%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        }
    }

    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (Exception e) {
            // fall through
        }
        return System.getProperty("os.arch");
    }
}
