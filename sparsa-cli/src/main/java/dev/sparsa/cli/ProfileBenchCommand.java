package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.profile.ProfileOptions;
import dev.sparsa.profile.ProfiledModel;
import dev.sparsa.profile.Profiler;
import dev.sparsa.profile.ProgressListener;
import dev.sparsa.profile.Windows;
import dev.sparsa.profile.adapter.LlamaProfiledModel;
import dev.sparsa.tensor.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code sparsa profile-bench}: profiling throughput with taps off (plain forward), with the capture tap the
 * profiler uses (forward + copying x and h of every layer), and for the whole measuring pass (forward + tap + every
 * per-layer metric). Tap-off and tap-on runs alternate, and the median of the repeats is reported.
 */
@Command(name = "profile-bench", mixinStandardHelpOptions = true,
        description = "Profiling throughput (tokens/s) with activation taps off vs on, and of the full measuring pass.")
public final class ProfileBenchCommand implements Callable<Integer> {

    @Option(names = "--model", defaultValue = "minilm",
            description = "minilm, llama-100m (random weights, ~110M-parameter Llama shape), a model directory, or toy-relu")
    String model;

    @Option(names = "--tokens", defaultValue = "1008", description = "tokens per timed run (default ${DEFAULT-VALUE})")
    long tokens;

    @Option(names = "--repeats", defaultValue = "3", description = "alternating off/on repeats (median reported)")
    int repeats;

    @Option(names = "--threads", description = "worker threads (default: all processors)")
    Integer threads;

    @Option(names = "--no-full", description = "skip the full measuring pass")
    boolean noFull;

    @Override
    public Integer call() {
        if (repeats < 1) {
            throw new SparsaException.UsageException("--repeats must be at least 1");
        }
        int t = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        try (Parallel par = new Parallel(t)) {
            ProfiledModel m;
            Windows w;
            if (model.equals("llama-100m")) {
                m = LlamaProfiledModel.random(LlamaProfiledModel.llama100m(), 42, 128, par);
                w = randomWindows(m.contextLength(), tokens, 32000);
            } else {
                m = ProfiledModels.open(model, par);
                Corpus c = ProfileCommand.brown("brown-valid");
                w = Windows.of(c, m.tokenizer(), m.contextLength(), tokens);
            }
            System.err.printf("sparsa: bench %s, %d tokens in %d windows, %d thread(s)%n", m.name(), w.tokens(),
                    w.windows().size(), t);
            // warm-up (JIT) on one window each way
            Profiler.throughput(m, w.windows().subList(0, 1), ActivationTap.NONE);
            Profiler.throughput(m, w.windows().subList(0, 1), Profiler.captureTap(m));
            double[] off = new double[repeats];
            double[] on = new double[repeats];
            for (int r = 0; r < repeats; r++) {
                off[r] = Profiler.throughput(m, w.windows(), ActivationTap.NONE);
                on[r] = Profiler.throughput(m, w.windows(), Profiler.captureTap(m));
                System.err.printf(Locale.ROOT, "sparsa: repeat %d: taps off %.1f tok/s, taps on %.1f tok/s%n", r + 1,
                        off[r], on[r]);
            }
            double full = Double.NaN;
            if (!noFull) {
                ProfileOptions o = ProfileOptions.defaults().withTokens(w.tokens());
                full = new Profiler(m, o, par, ProgressListener.NONE).measuringPassThroughput(w);
            }
            double mo = median(off);
            double mn = median(on);
            System.out.printf(Locale.ROOT, "| %s | %d | %d | %.1f | %.1f | %+.1f%% | %s |%n", m.name(), t, w.tokens(),
                    mo, mn, (mo / mn - 1) * 100, Double.isNaN(full) ? "-" : String.format(Locale.ROOT, "%.1f", full));
        }
        return 0;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
    }

    static Windows randomWindows(int context, long tokens, int vocab) {
        SplittableRandom r = new SplittableRandom(7);
        int n = (int) Math.max(1, tokens / context);
        List<int[]> ws = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] ids = new int[context];
            for (int j = 0; j < context; j++) {
                ids[j] = 3 + r.nextInt(vocab - 3);
            }
            ws.add(ids);
        }
        return new Windows(List.copyOf(ws), (long) n * context, 0, context);
    }
}
