package dev.sparsa.train;

import dev.sparsa.SparsaException;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.StepProfile.Op;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.function.Consumer;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Training throughput of the trainer core ({@code sparsa bench-train}): fresh {@link LlamaParams}, one
 * {@link Backprop} micro-batch of {@code batch} random sequences of {@code seq + 1} tokens and one {@link AdamW}
 * step (lr 10⁻³, β (0.9, 0.95), weight decay 0.1, global-norm clip 1.0) per step; warm-up steps, then timed steps.
 *
 * <p>FLOPs per step are counted analytically (multiply-add = 2 FLOPs; norms, softmax, elementwise ops and the
 * optimizer are not counted, as is usual):
 * <pre>
 *   FLOPs/step = 6 · N_mm · B·T  +  6 · L · B · H·d_h · T(T+1)
 *   N_mm = L · (D·H·d_h + 2·D·H_kv·d_h + H·d_h·D + 3·D·F) + V·D      parameters in matrix products (not the
 *                                                                     embedding lookup; the LM head even when tied)
 * </pre>
 * The first term is the forward (2 FLOPs per weight per token) plus the backward's dX and dW GEMMs (2 + 2). The
 * second is causal attention: T(T+1)/2 query-key pairs per head and sequence, each costing 2·d_h in q·k and 2·d_h
 * in P·v forward, and 4 · 2·d_h in the backward (dP, dV, dQ, dK) — 12·d_h per pair in all.
 */
public final class TrainBench {
    private TrainBench() {
    }

    /** Learning rate, betas, weight decay and clip of the benchmark (the peer uses the same). */
    public static final float LR = 1e-3f;
    public static final float WEIGHT_DECAY = 0.1f;
    public static final float CLIP = 1.0f;
    public static final double INIT_STD = 0.02;

    /**
     * What one benchmark measured. Times in seconds; {@code stepSeconds} are the timed steps in order;
     * {@code allocatedBytesPerStep} the Java heap allocated by all threads per timed step (mean; NaN where the JVM
     * does not count it): a trainer that allocates its buffers once allocates ~nothing per step.
     */
    public record Result(long params, long matmulParams, int batch, int seq, int threads, int warmup, int steps,
                         double flopsPerStep, double[] stepSeconds, double firstLoss, double lastLoss,
                         double allocatedBytesPerStep, StepProfile profile) {
        public int tokensPerStep() {
            return batch * seq;
        }

        public double totalSeconds() {
            double s = 0;
            for (double x : stepSeconds) {
                s += x;
            }
            return s;
        }

        /** Tokens trained per second over the timed steps. */
        public double tokensPerSecond() {
            return (double) tokensPerStep() * steps / totalSeconds();
        }

        /** Mean seconds per timed step. */
        public double secondsPerStep() {
            return totalSeconds() / steps;
        }

        public double medianStepSeconds() {
            double[] s = stepSeconds.clone();
            Arrays.sort(s);
            int n = s.length;
            return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        }

        public double minStepSeconds() {
            return Arrays.stream(stepSeconds).min().orElse(Double.NaN);
        }

        public double gflops() {
            return flopsPerStep / secondsPerStep() / 1e9;
        }
    }

    /** Parameters taking part in matrix products (see the class comment). */
    public static long matmulParams(ModelConfig c) {
        long d = c.hiddenSize();
        long q = (long) c.numHeads() * c.headDim();
        long kv = (long) c.numKvHeads() * c.headDim();
        long perLayer = d * q + 2 * d * kv + q * d + 3 * d * c.intermediateSize();
        return c.numLayers() * perLayer + (long) c.vocabSize() * d;
    }

    /** Causal attention FLOPs of one step, forward and backward: 6 · L · B · H·d_h · T(T+1). */
    public static double attentionFlops(ModelConfig c, int batch, int seq) {
        return 6.0 * c.numLayers() * batch * c.numHeads() * c.headDim() * seq * (seq + 1.0);
    }

    /** FLOPs of one training step (see the class comment). */
    public static double flopsPerStep(ModelConfig c, int batch, int seq) {
        return 6.0 * matmulParams(c) * batch * seq + attentionFlops(c, batch, seq);
    }

    /**
     * FLOPs of one section of the step as the profile times it, per layer for layer ops (the rest: 0, as in
     * {@link #flopsPerStep}); summed over the ops (layer ops times L) they give {@link #flopsPerStep}.
     */
    public static double flops(Op op, ModelConfig c, int batch, int seq) {
        double tok = (double) batch * seq;
        double d = c.hiddenSize();
        double f = c.intermediateSize();
        double q = (double) c.numHeads() * c.headDim();
        double kv = (double) c.numKvHeads() * c.headDim();
        double v = c.vocabSize();
        double attn = attentionFlops(c, batch, seq) / c.numLayers();     // per layer: 1/3 forward, 2/3 backward
        return switch (op) {
            case FWD_LAYER -> 2 * tok * (d * q + 2 * d * kv + q * d + 3 * d * f) + attn / 3;
            case HEAD, BWD_HEAD_DX, BWD_HEAD_DW -> 2 * tok * v * d;
            case BWD_DOWN_DX, BWD_DOWN_DW -> 2 * tok * d * f;
            case BWD_GATE_UP_DX, BWD_GATE_UP_DW -> 4 * tok * d * f;
            case BWD_O_DX, BWD_O_DW -> 2 * tok * q * d;
            case BWD_QKV_DX, BWD_QKV_DW -> 2 * tok * d * (q + 2 * kv);
            case BWD_ATTENTION -> attn * 2 / 3;
            default -> 0;
        };
    }

    /** FLOPs of {@code op} in one whole step: {@link #flops} times L for the per-layer ops. */
    public static double stepFlops(Op op, ModelConfig c, int batch, int seq) {
        return flops(op, c, batch, seq) * (perLayer(op) ? c.numLayers() : 1);
    }

    /** True for the ops that run once per layer. */
    public static boolean perLayer(Op op) {
        return op == Op.FWD_LAYER || (op.name().startsWith("BWD_") && op != Op.BWD_HEAD_DX && op != Op.BWD_HEAD_DW
                && op != Op.BWD_FINAL_NORM && op != Op.BWD_EMBED);
    }

    /**
     * Checks the sizes before any work: one-line usage errors naming the option.
     */
    public static void validate(ModelConfig cfg, String name, int batch, int seq, int warmup, int steps) {
        if (batch < 1 || seq < 1 || steps < 1 || warmup < 0) {
            throw new SparsaException.UsageException("--batch, --seq and --steps must be >= 1 and --warmup >= 0, got "
                    + batch + ", " + seq + ", " + steps + ", " + warmup);
        }
        if (!cfg.isDecoder()) {
            throw new SparsaException.UsageException("--config " + name + ": model_type " + cfg.architecture()
                    + " is not a decoder (training needs llama, mistral or qwen2)");
        }
        if (cfg.maxPositions() > 0 && seq > cfg.maxPositions()) {
            throw new SparsaException.UsageException("--seq " + seq + " exceeds the context of " + name + " ("
                    + cfg.maxPositions() + " positions)");
        }
        long rows = (long) batch * seq;
        long logits = rows * cfg.vocabSize();
        long probs = (long) batch * cfg.numHeads() * seq * seq;
        long ffn = rows * cfg.intermediateSize();
        if (Math.max(Math.max(logits, probs), ffn) > Integer.MAX_VALUE - 16) {
            throw new SparsaException.UsageException("--batch " + batch + " x --seq " + seq + " is too large for "
                    + name + ": the logits (" + logits + " floats) or attention probabilities (" + probs
                    + ") exceed one Java array; use a smaller batch");
        }
    }

    /**
     * Runs the benchmark: {@code warmup} untimed steps, then {@code steps} timed ones, on fresh parameters
     * (N(0, 0.02²), seed {@code seed}) and random tokens (seeded). With {@code profile} the timed steps' sections
     * are timed into it. Progress goes to {@code log}.
     */
    public static Result run(ModelConfig cfg, int batch, int seq, int warmup, int steps, long seed, Parallel par,
                             StepProfile profile, Consumer<String> log) {
        try (Arena arena = Arena.ofShared()) {
            long t0 = System.nanoTime();
            LlamaParams p = LlamaParams.init(cfg, INIT_STD, seed, arena);
            Backprop bp = new Backprop(p, batch, seq);
            AdamW opt = new AdamW(p, AdamW.Config.of(WEIGHT_DECAY));
            int stride = seq + 1;
            int perStep = batch * stride;
            int[] tokens = new int[Math.multiplyExact(perStep, warmup + steps)];
            SplittableRandom rnd = new SplittableRandom(seed ^ 0x5eed5eedL);
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = rnd.nextInt(cfg.vocabSize());
            }
            log.accept(String.format("sparsa: %d parameters, %d x %d tokens per step, %d threads (set up in %.1f s)",
                    p.count(), batch, seq, par.threads(), (System.nanoTime() - t0) / 1e9));
            double[] times = new double[steps];
            long allocated = 0;
            double first = Double.NaN;
            double last = Double.NaN;
            for (int s = 0; s < warmup + steps; s++) {
                boolean timed = s >= warmup;
                if (profile != null) {
                    if (s == warmup) {
                        profile.reset();
                    }
                    profile.start();
                    bp.profile(profile);
                }
                long heap = allocatedBytes();
                long a = System.nanoTime();
                p.zeroGrads();
                lap(profile, Op.ZERO_GRADS);
                Backprop.Loss loss = bp.step(tokens, s * perStep, 0f, null, 0f, 1f, par);
                double norm = opt.step(LR, CLIP, par);
                lap(profile, Op.OPTIMIZER);
                double sec = (System.nanoTime() - a) / 1e9;
                if (timed) {
                    times[s - warmup] = sec;
                    allocated += allocatedBytes() - heap;
                }
                if (s == 0) {
                    first = loss.ce();
                }
                last = loss.ce();
                log.accept(String.format("  step %d/%d%s: loss %.4f, grad norm %.3f, %.3f s (%.0f tok/s)", s + 1,
                        warmup + steps, timed ? "" : " (warm-up)", loss.ce(), norm, sec, batch * seq / sec));
            }
            bp.profile(null);
            return new Result(p.count(), matmulParams(cfg), batch, seq, par.threads(), warmup, steps,
                    flopsPerStep(cfg, batch, seq), times, first, last,
                    ALLOCATION == null ? Double.NaN : (double) allocated / steps, profile);
        }
    }

    private static final com.sun.management.ThreadMXBean ALLOCATION = allocationCounter();

    private static com.sun.management.ThreadMXBean allocationCounter() {
        java.lang.management.ThreadMXBean t = java.lang.management.ManagementFactory.getThreadMXBean();
        return t instanceof com.sun.management.ThreadMXBean h && h.isThreadAllocatedMemorySupported()
                && h.isThreadAllocatedMemoryEnabled() ? h : null;
    }

    // heap bytes allocated by all threads so far (HotSpot's per-thread TLAB counters summed), 0 when not counted
    private static long allocatedBytes() {
        return ALLOCATION == null ? 0 : ALLOCATION.getTotalThreadAllocatedBytes();
    }

    /** Heap bytes allocated so far by all threads, for {@link StepProfile}; null where the JVM does not count them. */
    public static java.util.function.LongSupplier heapCounter() {
        return ALLOCATION == null ? null : ALLOCATION::getTotalThreadAllocatedBytes;
    }

    private static void lap(StepProfile profile, Op op) {
        if (profile != null) {
            profile.lap(op, -1);
        }
    }

    // ---- machine figures -----------------------------------------------------------------------------------------

    private static final VectorSpecies<Float> PS = FloatVector.SPECIES_PREFERRED;
    /** Independent FMA chains per thread: more than latency (4) × FMA ports (2) so that the ports never wait. */
    private static final int CHAINS = 12;
    private static final int BLOCK = 20_000;

    /**
     * The FP32 peak of {@code threads} cores in GFLOP/s, measured: each thread runs {@value #CHAINS} independent
     * chains of {@code a = a·b + c} on {@code FloatVector.SPECIES_PREFERRED} vectors (2 FLOPs per lane per FMA) for
     * {@code millis} ms, repeated until {@code reps} runs in a row improve the best by less than 5% (at most
     * {@value #MAX_PEAK_RUNS} runs: on a loaded machine the C2 compile of the loop can come late); the best.
     * On a shared machine this reads the cores as they are at that moment.
     */
    public static double fp32PeakGflops(int threads, int millis, int reps) {
        float sink = 0;
        for (int i = 0; i < 500; i++) {                          // get fmaBlock compiled (C2) before timing
            sink += fmaBlock(1f + i * 1e-3f, 200);
        }
        double best = 0;
        for (int r = 0, stale = 0; r < MAX_PEAK_RUNS && stale < reps; r++) {
            double g = fmaRun(threads, millis * 1_000_000L);
            stale = g > best * 1.05 ? 0 : stale + 1;
            best = Math.max(best, g);
        }
        return sink == 42f ? best + 1e-9 : best;                 // keep sink alive
    }

    private static final int MAX_PEAK_RUNS = 30;

    private static double fmaRun(int threads, long nanos) {
        CyclicBarrier start = new CyclicBarrier(threads);
        long[] blocks = new long[threads];
        long[] begin = new long[threads];
        long[] end = new long[threads];
        float[] sink = new float[threads];
        List<Thread> ts = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            int id = i;
            ts.add(Thread.ofPlatform().daemon().name("sparsa-fma-" + i).start(() -> {
                try {
                    start.await();
                } catch (InterruptedException | BrokenBarrierException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                long a = System.nanoTime();
                long n = 0;
                float s = 0;
                while (System.nanoTime() - a < nanos) {
                    s += fmaBlock(1f + n * 1e-7f, BLOCK);
                    n++;
                }
                begin[id] = a;
                end[id] = System.nanoTime();
                blocks[id] = n;
                sink[id] = s;
            }));
        }
        for (Thread t : ts) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while measuring the FP32 peak", e);
            }
        }
        long first = Long.MAX_VALUE;
        long lastEnd = 0;
        double flops = 0;
        for (int i = 0; i < threads; i++) {
            first = Math.min(first, begin[i]);
            lastEnd = Math.max(lastEnd, end[i]);
            flops += (double) blocks[i] * BLOCK * CHAINS * PS.length() * 2;
        }
        return flops / ((lastEnd - first) / 1e9) / 1e9;
    }

    // a·b + c per lane on CHAINS independent registers; returns a sum so that nothing is dead code
    static float fmaBlock(float seed, int iters) {
        FloatVector b = FloatVector.broadcast(PS, 0.9999999f);
        FloatVector c = FloatVector.broadcast(PS, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(PS, seed);
        FloatVector a1 = a0.add(1f);
        FloatVector a2 = a0.add(2f);
        FloatVector a3 = a0.add(3f);
        FloatVector a4 = a0.add(4f);
        FloatVector a5 = a0.add(5f);
        FloatVector a6 = a0.add(6f);
        FloatVector a7 = a0.add(7f);
        FloatVector a8 = a0.add(8f);
        FloatVector a9 = a0.add(9f);
        FloatVector a10 = a0.add(10f);
        FloatVector a11 = a0.add(11f);
        for (int i = 0; i < iters; i++) {
            a0 = a0.fma(b, c);
            a1 = a1.fma(b, c);
            a2 = a2.fma(b, c);
            a3 = a3.fma(b, c);
            a4 = a4.fma(b, c);
            a5 = a5.fma(b, c);
            a6 = a6.fma(b, c);
            a7 = a7.fma(b, c);
            a8 = a8.fma(b, c);
            a9 = a9.fma(b, c);
            a10 = a10.fma(b, c);
            a11 = a11.fma(b, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }

    /**
     * The nominal FP32 peak of one core in GFLOP/s: the clock /proc/cpuinfo reports ({@code cpu MHz}, the base
     * clock on most VMs) × 2 FMA ports × {@link #peakLanes()} lanes × 2 FLOPs; NaN where the clock is not known.
     * Two ports is the AVX-512 server core (Skylake-SP Gold/Platinum and later, Zen 4 double-pumped); a core with one
     * port gets a fraction against this that is half what it should be, never an inflated one.
     */
    public static double nominalPeakGflopsPerCore() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("cpu MHz")) {
                    double mhz = Double.parseDouble(line.substring(line.indexOf(':') + 1).strip());
                    return mhz / 1e3 * 2 * PS.length() * 2;
                }
            }
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }

    /** Lanes of the vectors the peak probe uses. */
    public static int peakLanes() {
        return PS.length();
    }

    /**
     * This process's peak resident set size in bytes ({@code VmHWM} of /proc/self/status), or −1 where the file
     * is not there (not Linux).
     */
    public static long peakRssBytes() {
        Path status = Path.of("/proc/self/status");
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("VmHWM:")) {
                    String[] f = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(f[0]) * 1024;                      // "VmHWM:   123456 kB"
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
