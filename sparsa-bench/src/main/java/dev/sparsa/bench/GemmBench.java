package dev.sparsa.bench;

import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import dev.sparsa.io.RandomWeights;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Gemm;
import dev.sparsa.tensor.Gemm.Mat;
import dev.sparsa.tensor.Gemm.Weight;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.Tensor;

/**
 * {@link Gemm} at the training shapes of tiny-llama (T = 8 × 256 = 2048 tokens, hidden 256, FFN 768, vocab 4096,
 * 8 heads / 4 KV heads of 32): for each linear layer W = [out, in] (F32 weight tensor, off-heap) the forward
 * {@code Y = X·W^T}, the input gradient {@code dX = dY·W} and the weight gradient {@code dW += dY^T·X}; and the
 * per-head attention products at T = 256, hd = 32 with the heads' column slices of [T, heads·hd] activations.
 *
 * <p>Scores are GFLOP/s directly: one JMH operation is 1 kFLOP ({@code @OperationsPerInvocation} = 2·m·n·k / 1000)
 * and the unit is ops/µs. Shape names match {@code scripts/bench/gemm_openblas.py} (PyTorch/OpenBLAS).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class GemmBench {
    static final int T = 2048;

    /** The thread pool and the engine (its packing buffers are reused across calls, as in a trainer). */
    @State(Scope.Benchmark)
    public static class Pool {
        @Param({"1", "2"})
        public int threads;

        Parallel par;
        final Gemm gemm = new Gemm();

        @Setup(Level.Trial)
        public void setup() {
            par = new Parallel(threads);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            par.close();
        }
    }

    /** A linear layer W = [out, in] and its activations / gradients for T tokens. */
    abstract static class Linear {
        final int out;
        final int in;
        Arena arena;
        Tensor w;
        float[] x;
        float[] dy;
        float[] y;
        float[] dx;
        float[] dw;

        Linear(int out, int in) {
            this.out = out;
            this.in = in;
        }

        @Setup(Level.Trial)
        public void setup() {
            arena = Arena.ofShared();
            w = RandomWeights.matrix("w", DType.F32, out, in, 7, arena);
            x = Inputs.gaussian(T * in, 1);
            dy = Inputs.gaussian(T * out, 2);
            y = new float[T * out];
            dx = new float[T * in];
            dw = new float[out * in];
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            arena.close();
        }

        float[] forward(Pool p) { // Y[T, out] = X[T, in]·W^T
            p.gemm.multiply(T, out, in, Mat.of(x, 0, in), Weight.of(w).t(), Mat.of(y, 0, out), false, p.par);
            return y;
        }

        float[] inputGrad(Pool p) { // dX[T, in] = dY[T, out]·W
            p.gemm.multiply(T, in, out, Mat.of(dy, 0, out), Weight.of(w), Mat.of(dx, 0, in), false, p.par);
            return dx;
        }

        float[] weightGrad(Pool p) { // dW[out, in] += dY^T·X
            p.gemm.multiply(out, in, T, Mat.of(dy, 0, out).t(), Mat.of(x, 0, in), Mat.of(dw, 0, in), true, p.par);
            return dw;
        }
    }

    /** Fused Q, K, V projection: 256 → 256 + 128 + 128. */
    @State(Scope.Benchmark)
    public static class Qkv extends Linear {
        public Qkv() {
            super(512, 256);
        }
    }

    /** Fused gate and up projections: 256 → 2 × 768. */
    @State(Scope.Benchmark)
    public static class GateUp extends Linear {
        public GateUp() {
            super(1536, 256);
        }
    }

    /** Down projection: 768 → 256. */
    @State(Scope.Benchmark)
    public static class Down extends Linear {
        public Down() {
            super(256, 768);
        }
    }

    /** LM head: 256 → 4096. */
    @State(Scope.Benchmark)
    public static class Head extends Linear {
        public Head() {
            super(4096, 256);
        }
    }

    /**
     * One head (h = 1) of causal attention over 256 tokens: Q and dO are [256, 8·32], K and V [256, 4·32], P / dS
     * [256, 256]; each product reads its head's 32-column slice through the leading dimension.
     */
    @State(Scope.Benchmark)
    public static class Attention {
        static final int TT = 256;
        static final int HD = 32;
        float[] q = Inputs.gaussian(TT * 8 * HD, 3);
        float[] kv = Inputs.gaussian(TT * 4 * HD, 4);
        float[] p = Inputs.gaussian(TT * TT, 5);
        float[] s = new float[TT * TT];
        float[] o = new float[TT * 8 * HD];
        float[] dv = new float[TT * 4 * HD];
        Mat qh = Mat.of(q, HD, 8 * HD);
        Mat kh = Mat.of(kv, HD, 4 * HD);
    }

    static final int LINEAR_QKV = (int) (2L * T * 512 * 256 / 1000);
    static final int LINEAR_GATE_UP = (int) (2L * T * 1536 * 256 / 1000);
    static final int LINEAR_DOWN = (int) (2L * T * 256 * 768 / 1000);
    static final int LINEAR_HEAD = (int) (2L * T * 4096 * 256 / 1000);
    static final int ATTENTION = 2 * 256 * 256 * 32 / 1000;

    @Benchmark
    @OperationsPerInvocation(LINEAR_QKV)
    public float[] fwd_512(Pool p, Qkv s) {
        return s.forward(p);
    }

    @Benchmark
    @OperationsPerInvocation(LINEAR_QKV)
    public float[] dx_512(Pool p, Qkv s) {
        return s.inputGrad(p);
    }

    @Benchmark
    @OperationsPerInvocation(LINEAR_QKV)
    public float[] dw_512(Pool p, Qkv s) {
        return s.weightGrad(p);
    }

    @Benchmark
    @OperationsPerInvocation(LINEAR_GATE_UP)
    public float[] fwd_1536(Pool p, GateUp s) {
        return s.forward(p);
    }

    @Benchmark
    @OperationsPerInvocation(LINEAR_GATE_UP)
    public float[] dx_1536(Pool p, GateUp s) {
        return s.inputGrad(p);
    }

    @Benchmark
    @OperationsPerInvocation(LINEAR_GATE_UP)
    public float[] dw_1536(Pool p, GateUp s) {
        return s.weightGrad(p);
    }

    @Benchmark
    @OperationsPerInvocation(LINEAR_DOWN)
    public float[] fwd_256(Pool p, Down s) {
        return s.forward(p);
    }

    @Benchmark
    @OperationsPerInvocation(LINEAR_DOWN)
    public float[] dx_256(Pool p, Down s) {
        return s.inputGrad(p);
    }

    @Benchmark
    @OperationsPerInvocation(LINEAR_DOWN)
    public float[] dw_256(Pool p, Down s) {
        return s.weightGrad(p);
    }

    @Benchmark
    @OperationsPerInvocation(LINEAR_HEAD)
    public float[] fwd_4096(Pool p, Head s) {
        return s.forward(p);
    }

    @Benchmark
    @OperationsPerInvocation(LINEAR_HEAD)
    public float[] dx_4096(Pool p, Head s) {
        return s.inputGrad(p);
    }

    @Benchmark
    @OperationsPerInvocation(LINEAR_HEAD)
    public float[] dw_4096(Pool p, Head s) {
        return s.weightGrad(p);
    }

    /** S[256, 256] = Q_h·K_h^T (k = 32); the same shape as dP = dO_h·V_h^T. */
    @Benchmark
    @OperationsPerInvocation(ATTENTION)
    public float[] att_qk(Pool p, Attention a) {
        p.gemm.multiply(256, 256, 32, a.qh, a.kh.t(), Mat.of(a.s, 0, 256), false, p.par);
        return a.s;
    }

    /** O_h[256, 32] = P·V_h (k = 256); the same shape as dQ_h = dS·K_h. */
    @Benchmark
    @OperationsPerInvocation(ATTENTION)
    public float[] att_pv(Pool p, Attention a) {
        p.gemm.multiply(256, 32, 256, Mat.of(a.p, 0, 256), a.kh, Mat.of(a.o, 32, 256), false, p.par);
        return a.o;
    }

    /** dV_h[256, 32] += P^T·dO_h (A transposed, k = 256); the same shape as dK_h += dS^T·Q_h. */
    @Benchmark
    @OperationsPerInvocation(ATTENTION)
    public float[] att_ptv(Pool p, Attention a) {
        p.gemm.multiply(256, 32, 256, Mat.of(a.p, 0, 256).t(), a.qh, Mat.of(a.dv, 32, 128), true, p.par);
        return a.dv;
    }
}
