package dev.sparsa.train.method;

import dev.sparsa.SparsaException;
import dev.sparsa.profile.metric.PqIndex;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.AdamW;
import dev.sparsa.train.Backprop;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.TrainContext;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The pruning pieces on hand-computed cases: SAP's PQ Index, bound and amount; the masks' selection, holding and
 * checkpoint form; Wanda's score; AP's choice of weights; the rewind of SAP's loop.
 */
class PruningTest {
    // hidden 4, FFN 2, 1 layer: gate/up [2, 4], down [4, 2]
    static final ModelConfig SMALL = new ModelConfig("llama", 4, 2, 1, 1, 1, 4, 11, 16, 1e-5f, 10000f, null, "relu",
            0f, false, false, 0, 0, 0);

    @Test
    void sapAmountFollowsThePqIndexFormula() {
        // w = (10, 1 × 9): ‖w‖_½ = (√10 + 9)², ‖w‖₁ = 19, d = 10 → I = 1 − 10^{−1}·147.92/19 = 0.221468
        float[] w = {10, 1, 1, 1, 1, 1, 1, 1, 1, 1};
        try (Arena arena = Arena.ofConfined()) {
            ModelConfig c = new ModelConfig("llama", 5, 2, 1, 1, 1, 4, 11, 16, 1e-5f, 10000f, null, "relu", 0f, false,
                    false, 0, 0, 0);
            LlamaParams lp = LlamaParams.init(c, 0.1, 1, arena);
            FfnMasks masks = FfnMasks.dense(lp);
            assertThatThrownBy(() -> new Sap(lp.weights(), 1, 1, false, 1, 0.5, 0, 1, 0.9))
                    .isInstanceOf(SparsaException.UsageException.class).hasMessage("SAP needs 0 < p < q, got p = 1.0, q = 0.5");
            assertThatThrownBy(() -> new Sap(lp.weights(), 1, 1, false, 0.5, 1, 0, 1, 1))
                    .hasMessageContaining("β");
            double pq = Sap.pqIndex(w, masks, 0, 0.5, 1);
            assertThat(pq).isCloseTo(0.2214684321945745, within(1e-12));
            assertThat(pq).isCloseTo(PqIndex.of(w, 0, w.length, 0.5, 1), within(1e-12));   // the profile's metric
            // r = ⌈10·(1 − I)⌉ = ⌈7.785⌉ = 8; c = ⌊min(1·(10 − 8), 0.9·10)⌋ = 2
            assertThat(Sap.keepBound(10, pq, 0.5, 1, 0)).isEqualTo(8);
            assertThat(Sap.amount(10, 8, 1, 0.9)).isEqualTo(2);
            // η_r = 0.5: r = ⌈10·1.5^{−2}·0.7785⌉ = ⌈3.46⌉ = 4 → c = 6; γ = 2 → min(12, 9) = 9 (β caps it)
            assertThat(Sap.keepBound(10, pq, 0.5, 1, 0.5)).isEqualTo(4);
            assertThat(Sap.amount(10, 4, 1, 0.9)).isEqualTo(6);
            assertThat(Sap.amount(10, 4, 2, 0.9)).isEqualTo(9);
            // a bound above d prunes nothing; constant magnitudes have I = 0
            assertThat(Sap.amount(10, 12, 1, 0.9)).isZero();
            float[] flat = {3, -3, 3, -3, 3, 3, 3, 3, 3, 3};
            assertThat(Sap.pqIndex(flat, masks, 0, 0.5, 1)).isCloseTo(0, within(1e-12));
            // only kept entries count: with 9 of 10 pruned, one weight is left and I = 0
            masks.pruneLowest(0, new float[]{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 9, i -> true);
            assertThat(masks.retained(0)).isEqualTo(1);
            assertThat(masks.kept(0, 9)).isTrue();
            assertThat(Sap.pqIndex(w, masks, 0, 0.5, 1)).isCloseTo(0, within(1e-12));
        }
    }

    @Test
    void masksPruneTheLowestHoldZerosAndRoundTrip() {
        try (Arena arena = Arena.ofConfined()) {
            LlamaParams p = LlamaParams.init(SMALL, 0.5, 2, arena);
            AdamW opt = new AdamW(p, AdamW.Config.of(0f));
            FfnMasks masks = FfnMasks.dense(p);
            assertThat(masks.matrices()).extracting(FfnMasks.Matrix::kind).containsExactly(FfnMasks.Kind.GATE,
                    FfnMasks.Kind.UP, FfnMasks.Kind.DOWN);
            FfnMasks.Matrix gate = masks.matrix(0, FfnMasks.Kind.GATE);
            assertThat(gate.rows()).isEqualTo(2);
            assertThat(gate.cols()).isEqualTo(4);
            float[] score = {5, 1, 7, 1, 0, 9, 3, 2};
            // the lowest 3 among the eligible even indices: 4 (0), 6 (3), 0 (5)
            assertThat(masks.pruneLowest(0, score, 3, i -> i % 2 == 0)).isEqualTo(3);
            assertThat(masks.kept(0, 4) || masks.kept(0, 6) || masks.kept(0, 0)).isFalse();
            assertThat(masks.retained(0)).isEqualTo(5);
            assertThat(masks.retainedInRow(0, 0)).isEqualTo(3);
            // per row: row 1 (entries 4..7) prunes its lowest kept: 7 (score 2)
            masks.pruneLowest(0, score, 4, 8, 1, i -> true);
            assertThat(masks.kept(0, 7)).isFalse();
            Arrays.fill(opt.m(gate.index()), 1f);
            Arrays.fill(opt.v(gate.index()), 1f);
            masks.apply(opt);
            float[] v = masks.values(0);
            for (int i = 0; i < 8; i++) {
                boolean off = i == 0 || i == 4 || i == 6 || i == 7;
                assertThat(v[i] == 0f).as("entry %d", i).isEqualTo(off);
                assertThat(opt.m(gate.index())[i]).isEqualTo(off ? 0f : 1f);
            }
            assertThat(masks.sparsity()).isCloseTo(4.0 / 24, within(1e-12));
            Map<String, String> st = new java.util.HashMap<>();
            masks.state("mask.", st);
            FfnMasks back = FfnMasks.dense(p);
            back.restore("mask.", st);
            for (int i = 0; i < 8; i++) {
                assertThat(back.kept(0, i)).isEqualTo(masks.kept(0, i));
            }
            assertThatThrownBy(() -> FfnMasks.dense(p).restore("mask.", Map.of()))
                    .isInstanceOf(SparsaException.FormatException.class).hasMessageContaining("no mask");
        }
    }

    @Test
    void wandaScoresAreMagnitudeTimesInputNorm() {
        try (Arena arena = Arena.ofConfined()) {
            FfnMasks masks = FfnMasks.dense(LlamaParams.init(SMALL, 0.5, 2, arena));
            float[] w = {1, -2, 3, -4, 0.5f, 0.5f, 0.5f, 0.5f};
            // Σ_t x_j² = (1, 4, 0, 9) → ‖X_j‖ = (1, 2, 0, 3)
            Pruner.InputStats in = new Pruner.InputStats(new double[][]{{1, 4, 0, 9}}, new double[][]{{0, 0, 0, 0}},
                    new double[][]{{1, 1}}, 2);
            float[] s = new float[8];
            Pruner.of("wanda").scores(masks.matrix(0, FfnMasks.Kind.GATE), w, in, s);
            assertThat(s).containsExactly(1, 4, 0, 12, 0.5f, 1, 0, 1.5f);
            Pruner.of("magnitude").scores(masks.matrix(0, FfnMasks.Kind.GATE), w, in, s);
            assertThat(s).containsExactly(1, 2, 3, 4, 0.5f, 0.5f, 0.5f, 0.5f);
            assertThat(Pruner.of("wanda").perRow()).isTrue();
        }
        assertThatThrownBy(() -> Pruner.of("obs")).hasMessage("--pruner: unknown pruning method 'obs' (magnitude, "
                + "wanda)");
    }

    @Test
    void apPrunesNegativeContributionsThatMovedLeast() {
        try (Arena arena = Arena.ofConfined()) {
            FfnMasks masks = FfnMasks.dense(LlamaParams.init(SMALL, 0.5, 2, arena));
            masks.setValues(0, new float[]{0.5f, -0.2f, 0.3f, 0.1f, -0.1f, 0.4f, -0.6f, 0.2f});
            float[] w0 = {0.4f, -0.25f, 0.3f, 0.1f, 0.0f, 0.4f, -0.5f, 0.2f};
            double[] mu = {1, 1, -1, 0};
            // contributions g·μ: (0.5, −0.2, −0.3, 0 | −0.1, 0.4, 0.6, 0): eligible 1, 2, 4 with moves 0.05, 0, 0.1
            assertThat(Ap.activate(masks, 0, mu, w0, 2)).isEqualTo(2);
            assertThat(masks.kept(0, 2)).isFalse();
            assertThat(masks.kept(0, 1)).isFalse();
            assertThat(masks.kept(0, 4)).isTrue();
            assertThat(Ap.activate(masks, 0, mu, w0, 5)).as("only one eligible left").isEqualTo(1);
            assertThat(masks.retained(0)).isEqualTo(5);
        }
        assertThat(IterativePruning.perRound(0.75, 2)).isCloseTo(0.5, within(1e-12));
        assertThatThrownBy(() -> IterativePruning.perRound(1.0, 2)).isInstanceOf(SparsaException.UsageException.class)
                .hasMessage("pruning ratio must be in [0, 1), got 1.0");
    }

    @Test
    void apNeedsAReluModel() {
        try (Arena arena = Arena.ofConfined()) {
            ModelConfig silu = SMALL.withActivation("silu", 0f);
            LlamaParams p = LlamaParams.init(silu, 0.5, 2, arena);
            Ap ap = new Ap(p.weights(), new Pruner.Magnitude(), 0.2, 1, 1, false, 0.1);
            assertThatThrownBy(() -> ap.studentConfig(silu)).isInstanceOf(SparsaException.UsageException.class)
                    .hasMessageContaining("ap needs a ReLU-family model").hasMessageContaining("this model is silu")
                    .hasMessageContaining("--method relu");
            assertThat(ap.studentConfig(SMALL)).isEqualTo(SMALL);
        }
    }

    @Test
    void sapRoundPrunesTheComputedAmountThenRewindsEveryParameter() {
        ModelConfig cfg = new ModelConfig("llama", 16, 24, 2, 4, 2, 4, 37, 64, 1e-5f, 10000f, null, "relu", 0f, false,
                false, 0, 0, 0);
        try (Arena arena = Arena.ofShared(); Parallel par = new Parallel(1)) {
            LlamaParams start = LlamaParams.init(cfg, 0.3, 5, arena);
            LlamaParams p = LlamaParams.init(cfg, 0.3, 5, arena);          // the same values, to be "trained"
            Sap sap = Sap.defaults(start.weights(), 2, 3);
            assertThat(sap.steps(null)).isEqualTo(9);
            AdamW opt = new AdamW(p, AdamW.Config.of(0f));
            Backprop bp = new Backprop(p, 1, 4);
            int[] ids = new SplittableRandom(1).ints(5, 0, 37).toArray();
            bp.forward(ids, 0, par);
            // "training": every parameter moves; moments and step count are non-zero
            SplittableRandom r = new SplittableRandom(9);
            for (int i = 0; i < p.params().size(); i++) {
                LlamaParams.Param q = p.params().get(i);
                for (int k = 0; k < q.size(); k++) {
                    float x = q.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, k);
                    q.data().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, k, x + (float) r.nextGaussian() * 0.1f);
                }
                Arrays.fill(opt.m(i), 1f);
                Arrays.fill(opt.v(i), 1f);
            }
            opt.setSteps(7);
            FfnMasks probe = FfnMasks.dense(p);                             // expected: the amounts on trained w
            int[] want = new int[probe.matrices().size()];
            for (int m = 0; m < want.length; m++) {
                float[] w = probe.values(m);
                int d = w.length;
                want[m] = Sap.amount(d, Sap.keepBound(d, Sap.pqIndex(w, probe, m, 0.5, 1), 0.5, 1, 0), 1, 0.9);
            }
            for (int step = 1; step <= 3; step++) {
                sap.afterStep(new TrainContext(step, 9, p, opt, bp, null));
            }
            List<Map<String, Object>> log = sap.rounds();
            assertThat(log).hasSize(1);
            assertThat(log.getFirst().get("pruned")).isEqualTo(Arrays.stream(want).boxed().toList());
            FfnMasks masks = sap.masks();
            for (int m = 0; m < want.length; m++) {
                assertThat(masks.retained(m)).isEqualTo(masks.matrices().get(m).size() - want[m]);
            }
            assertThat(Arrays.stream(want).sum()).as("SAP prunes something on random weights").isPositive();
            // rewound: every parameter is the start's (FFN entries times the mask), a fresh optimizer
            assertThat(opt.steps()).isZero();
            for (int i = 0; i < p.params().size(); i++) {
                LlamaParams.Param q = p.params().get(i);
                LlamaParams.Param s0 = start.params().get(i);
                int pi = i;
                int m = masks.matrices().stream().filter(x -> x.index() == pi).map(x -> masks.matrices().indexOf(x))
                        .findFirst().orElse(-1);
                for (int k = 0; k < q.size(); k++) {
                    float want0 = m >= 0 && !masks.kept(m, k) ? 0f
                            : s0.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, k);
                    assertThat(q.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, k)).isEqualTo(want0);
                    assertThat(opt.m(i)[k]).isZero();
                    assertThat(opt.v(i)[k]).isZero();
                }
            }
        }
    }
}
