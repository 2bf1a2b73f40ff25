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
 * One FFN layer at LLaMA2-7B shape (D 4096, F 11008, SiLU), decode (one token): the dense kernel against LTE's
 * expert-granular kernel ({@link LteFfn}, experts of 32 neurons, 344 per layer) with a random router whose τ is set so
 * that {@code share} of the experts of the benchmark's token is selected. Setup prints the bytes each reads per token
 * and the ideal (bytes) speedup; the lead's table divides dense time by LTE time of the same run.
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
    @Param({"dense", "lte"})
    public String kernel;
    @Param({"2"})
    public int threads;

    Arena arena;
    FfnKernel k;
    FfnActivations acts;
    float[] x;
    float[] y;
    Parallel par;

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        DType t = DType.valueOf(dtype);
        FfnWeights w = new FfnWeights(0, RandomWeights.matrix("gate", t, F, D, 11, arena),
                RandomWeights.matrix("up", t, F, D, 12, arena), RandomWeights.matrix("down", t, D, F, 13, arena));
        x = Inputs.gaussian(D, 5);
        int n = F / S;
        float[] router = Inputs.gaussian(n * D, 7);
        float[] z = new float[n];
        LteRouters.logits(router, n, D, x, 0, z, 0);
        float[] sorted = z.clone();
        Arrays.sort(sorted);
        int keep = (int) Math.round(share * n);
        // τ between the (n − keep)-th and the next logit: exactly `keep` experts have σ(z) > τ
        float zt = 0.5f * (sorted[n - keep - 1] + sorted[n - keep]);
        float tau = LteRouters.sigmoid(zt);
        Activation act = Activation.of("silu", 0f);
        k = kernel.equals("dense") ? new DenseFfn(w, act) : new LteFfn(w, act, router, S, tau,
                t.quantized() ? DType.Q8_0 : t);
        acts = k.newActivations(1);
        y = new float[D];
        par = new Parallel(threads);
        long dense = w.gate().data().byteSize() + w.up().data().byteSize() + w.down().data().byteSize();
        double perNeuron = w.gate().rowBytes() + w.up().rowBytes() + (t.quantized() ? DType.Q8_0 : t).bytesFor(D);
        double sparse = (double) keep * S * perNeuron + 4.0 * n * D;
        System.out.printf("%n# %s %s share %.2f: %d of %d experts, dense %.1f MB, lte %.1f MB per token (router %.1f MB),"
                + " ideal speedup %.3fx%n", kernel, t, share, keep, n, dense / 1e6, sparse / 1e6, 4.0 * n * D / 1e6,
                dense / sparse);
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
        k.forward(x, 1, 0, y, acts, ActivationTap.NONE, par);
        return y;
    }
}
