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

import dev.sparsa.infer.ExactSparseFfn;
import dev.sparsa.infer.FfnLayout;
import dev.sparsa.io.RandomWeights;
import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnActivations;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Parallel;

/**
 * One whole FFN layer at LLaMA2-7B shape (D 4096, F 11008), random weights, FATReLU with its threshold T set to the
 * {@code sparsity} quantile of the first token's gate pre-activations (so that share of neurons is off): the dense
 * kernel ({@link DenseFfn}) against exact-sparse in the split layout (§1: W_up as stored + W_down^T) and in the
 * bundled layout (neuron bundles, down fused into the neuron pass), over {@code batch} tokens (independent random
 * inputs: the least overlap between the tokens' active sets). Setup prints the bytes each kernel reads per token and
 * the ideal (bytes) speedup; the lead's table divides dense time by sparse time of the same run.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class FfnLayerBench {
    static final int D = 4096;
    static final int F = 11008;

    @Param({"BF16", "Q8_0", "Q4_0"})
    public String dtype;
    @Param({"0.5", "0.7", "0.8", "0.9", "0.95"})
    public double sparsity;
    /** dense, split (exact-sparse, §1 layout), bundled (exact-sparse, neuron bundles), pertoken (bundled, batch rows one by one). */
    @Param({"dense", "split", "bundled"})
    public String kernel;
    @Param({"1"})
    public int batch;
    @Param({"2"})
    public int threads;

    Arena arena;
    FfnKernel k;
    FfnActivations acts;
    float[] x;
    float[] y;
    float[] xRow;
    float[] yRow;
    Parallel par;

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        DType t = DType.valueOf(dtype);
        FfnWeights w = new FfnWeights(0, RandomWeights.matrix("gate", t, F, D, 11, arena),
                RandomWeights.matrix("up", t, F, D, 12, arena), RandomWeights.matrix("down", t, D, F, 13, arena));
        x = Inputs.gaussian(batch * D, 5);
        float[] g = new float[F];
        try (Parallel p = new Parallel(threads)) {
            Kernels.matvec(w.gate(), x, g, p);
        }
        float[] sorted = g.clone();
        Arrays.sort(sorted);
        float thr = sorted[(int) Math.min(F - 1, Math.round(sparsity * F))];   // FATReLU_T keeps g ≥ T
        Activation act = Activation.of("fatrelu", thr);
        k = switch (kernel) {
            case "dense" -> new DenseFfn(w, act);
            case "split" -> new ExactSparseFfn(w, act, defaultDown(t), FfnLayout.SPLIT);
            case "bundled", "pertoken" -> new ExactSparseFfn(w, act);
            default -> throw new IllegalArgumentException("kernel " + kernel);
        };
        acts = k.newActivations(batch);
        y = new float[batch * D];
        xRow = new float[D];
        yRow = new float[D];
        par = new Parallel(threads);
        int active = 0;
        for (float v : g) {
            active += v >= thr ? 1 : 0;
        }
        long dense = w.gate().data().byteSize() + w.up().data().byteSize() + w.down().data().byteSize();
        long perNeuron = w.up().rowBytes() + defaultDown(t).bytesFor(D);
        double sparse = w.gate().data().byteSize() + (double) active * perNeuron;
        System.out.printf("%n# %s %s sparsity %.2f: %d of %d active (token 0), dense %.1f MB, sparse %.1f MB per token,"
                + " ideal speedup %.3fx%n", kernel, t, sparsity, active, F, dense / 1e6, sparse / 1e6, dense / sparse);
    }

    static DType defaultDown(DType t) {
        return t.quantized() ? DType.Q8_0 : t;
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
                System.arraycopy(x, b * D, xRow, 0, D);
                k.forward(xRow, 1, b, yRow, acts, ActivationTap.NONE, par);
                System.arraycopy(yRow, 0, y, b * D, D);
            }
            return y;
        }
        k.forward(x, batch, 0, y, acts, ActivationTap.NONE, par);
        return y;
    }
}
