package dev.sparsa.bench;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code sparsa bench-ffn}: a tiny layer runs and prints its table row; bad options are one line, exit code 2. */
class FfnLayerCompareTest {

    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = FfnLayerCompare.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void aTinyLayerPrintsOneRowPerDtypeAndSparsity() {
        Run r = run("--d", "64", "--f", "128", "--dtypes", "Q8_0", "--sparsity", "0.5,0.9", "--reps", "1",
                "--threads", "1");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("FFN layer D 64 x F 128, exact kernels", "| Q8_0 | 0.50 | 1 |",
                "| Q8_0 | 0.90 | 1 |");
        // the neurons permuted so that the active set is contiguous: the same active count
        Run o = run("--d", "64", "--f", "128", "--dtypes", "Q8_0", "--sparsity", "0.5", "--reps", "1", "--threads",
                "1", "--order", "active-first");
        assertThat(o.code()).as(o.err()).isZero();
        assertThat(o.out()).contains("| Q8_0 | 0.50 | 1 | 64 (64) |");
        // copies of the layer cycled: the same rows (the copies are byte copies, the same active sets)
        Run c = run("--d", "64", "--f", "128", "--dtypes", "Q8_0,BF16", "--sparsity", "0.5", "--batch", "1,3", "--reps",
                "1", "--threads", "2", "--copies", "3");
        assertThat(c.code()).as(c.err()).isZero();
        assertThat(c.out()).contains("3 copies of the layer cycled", "| Q8_0 | 0.50 | 1 | 64 (64) |",
                "| BF16 | 0.50 | 3 |");
    }

    @Test
    void permutingNeuronsKeepsTheLayersFunction() {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            int d = 64;
            int f = 96;
            var w = new dev.sparsa.model.FfnWeights(0,
                    dev.sparsa.io.RandomWeights.matrix("gate", dev.sparsa.tensor.DType.F32, f, d, 1, arena),
                    dev.sparsa.io.RandomWeights.matrix("up", dev.sparsa.tensor.DType.F32, f, d, 2, arena),
                    dev.sparsa.io.RandomWeights.matrix("down", dev.sparsa.tensor.DType.F32, d, f, 3, arena));
            int[] perm = new int[f];
            for (int i = 0; i < f; i++) {
                perm[i] = (i * 37 + 5) % f;                     // a permutation (37 and 96 are coprime)
            }
            var p = FfnLayerCompare.permuted(w, perm, arena);
            float[] x = Inputs.gaussian(d, 9);
            var act = dev.sparsa.model.Activation.of("silu", 0f);
            float[] y0 = new float[d];
            float[] y1 = new float[d];
            var k0 = new dev.sparsa.model.DenseFfn(w, act);
            var k1 = new dev.sparsa.model.DenseFfn(p, act);
            try (var par = new dev.sparsa.tensor.Parallel(1)) {
                k0.forward(x, 1, 0, y0, k0.newActivations(1), dev.sparsa.model.ActivationTap.NONE, par);
                k1.forward(x, 1, 0, y1, k1.newActivations(1), dev.sparsa.model.ActivationTap.NONE, par);
            }
            for (int c = 0; c < d; c++) {
                assertThat(y1[c]).isCloseTo(y0[c], org.assertj.core.api.Assertions.within(1e-5f));
            }
        }
    }

    @Test
    void badOptionsAreOneLine() {
        String[][] cases = {{"--reps", "0"}, {"--sparsity", "1.5"}, {"--batch", "0"}, {"--kernel", "foo"},
                {"--reps", "x"}, {"--kernel", "lte", "--expert-size", "7", "--f", "128"}, {"--order", "sorted"},
                {"--order", "active-first", "--kernel", "lte"}, {"--copies", "0"}, {"--copies", "2", "--kernel", "lte"}};
        String[] expect = {"--threads, --reps, --d and --f must be >= 1", "--sparsity: a sparsity must be in [0, 1), "
                + "got 1.5", "--batch: a batch must be >= 1, got 0", "--kernel must be exact, predicted or lte, got "
                + "foo", "Invalid value for option '--reps'", "--expert-size 7 must divide --f 128", "--order must be random or "
                + "active-first, got sorted", "--order active-first is for --kernel exact", "--copies must be >= 1, got 0",
            "--copies is for --kernel exact"};
        for (int i = 0; i < cases.length; i++) {
            Run r = run(cases[i]);
            assertThat(r.code()).as(String.join(" ", cases[i])).isEqualTo(2);
            assertThat(r.err().strip()).startsWith("sparsa: ").contains(expect[i]).doesNotContain("\n");
            assertThat(r.out()).isEmpty();
        }
        Run help = run("--help");
        assertThat(help.out()).contains("Usage: bench-ffn", "--sparsity=S[,S...]", "30%");
        assertThat(help.err()).doesNotContain("WARN");
    }
}
