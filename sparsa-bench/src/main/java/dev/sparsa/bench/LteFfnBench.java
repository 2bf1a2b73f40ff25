package dev.sparsa.bench;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import dev.sparsa.infer.LteFfn;
import dev.sparsa.io.RandomWeights;
import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnActivations;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.model.LteRouters;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Parallel;

/**
 * One FFN layer at LLaMA2-7B shape (D 4096, F 11008, SiLU), {@code batch} tokens (1: decode; more: a prefill chunk
 * or batched decode): the dense kernel against LTE's expert-granular kernel ({@link LteFfn}, experts of 32 neurons,
 * 344 per layer) with a random router whose τ is set so that {@code share} of the experts of the batch's (token,
 * expert) pairs is selected; {@code pertoken} runs the LTE kernel one token at a time (the path before the batch
 * union). Setup prints the bytes each reads per call (for a batch: the union of the tokens' experts) and the ideal
 * (bytes) speedup; the lead's table divides dense time by LTE time of the same run.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class LteFfnBench {
    static final int D = 4096;
    static final int F = 11008;
    static final int S = 32;

    @Param({"BF16", "Q8_0"})
    public String dtype;
    /** Share of the experts computed. */
    @Param({"0.5", "0.3", "0.1"})
    public double share;
    /** dense, lte, or pertoken (the LTE kernel one token at a time: {@code -p kernel=dense,lte,pertoken}). */
    @Param({"dense", "lte"})
    public String kernel;
    /** Tokens per call ({@code -p batch=1,2,4,8,16} for the batch curve). */
    @Param({"1"})
    public int batch;
    @Param({"2"})
    public int threads;

    Arena arena;
    FfnKernel k;
    FfnActivations acts;
    float[] x;
    float[] y;
    float[] xr;
    float[] yr;
    Parallel par;

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        DType t = DType.valueOf(dtype);
        FfnWeights w = new FfnWeights(0, RandomWeights.matrix("gate", t, F, D, 11, arena),
                RandomWeights.matrix("up", t, F, D, 12, arena), RandomWeights.matrix("down", t, D, F, 13, arena));
        x = Inputs.gaussian(batch * D, 5);
        int n = F / S;
        float[] router = Inputs.gaussian(n * D, 7);
        for (int j = 0; j < router.length; j++) {
            router[j] /= (float) Math.sqrt(D);             // N(0, 1/D) as LTE draws it: σ(z) not saturated
        }
        float[] z = new float[batch * n];
        for (int b = 0; b < batch; b++) {
            LteRouters.logits(router, n, D, x, b * D, z, b * n);
        }
        float[] sorted = z.clone();
        Arrays.sort(sorted);
        int keep = (int) Math.round(share * z.length);
        // τ between the (pairs − keep)-th and the next logit: exactly `keep` (token, expert) pairs have σ(z) > τ
        float zt = 0.5f * (sorted[z.length - keep - 1] + sorted[z.length - keep]);
        float tau = LteRouters.sigmoid(zt);
        int union = 0;
        for (int e = 0; e < n; e++) {
            boolean any = false;
            for (int b = 0; b < batch; b++) {
                any |= LteRouters.selected(z[b * n + e], tau);
            }
            union += any ? 1 : 0;
        }
        int pairs = 0;
        for (float v : z) {
            pairs += LteRouters.selected(v, tau) ? 1 : 0;          // what the kernel will select
        }
        Activation act = Activation.of("silu", 0f);
        k = kernel.equals("dense") ? new DenseFfn(w, act) : new LteFfn(w, act, router, S, tau,
                t.quantized() ? DType.Q8_0 : t);
        acts = k.newActivations(kernel.equals("pertoken") ? 1 : batch);
        y = new float[batch * D];
        xr = new float[D];
        yr = new float[D];
        par = new Parallel(threads);
        long dense = w.gate().data().byteSize() + w.up().data().byteSize() + w.down().data().byteSize();
        double perNeuron = w.gate().rowBytes() + w.up().rowBytes() + (t.quantized() ? DType.Q8_0 : t).bytesFor(D);
        double sparse = (double) union * S * perNeuron + 4.0 * n * D;
        System.out.printf("%n# %s %s share %.2f batch %d: %d of %d experts per token, union %d, dense %.1f MB, lte %.1f"
                + " MB per call (router %.1f MB), ideal speedup %.3fx%n", kernel, t, share, batch, pairs / batch, n,
                union, dense / 1e6, sparse / 1e6, 4.0 * n * D / 1e6, dense / sparse);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        par.close();
        k = null;
        acts = null;
        arena.close();
    }

    @Benchmark
    public float[] layer() {
        if (kernel.equals("pertoken")) {
            for (int b = 0; b < batch; b++) {
                System.arraycopy(x, b * D, xr, 0, D);
                k.forward(xr, 1, b, yr, acts, ActivationTap.NONE, par);
                System.arraycopy(yr, 0, y, b * D, D);
            }
            return y;
        }
        k.forward(x, batch, 0, y, acts, ActivationTap.NONE, par);
        return y;
    }
}
