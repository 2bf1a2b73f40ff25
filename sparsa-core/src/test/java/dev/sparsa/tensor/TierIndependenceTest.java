package dev.sparsa.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * Kernels give the same bits in the interpreter (a child JVM run with -Xint) as JIT-compiled after warm-up here:
 * a model's output must not depend on when HotSpot compiled the kernel (nor, through that, on the thread count).
 */
class TierIndependenceTest {

    /** Fingerprint of every kernel on fixed inputs: one hex word per output float. */
    static String fingerprint() {
        Random rnd = new Random(42);
        int n = 4 * Simd.L + 5;
        StringBuilder sb = new StringBuilder();
        float[] a = new float[n];
        float[] b = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextGaussian() * 3;
            b[i] = (float) rnd.nextGaussian();
        }
        add(sb, VectorOps.dot(a, 0, b, 0, n));
        add(sb, VectorOps.sum(a, 0, n));
        float[] out = new float[n];
        VectorOps.rmsnorm(out, 0, a, 0, b, n, 1e-5f);
        add(sb, out);
        VectorOps.layernorm(out, 0, a, 0, b, a, n, 1e-5f);
        add(sb, out);
        float[] x = a.clone();
        VectorOps.softmax(x, 0, n);
        add(sb, x);
        x = a.clone();
        VectorOps.silu(x, 0, n);
        add(sb, x);
        x = a.clone();
        VectorOps.gelu(x, 0, n);
        add(sb, x);
        x = a.clone();
        VectorOps.geluTanh(x, 0, n);
        add(sb, x);
        int cols = 96;
        float[] w = new float[3 * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        float[] xv = new float[8 * cols];
        for (int i = 0; i < xv.length; i++) {
            xv[i] = (float) rnd.nextGaussian();
        }
        for (DType t : DType.values()) {
            MemorySegment seg = MemorySegment.ofArray(new byte[(int) t.bytesFor(w.length)]);
            for (int r = 0; r < 3; r++) {
                Quant.quantize(t, w, r * cols, cols, seg, r * t.bytesFor(cols));
            }
            Tensor tw = new Tensor("w", t, new int[] {3, cols}, seg);
            for (int r = 0; r < 3; r++) {
                add(sb, Kernels.dotRow(tw, r, xv, 0));
            }
            float[] y = new float[8 * 3];
            Kernels.matmul(tw, xv, 8, y, Parallel.serial());
            add(sb, y);
            if (t == DType.Q8_0) { // Gemm with a weight operand, B = W (dequantized rows cut into panels)
                float[] g = new float[8 * cols];
                new Gemm().multiply(8, cols, 3, Gemm.Mat.of(xv, 0, 3), Gemm.Weight.of(tw), Gemm.Mat.of(g, 0, cols),
                        false, Parallel.serial());
                add(sb, g);
            }
        }
        // Gemm, A·B^T and A^T·B of float operands (both vector packing transposes, the transposed-A pre-pack, edges)
        float[] big = new float[1024];
        for (int i = 0; i < big.length; i++) {
            big[i] = (float) rnd.nextGaussian();
        }
        for (boolean ta : new boolean[] {false, true}) {
            int m = 14;
            int nn = 19;
            int k = 33;
            float[] c = new float[m * nn];
            new Gemm().multiply(m, nn, k, new Gemm.Mat(big, 3, ta ? m : k, ta), new Gemm.Mat(big, 7, ta ? nn : k, !ta),
                    Gemm.Mat.of(c, 0, nn), false, Parallel.serial());
            add(sb, c);
        }
        return sb.toString();
    }

    static void add(StringBuilder sb, float... v) {
        for (float f : v) {
            sb.append(Integer.toHexString(Float.floatToRawIntBits(f))).append(' ');
        }
        sb.append('\n');
    }

    public static void main(String[] args) {
        System.out.print(fingerprint());
    }

    @Test
    void interpretedAndCompiledKernelsAgreeBitForBit() throws IOException, InterruptedException {
        for (int i = 0; i < 3000; i++) { // warm up so C2 compiles the kernels
            fingerprint();
        }
        String compiled = fingerprint();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xint", "--add-modules", "jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path"), TierIndependenceTest.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String interpreted = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        assertThat(interpreted).isNotBlank().isEqualTo(compiled);
    }
}
