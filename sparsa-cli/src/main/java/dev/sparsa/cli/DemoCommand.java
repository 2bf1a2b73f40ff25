package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.cli.report.DemoReportHtml;
import dev.sparsa.cli.report.ResultsFiles;
import dev.sparsa.cli.report.SummaryTable;
import dev.sparsa.eval.EvalResult;
import dev.sparsa.experiment.DemoResults;
import dev.sparsa.experiment.DenseLlamaCache;
import dev.sparsa.experiment.ProSparseDemo;
import dev.sparsa.io.Fetch;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.perf.BenchRow;
import dev.sparsa.profile.ProfileOptions;
import dev.sparsa.profile.ProfileResults;
import dev.sparsa.profile.ProgressListener;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code sparsa demo}: the whole story on a fresh machine in one command — (1) the activation sparsity of
 * all-MiniLM-L6-v2 (Maven) on the Brown corpus (npm); (2) a small dense Llama pretrained by Sparsa on Brown train
 * (cached: the second run skips it), its ProSparse version, the profile of both, and their decode speed with the
 * dense and the exact-sparse FFN kernels — in one report.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"The whole story in one command (about 10 minutes on 2 cores the first time): profile "
                + "all-MiniLM-L6-v2 on brown-valid; pretrain a micro Llama on brown-train (cached in Sparsa's cache: "
                + "later runs skip it), sparsify it with ProSparse, profile both and time their decoding with the "
                + "dense and the exact-sparse FFN kernels.",
                "Writes out/demo/results.json and out/demo/report.html (one self-contained page) and prints a "
                        + "summary."})
public final class DemoCommand implements Callable<Integer> {

    @Option(names = "--tokens", paramLabel = "N", defaultValue = "4032",
            description = "MiniLM: validation tokens to profile (default ${DEFAULT-VALUE})")
    long tokens;

    @Option(names = "--llama-tokens", paramLabel = "N", defaultValue = "16384",
            description = "Llama: validation tokens for bits/byte, the threshold search and both profiles (default "
                    + "${DEFAULT-VALUE}, the tokens the dense model's pretraining validated on)")
    int llamaTokens;

    @Option(names = "--stage-steps", paramLabel = "S", defaultValue = "40",
            description = "ProSparse steps per λ stage, 3 stages (default ${DEFAULT-VALUE})")
    int stageSteps;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "out/demo", description = "output directory")
    Path out;

    @Option(names = "--threads", paramLabel = "N", description = "worker threads (default: all processors)")
    Integer threads;

    @Option(names = "--model", paramLabel = "M", defaultValue = ProfiledModels.MINILM, hidden = true)
    String model;

    /**
     * The parts of the demo and their expected seconds on a quiet 2-core machine (CPU seconds / 2 of a measured
     * run), for the overall ETA, which scales them by how much slower the parts done so far ran; the pretraining
     * counts only when it runs (later demos find the model in the cache).
     */
    static final List<String> STAGES = List.of("MiniLM profile", "dense Llama", "ProSparse", "profiles",
            "decode speed");
    static final double[] EXPECTED = {25, 90, 30, 8, 8};

    @Override
    public Integer call() {
        int n = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        if (n < 1) {
            throw new SparsaException.UsageException("--threads must be at least 1, got " + n);
        }
        if (llamaTokens < 256) {
            throw new SparsaException.UsageException("--llama-tokens must be at least 256, got " + llamaTokens);
        }
        long t0 = System.nanoTime();
        Duration cpu0 = cpu();
        PrintStream err = System.err;
        Clock clock = new Clock(err);
        ProfileResults minilm;
        ProSparseDemo.Results llama;
        DenseLlamaCache.Spec spec = DenseLlamaCache.Spec.microLlamaBrown();
        Fetch fetch = Fetch.defaultCache();
        if (DenseLlamaCache.isCached(fetch.root(), spec)) {
            clock.quick(1);
        }
        try (Parallel par = new Parallel(n)) {
            clock.stage(0);
            ProfileOptions mo = ProfileOptions.defaults().withTokens(tokens);
            minilm = ProfileCommand.measure(model, null, "brown-valid", tokens, par, mo, ProgressBar.stderr(), err);

            clock.stage(1);
            DemoProgress progress = new DemoProgress(err, clock);
            progress.train.label("pretrain " + spec.name());
            DenseLlamaCache.Entry dense = DenseLlamaCache.obtain(fetch.root(), spec,
                    () -> ProfileCommand.brown("brown-train"), () -> ProfileCommand.brown("brown-valid"), par,
                    progress);
            progress.train.bar().finish();
            if (dense.cached()) {
                err.println("sparsa: dense " + spec.name() + ": cached at " + dense.dir() + " (pretrained by an earlier "
                        + "run; delete that folder to pretrain again)");
            } else {
                err.println("sparsa: dense " + spec.name() + ": pretrained and cached at " + dense.dir()
                        + " (the next demo skips this step)");
            }

            clock.stage(2);
            progress.train.label("ProSparse");
            Corpus train = ProfileCommand.brown("brown-train");
            Corpus valid = ProfileCommand.brown("brown-valid");
            ProfileOptions lo = ProfileOptions.defaults().withTokens(llamaTokens);
            ProSparseDemo.Options o = ProSparseDemo.Options.defaults(llamaTokens, lo);
            o = new ProSparseDemo.Options(stageSteps, o.lambdas(), o.tolerance(), o.batch(), o.seq(), o.lr(),
                    o.warmup(), o.seed(), llamaTokens, lo, o.promptTokens(), o.decodeTokens(), o.benchWarmup(),
                    o.benchReps());
            llama = ProSparseDemo.run(dense, train, valid, out, o, par, progress);
            progress.train.bar().finish();
            clock.end();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        double cpuSeconds = cpu().minus(cpu0).toMillis() / 1e3;
        DemoResults r = new DemoResults(DemoResults.SCHEMA, minilm, llama, clock.seconds, seconds, cpuSeconds, n,
                notes());
        Path json = out.resolve("results.json");
        ResultsFiles.writeJson(r, json);
        Path html = ResultsFiles.renderReport(json, out.resolve("report.html"));
        DemoResults back = ResultsFiles.readDemo(json);
        System.out.print(SummaryTable.render(back.minilm()));
        System.out.println();
        System.out.print(llamaSummary(back));
        System.out.println("results: " + json.toAbsolutePath());
        System.out.println("report:  " + html.toAbsolutePath() + "   (open it in a browser; it is self-contained)");
        return 0;
    }

    static List<String> notes() {
        return List.of(
                "MiniLM: the profile of sparsa profile --model all-MiniLM-L6-v2 --corpus brown-valid (section 1, "
                        + "schema sparsa.profile/1 under 'minilm' in results.json). Other encoders known to work "
                        + "with sparsa profile / embed: minilm-q and e5-small-q (dynamic int8, from Maven), any "
                        + ".onnx BERT export by path, Hugging Face BERT directories.",
                "Llama: the dense micro-llama is pretrained by Sparsa itself (a byte-level BPE of 4096 tokens and "
                        + "the model, from random weights) on brown-train, once; it is cached in Sparsa's cache "
                        + "(~/.cache/sparsa/models) and later demos reuse it.",
                "ProSparse here is a short schedule for the demo's time budget; sparsa experiment sparsify compares "
                        + "every method at full length (EXPERIMENTS.md).",
                "Decode speeds are of this machine at the time of the run (a busy machine gives lower, noisier "
                        + "figures).");
    }

    /** The Llama part of the summary, from the results ({@link DemoReportHtml#llamaSummary}). */
    static String llamaSummary(DemoResults r) {
        return DemoReportHtml.llamaSummary(r);
    }

    private static Duration cpu() {
        return ProcessHandle.current().info().totalCpuDuration().orElse(Duration.ZERO);
    }

    /**
     * The demo's stages: a line with the elapsed time and an overall ETA (the expected times of the stages left,
     * scaled by how much slower than expected the stages done so far ran) when each begins, and each stage's wall
     * time.
     */
    static final class Clock {
        private final PrintStream err;
        private final long t0 = System.nanoTime();
        final Map<String, Double> seconds = new LinkedHashMap<>();
        private long stageStart;
        private int stage = -1;
        private double expectedDone;
        private final double[] expected = EXPECTED.clone();

        Clock(PrintStream err) {
            this.err = err;
        }

        /** Stage {@code i} will take next to no time (the dense model is in the cache). */
        void quick(int i) {
            expected[i] = 1;
        }

        double elapsed() {
            return (System.nanoTime() - t0) / 1e9;
        }

        /** Ends the current stage (if any) and begins stage {@code i}; nothing when {@code i} is current. */
        void stage(int i) {
            if (i == stage) {
                return;
            }
            end();
            stage = i;
            stageStart = System.nanoTime();
            double rest = 0;
            for (int k = i; k < EXPECTED.length; k++) {
                rest += expected[k];
            }
            double speed = expectedDone > 0 ? elapsed() / expectedDone : 1;   // > 1: slower than a quiet machine
            err.printf(Locale.ROOT, "sparsa: demo %d/%d: %s; elapsed %s, ETA %s%n", i + 1, EXPECTED.length,
                    STAGES.get(i), ProgressBar.clock(elapsed()), ProgressBar.clock(rest * speed));
        }

        /** Ends the current stage. */
        void end() {
            if (stage >= 0) {
                seconds.put(STAGES.get(stage), (System.nanoTime() - stageStart) / 1e9);
                expectedDone += expected[stage];
                stage = -1;
            }
        }
    }

    /** The Llama story's listener: training bars, profile bars, and the demo's stage lines. */
    static final class DemoProgress implements ProSparseDemo.Listener {
        final TrainProgress train;
        final Clock clock;

        DemoProgress(PrintStream err, Clock clock) {
            this.train = new TrainProgress(err);
            this.clock = clock;
        }

        @Override
        public ProgressListener profileProgress() {
            return train.bar();
        }

        @Override
        public void stage(String name) {
            train.bar().finish();
            // the story's steps map onto the demo's stages
            clock.stage(switch (name) {
                case "profile dense", "profile ProSparse" -> 3;
                case "decode speed" -> 4;
                default -> 2;
            });
            train.say(name);
        }

        @Override
        public void onStart(int firstStep, int steps, long params, String what) {
            train.onStart(firstStep, steps, params, what);
        }

        @Override
        public void onStep(Trainer.StepLog s) {
            train.onStep(s);
        }

        @Override
        public void onValidation(int step, EvalResult r) {
            train.onValidation(step, r);
        }

        @Override
        public void say(String message) {
            train.say(message);
        }
    }
}
