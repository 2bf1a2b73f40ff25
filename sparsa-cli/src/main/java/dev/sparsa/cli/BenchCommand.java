package dev.sparsa.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sparsa.SparsaException;
import dev.sparsa.infer.FfnKernels;
import dev.sparsa.infer.mode.SparseMode;
import dev.sparsa.io.AtomicFile;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;
import dev.sparsa.perf.Bandwidth;
import dev.sparsa.perf.Bench;
import dev.sparsa.perf.BenchPrompt;
import dev.sparsa.perf.BenchRow;
import dev.sparsa.tensor.Parallel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/** {@code sparsa bench}: Sparsa's own prefill / decode speed and its fraction of the memory bandwidth. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure Sparsa's prefill and decode tokens/s on a Llama model (warm-up, then repetitions: "
                + "median [min-max]), bytes read per decoded token, GB/s and the fraction of the memory bandwidth "
                + "measured in the same run (STREAM-style read).",
                "--modes dense,exact,cats,teal,topk,predicted: dense and each sparse mode side by side with their "
                        + "quality cost (bits/byte and greedy agreement with dense; docs/sparse-modes.md).",
                "Peers (llama.cpp, Jlama) are compared by ./sparsa bench-e2e (module sparsa-bench)."})
public final class BenchCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "DIR|FILE", description = "Model directory, .safetensors or .gguf "
            + "(required, but with --modes ... --quick).")
    Path model;

    @Option(names = "--gguf", paramLabel = "FILE", description = "Also benchmark this GGUF file (same model).")
    Path gguf;

    @Option(names = "--prompt-tokens", defaultValue = "128", description = "Prompt length (default ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--decode-tokens", defaultValue = "64", description = "Tokens generated (default ${DEFAULT-VALUE}).")
    int decodeTokens;

    @Option(names = "--threads", description = "Worker threads (default: all processors).")
    Integer threads;

    @Option(names = "--ffn", defaultValue = "dense", description = "dense, exact-sparse, predicted-sparse or both (= dense + exact-sparse) (default ${DEFAULT-VALUE}).")
    String ffn;

    @Option(names = "--reps", defaultValue = "3", description = "Timed repetitions (default ${DEFAULT-VALUE}).")
    int reps;

    @Option(names = "--warmup", defaultValue = "1", description = "Warm-up runs (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--bandwidth-mib", defaultValue = "1024", description = "Size of the bandwidth probe (default ${DEFAULT-VALUE}).")
    int bandwidthMib;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the results as JSON (atomically).")
    Path json;

    @Option(names = "--cache", paramLabel = "DIR",
            description = "--modes --quick: where its models are cached (default $SPARSA_CACHE or ~/.cache/sparsa).")
    Path cache;

    @Mixin
    SparseOption sparseOption = new SparseOption();

    @Mixin
    ModesOptions modesOptions = new ModesOptions();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        int n = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        if (n < 1 || reps < 1 || warmup < 0 || promptTokens < 1 || decodeTokens < 2 || bandwidthMib < 1) {
            throw new SparsaException.UsageException("--threads, --reps, --prompt-tokens, --bandwidth-mib must be >= 1,"
                    + " --decode-tokens >= 2 (decode speed is timed between the first and the last token), --warmup >= 0");
        }
        if (modesOptions.quick) {
            if (modesOptions.modes == null) {
                throw new SparsaException.UsageException("--quick is for --modes (e.g. --modes dense,exact,cats,"
                        + "predicted --quick)");
            }
            if (model != null || !sparseOption.sparse.equals("dense") || sparseOption.calibration != null
                    || !ffn.equals("dense") || gguf != null) {
                throw new SparsaException.UsageException("--quick brings its own models: give no --model, --sparse, "
                        + "--calibration, --ffn or --gguf with it (--quality-model DIR: a dense Llama to sparsify "
                        + "instead of the micro-llama)");
            }
            CommandLine.ParseResult p = spec.commandLine().getParseResult();
            return modesOptions.runQuick(n, p.hasMatchedOption("--prompt-tokens") ? promptTokens : 32,
                    p.hasMatchedOption("--decode-tokens") ? decodeTokens : 32, warmup, reps,
                    p.hasMatchedOption("--bandwidth-mib") ? bandwidthMib : 256, json, cache, spec);
        }
        if (model == null) {
            throw new SparsaException.UsageException("--model is required (or bench --modes MODES --quick, which "
                    + "brings its own)");
        }
        if (modesOptions.modes != null) {
            if (!sparseOption.sparse.equals("dense") || sparseOption.calibration != null || !ffn.equals("dense")
                    || gguf != null) {
                throw new SparsaException.UsageException("--modes runs every mode itself: give no --sparse, "
                        + "--calibration, --ffn or --gguf with it");
            }
            return modesOptions.run(List.of(model), n, promptTokens, decodeTokens, warmup, reps, bandwidthMib, json, spec,
                    null);
        }
        if (modesOptions.html != null) {
            throw new SparsaException.UsageException("--html is for --modes");
        }
        SparseMode mode = sparseOption.mode();
        if (mode != SparseMode.DENSE && !ffn.equals("dense")) {
            throw new SparsaException.UsageException("give --sparse MODE or --ffn KERNEL, not both");
        }
        List<String> ffns = ffn.equals("both") ? List.of("dense", "exact-sparse") : List.of(ffn);
        if (!ffn.equals("both") && !FfnKernels.NAMES.contains(ffn)) {
            throw new SparsaException.UsageException("--ffn must be one of " + String.join(", ", FfnKernels.NAMES)
                    + " or both, got " + ffn);
        }
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter out = spec.commandLine().getOut();
        Consumer<String> log = line -> {
            err.println(line);
            err.flush();
        };
        List<Path> models = new ArrayList<>(List.of(model));
        if (gguf != null) {
            models.add(gguf);
        }
        for (Path p : models) {   // a bad model fails here, in a moment, not after the bandwidth probe
            ModelFiles.open(p, true).close();
        }
        List<BenchRow> rows = new ArrayList<>();
        double bw;
        try (Parallel par = new Parallel(n)) {
            bw = Bandwidth.measure(par, (long) bandwidthMib << 20, 5);
            log.accept(String.format("memory bandwidth (read, %d threads): %.1f GB/s", n, bw));
            for (Path p : models) {
                try (ModelFiles files = ModelFiles.open(p)) {
                    int[] ids = BenchPrompt.ids(files, tokenizer(files), promptTokens, 7);
                    if (mode != SparseMode.DENSE) {                  // --sparse MODE: that mode's kernels
                        rows.add(Bench.sparsa(files, sparseOption.load(files, null).model(),
                                p.getFileName().toString(), mode.key(), ids, decodeTokens, warmup, reps, par, log)
                                .withBandwidth(bw));
                        continue;
                    }
                    for (String f : ffns) {
                        rows.add(Bench.sparsa(files, p.getFileName().toString(), f, ids, decodeTokens, warmup, reps,
                                par, log).withBandwidth(bw));
                    }
                }
            }
        }
        out.println(table(rows, bw, n));
        out.flush();
        if (json != null) {
            Map<String, Object> res = new LinkedHashMap<>();
            res.put("bandwidth_gb_s", bw);
            res.put("threads", n);
            res.put("rows", rows);
            AtomicFile.write(json, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(res));
        }
        return 0;
    }

    static Tokenizer tokenizer(ModelFiles files) {
        Path t = files.tokenizerJson();
        if (t == null) {
            Path beside = files.location().toAbsolutePath().resolveSibling(ModelFiles.TOKENIZER);
            t = Files.isRegularFile(beside) ? beside : null;
        }
        return t == null ? null : TokenizerJson.load(t);
    }

    /** A Markdown table of the rows. */
    public static String table(List<BenchRow> rows, double bw, int threads) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("memory bandwidth (STREAM-style read, %d threads): %.1f GB/s%n%n", threads, bw));
        sb.append("| engine | model | dtype | FFN | prefill tok/s | decode tok/s | MB/token | GB/s | % of BW | active | recall | ideal sparse speedup |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (BenchRow r : rows) {
            sb.append(String.format("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n", r.engine(), r.model(),
                    r.dtype(), r.ffn(), r.prefill(), r.decode(),
                    r.bytesPerToken() == null ? "" : String.format("%.0f", r.bytesPerToken() / 1e6),
                    r.gbPerSecond() == null ? "" : String.format("%.1f", r.gbPerSecond()),
                    r.fractionOfBandwidth() == null ? "" : String.format("%.0f%%", 100 * r.fractionOfBandwidth()),
                    r.activeFraction() == null ? "" : String.format("%.3f", r.activeFraction()),
                    r.recall() == null ? "" : String.format("%.3f", r.recall()),
                    r.idealSpeedup() == null ? "" : String.format("%.2fx", r.idealSpeedup())));
        }
        return sb.toString();
    }
}
