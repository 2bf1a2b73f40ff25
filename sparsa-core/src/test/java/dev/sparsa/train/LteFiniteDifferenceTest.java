package dev.sparsa.train;

import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.FiniteDiff;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.method.Lte;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static dev.sparsa.train.BackpropFiniteDifferenceTest.SEQS;
import static dev.sparsa.train.BackpropFiniteDifferenceTest.T;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

/**
 * LTE's gate in {@link Backprop} ({@link Lte} as {@link Backprop.FfnGate}) against central finite differences of
 * {@link DoubleLlama}'s loss with the same routers written from the equations (the harness of
 * {@link BackpropFiniteDifferenceTest}, same tiny models: F = 24, experts of 4, so N = 6 per layer). Stage 1 (soft
 * scores, efficiency loss η·G², separability λ_s/(G − τ)²): the routers' gradients and every model tensor's;
 * stage 2 (hard selection): every model tensor's, and the routers get none. The tests assert that no score lies
 * within 0.01 of τ (the separability term and the hard mask are smooth there; a perturbation moves G by ~1e-6).
 * A wrong σ' factor, a dropped η or the separability sign shows as 1e-2 or more (tried by hand).
 */
class LteFiniteDifferenceTest {
    static final double REL = 1e-4;
    static final double ABS = 1e-8;

    static Stream<Arguments> variants() {
        return Stream.of(
                // name, activation, stage, η, λ_s, seed
                Arguments.of("SiLU stage 1 η + separability", "silu", 1, 0.5f, 0.002f, 11L),
                Arguments.of("ReLU stage 1 η", "relu", 1, 2f, 0f, 12L),
                Arguments.of("SiLU stage 2 hard", "silu", 2, 0.5f, 0f, 13L));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void gradientsAreTheGradientOfTheDoubleLoss(String name, String act, int stage, float eta, float sep, long seed) {
        ModelConfig cfg = BackpropFiniteDifferenceTest.config("llama", act, 0f, false);
        try (Arena arena = Arena.ofShared(); Parallel par = new Parallel(2)) {
            float tau = tauAwayFromScores(cfg, seed, arena);
            LlamaParams p = BackpropFiniteDifferenceTest.randomModel(cfg, seed, arena);
            Lte lte = new Lte(4, 1, 1, eta, sep, tau, 1e-3f, seed);
            Backprop.FfnGate gate = lte.ffnGate(p);
            lte.stage(stage);
            int[] tokens = BackpropFiniteDifferenceTest.tokens(cfg, seed);
            p.zeroGrads();
            Backprop bp = new Backprop(p, SEQS, T);
            bp.ffnGate(gate);
            Backprop.Loss got = bp.step(tokens, 0, 0f, null, 0f, 1f, par);

            DoubleLlama ref = new DoubleLlama(p);
            for (int l = 0; l < cfg.numLayers(); l++) {
                ref.w.put("lte.router." + l, FiniteDiff.toDouble(lte.router(l)));
            }
            ref.lteSize = 4;
            ref.lteHard = stage == 2;
            ref.lteEta = eta;
            ref.lteSep = sep;
            ref.lteTau = tau;
            double want = ref.loss(tokens, SEQS, T, null, 0, 0);
            assertThat(got.ce()).as("CE").isCloseTo(ref.ce, offset(1e-5));
            assertThat(gate.loss()).as("LTE loss term").isCloseTo(ref.lteTerm, offset(1e-5));
            if (stage == 1) {
                assertThat(ref.lteTerm).as("the efficiency loss is on").isGreaterThan(0.01);
            } else {
                assertThat(lte.selectedShare()).as("stage 2 drops some experts, keeps some").isBetween(0.1, 0.9);
            }
            assertThat(ref.lteMargin).as("closest score to τ").isGreaterThan(0.003);
            assertThat(ref.kinkMargin).as("closest gate pre-activation to a kink").isGreaterThan(1e-4);
            System.out.printf("%s: loss %.6f, closest score to τ %.3g%n", name, want, ref.lteMargin);

            SplittableRandom rnd = new SplittableRandom(seed + 1000);
            double worst = 0;
            for (LlamaParams.Param q : p.params()) {
                int[] idx = BackpropFiniteDifferenceTest.indices(q, tokens, cfg, rnd);
                double[] values = ref.w.get(q.name());
                double[] fd = new double[idx.length];
                for (int k = 0; k < idx.length; k++) {
                    fd[k] = FiniteDiff.partial(x -> ref.loss(tokens, SEQS, T, null, 0, 0), values, idx[k]);
                }
                worst = Math.max(worst, FiniteDiff.assertMatches(name + ": " + q.name(), fd, q.grad(), idx, REL, ABS,
                        false));
            }
            for (int l = 0; l < cfg.numLayers(); l++) {
                float[] gw = lte.routerGrad(l);
                double[] values = ref.w.get("lte.router." + l);
                int[] idx = indices(gw, rnd);
                double[] fd = new double[idx.length];
                for (int k = 0; k < idx.length; k++) {
                    fd[k] = FiniteDiff.partial(x -> ref.loss(tokens, SEQS, T, null, 0, 0), values, idx[k]);
                }
                if (stage == 2) {
                    for (int k = 0; k < idx.length; k++) {
                        assertThat(gw[idx[k]]).as("stage 2: routers fixed").isZero();
                        assertThat(fd[k]).as("stage 2: the loss is flat in the routers").isCloseTo(0, offset(1e-9));
                    }
                } else {
                    worst = Math.max(worst, FiniteDiff.assertMatches(name + ": router " + l, fd, gw, idx, REL, ABS,
                            false));
                }
            }
            System.out.printf("%s: max |fd - grad| / max |grad| = %.2g%n", name, worst);
        }
    }

    /**
     * The τ in [0.3, 0.7] (steps of 0.001) farthest from every score of this model's batch, so that the hard mask and
     * the separability term are smooth along every difference (the scores do not depend on τ).
     */
    static float tauAwayFromScores(ModelConfig cfg, long seed, Arena arena) {
        LlamaParams p = BackpropFiniteDifferenceTest.randomModel(cfg, seed, arena);
        Lte probe = new Lte(4, 1, 1, 0f, 0f, 0.5f, 1e-3f, seed);
        probe.ffnGate(p);
        DoubleLlama ref = new DoubleLlama(p);
        for (int l = 0; l < cfg.numLayers(); l++) {
            ref.w.put("lte.router." + l, FiniteDiff.toDouble(probe.router(l)));
        }
        ref.lteSize = 4;
        ref.loss(BackpropFiniteDifferenceTest.tokens(cfg, seed), SEQS, T, null, 0, 0);
        float best = 0.5f;
        double bestGap = -1;
        for (int k = 300; k <= 700; k++) {
            double t = k / 1000.0;
            double gap = Double.POSITIVE_INFINITY;
            for (double g : ref.lteScores) {
                gap = Math.min(gap, Math.abs(g - t));
            }
            if (gap > bestGap) {
                bestGap = gap;
                best = (float) t;
            }
        }
        return best;
    }

    /**
     * A score exactly at τ (a zero router: z = 0, σ = 0.5f = τ) gives finite gradients, with and without the
     * separability term (0 · 1/0 was NaN: a real run met σ(z) rounding to 0.5f within 50 steps).
     */
    @Test
    void aScoreExactlyAtTauKeepsTheGradientsFinite() {
        ModelConfig cfg = BackpropFiniteDifferenceTest.config("llama", "silu", 0f, false);
        for (float sep : new float[]{0f, 0.01f}) {
            try (Arena arena = Arena.ofShared(); Parallel par = new Parallel(2)) {
                LlamaParams p = BackpropFiniteDifferenceTest.randomModel(cfg, 31, arena);
                Lte lte = new Lte(4, 1, 1, 1f, sep, 0.5f, 1e-3f, 31);
                Backprop.FfnGate gate = lte.ffnGate(p);
                java.util.Arrays.fill(lte.router(0), 0f);
                p.zeroGrads();
                Backprop bp = new Backprop(p, SEQS, T);
                bp.ffnGate(gate);
                bp.step(BackpropFiniteDifferenceTest.tokens(cfg, 31), 0, 0f, null, 0f, 1f, par);
                assertThat(Double.isFinite(gate.loss())).as("loss, λ_s = " + sep).isTrue();
                for (LlamaParams.Param q : p.params()) {
                    for (float v : q.grad()) {
                        assertThat(Float.isFinite(v)).as(q.name() + ", λ_s = " + sep).isTrue();
                    }
                }
                for (float v : lte.routerGrad(0)) {
                    assertThat(Float.isFinite(v)).as("router 0, λ_s = " + sep).isTrue();
                }
            }
        }
    }

    /** Regrouping the neurons into experts permutes them: the model's output does not change. */
    @Test
    void groupingPreservesTheFunction() {
        ModelConfig cfg = BackpropFiniteDifferenceTest.config("llama", "silu", 0f, false);
        try (Arena arena = Arena.ofShared(); Parallel par = new Parallel(2)) {
            LlamaParams p = BackpropFiniteDifferenceTest.randomModel(cfg, 21, arena);
            int[] tokens = BackpropFiniteDifferenceTest.tokens(cfg, 21);
            float[] before = new Backprop(p, SEQS, T).forward(tokens, 0, par).clone();
            float[] gate0 = dev.sparsa.tensor.Kernels.toFloats(p.weights().layers().get(0).ffn().gate());
            new Lte(4, 1, 1, 0f, 0f, 0.5f, 1e-3f, 3).ffnGate(p);
            float[] gate1 = dev.sparsa.tensor.Kernels.toFloats(p.weights().layers().get(0).ffn().gate());
            assertThat(gate1).as("the neurons moved").isNotEqualTo(gate0);
            float[] after = new Backprop(p, SEQS, T).forward(tokens, 0, par);
            for (int i = 0; i < before.length; i++) {
                assertThat(after[i]).isCloseTo(before[i], offset(1e-5f));
            }
        }
    }

    static int[] indices(float[] g, SplittableRandom rnd) {
        int best = 0;
        for (int i = 1; i < g.length; i++) {
            if (Math.abs(g[i]) > Math.abs(g[best])) {
                best = i;
            }
        }
        List<Integer> idx = new ArrayList<>(List.of(best));
        for (int k = 0; k < 7; k++) {
            int i = rnd.nextInt(g.length);
            if (!idx.contains(i)) {
                idx.add(i);
            }
        }
        return idx.stream().mapToInt(Integer::intValue).toArray();
    }
}
