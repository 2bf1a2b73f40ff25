package dev.sparsa.train.method;

import dev.sparsa.SparsaException;
import dev.sparsa.model.LteRouters;
import dev.sparsa.train.LlamaParams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

import static dev.sparsa.train.method.MethodsOnTrainerTest.Done;
import static dev.sparsa.train.method.MethodsOnTrainerTest.train;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link Lte} driven by the trainer on a tiny model (F 24, experts of 4): the stages land on their steps, a large η
 * selects fewer experts than η = 0, stage 2 leaves the routers as stage 1 ended, the routers come out as
 * {@link LteRouters}, a run resumed from a mid-run checkpoint ends with the same bits, routers and log (they come back
 * through {@link Lte#state()}), and bad options are one usage error each.
 */
class LteOnTrainerTest {
    static Function<LlamaParams, dev.sparsa.train.Method> lte(float eta) {
        return p -> new Lte(4, 4, 2, eta, 0f, 0.5f, 0.05f, 7);
    }

    @SuppressWarnings("unchecked")
    static List<double[]> log(Done d) {
        return (List<double[]>) d.method().summary().get("log");
    }

    @Test
    void stagesEfficiencyAndRouters() {
        float[][] afterStage1 = new float[2][];
        Done lazy = train(lte(0f), null, false, 0);
        Done eager = train(lte(20f), null, false, 0, m -> {
            Lte l = (Lte) m;
            LteRouters r = l.routers();
            assertThat(r.experts()).isEqualTo(6);
            assertThat(r.tau()).isEqualTo(0.5f);
            afterStage1[0] = r.router(0);
        });
        assertThat(log(eager)).extracting(e -> (int) e[1]).containsExactly(1, 1, 1, 1, 2, 2);
        // η pushes the scores down: fewer experts over τ at the end of stage 1 than without the efficiency loss
        assertThat(log(eager).get(3)[3]).isLessThan(log(lazy).get(3)[3]);
        assertThat(log(eager).get(3)[2]).as("efficiency loss reported in stage 1").isPositive();
        assertThat(log(eager).get(5)[2]).as("no LTE loss in stage 2").isZero();
        assertThat(afterStage1[0]).isNotNull();
    }

    /** Lte with a snapshot of router 0 after every step. */
    record Watched(Lte lte, List<float[]> snapshots) implements dev.sparsa.train.Method {
        public String name() {
            return lte.name();
        }

        public dev.sparsa.spec.ModelConfig studentConfig(dev.sparsa.spec.ModelConfig c) {
            return lte.studentConfig(c);
        }

        public int steps(Integer r) {
            return lte.steps(r);
        }

        public dev.sparsa.spec.ModelConfig configAt(int step, dev.sparsa.spec.ModelConfig c) {
            return lte.configAt(step, c);
        }

        public dev.sparsa.train.Backprop.FfnGate ffnGate(LlamaParams p) {
            return lte.ffnGate(p);
        }

        public void afterStep(dev.sparsa.train.TrainContext ctx) {
            lte.afterStep(ctx);
            snapshots.add(lte.router(0).clone());
        }
    }

    @Test
    void onlyStageOneMovesTheRouters() {
        List<float[]> snaps = new java.util.ArrayList<>();
        train(p -> new Watched(new Lte(4, 4, 2, 1f, 0f, 0.5f, 0.05f, 7), snaps), null, false, 0);
        assertThat(snaps).hasSize(6);
        assertThat(snaps.get(1)).as("stage 1 trains the routers").isNotEqualTo(snaps.get(0));
        assertThat(snaps.get(4)).as("stage 2: fixed").isEqualTo(snaps.get(3));
        assertThat(snaps.get(5)).as("stage 2: fixed").isEqualTo(snaps.get(3));
    }

    @Test
    void resumedRunEndsWithTheSameBits(@TempDir Path tmp) throws Exception {
        Path a = tmp.resolve("a");
        float[][] ra = new float[1][];
        Done whole = train(lte(2f), a, false, 3, m -> ra[0] = ((Lte) m).router(1).clone());
        Path b = tmp.resolve("b");
        train(lte(2f), b, false, 3);
        Files.delete(b.resolve("checkpoints").resolve("step-00000006.safetensors"));
        float[][] rb = new float[1][];
        Done resumed = train(lte(2f), b, true, 3, m -> rb[0] = ((Lte) m).router(1).clone());
        assertThat(resumed.result().log()).as("resumed at step 4").hasSize(3);
        for (int k = 0; k < whole.bits().length; k++) {
            assertThat(resumed.bits()[k]).as("parameter " + k).isEqualTo(whole.bits()[k]);
        }
        assertThat(rb[0]).isEqualTo(ra[0]);
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        assertThat(json.writeValueAsString(resumed.method().summary()))
                .isEqualTo(json.writeValueAsString(whole.method().summary()));
    }

    /** Balanced k-means finds planted clusters: 4 well-separated centers, 8 noisy rows each, shuffled. */
    @Test
    void balancedKMeansGroupsPlantedClusters() {
        int k = 4;
        int size = 8;
        int dim = 6;
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(3);
        double[][] centers = new double[k][dim];
        for (double[] c : centers) {
            for (int j = 0; j < dim; j++) {
                c[j] = rnd.nextGaussian() * 5;
            }
        }
        int n = k * size;
        int[] truth = new int[n];
        java.util.List<Integer> order = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            order.add(i % k);
        }
        java.util.Collections.shuffle(order, new java.util.Random(4));
        float[] rows = new float[n * dim];
        for (int r = 0; r < n; r++) {
            truth[r] = order.get(r);
            for (int j = 0; j < dim; j++) {
                rows[r * dim + j] = (float) (centers[truth[r]][j] + rnd.nextGaussian() * 0.1);
            }
        }
        int[] perm = Lte.balancedKMeans(dev.sparsa.tensor.Tensor.f32("gate", rows, n, dim), k, size, 9);
        assertThat(java.util.Arrays.stream(perm).sorted().toArray()).as("a permutation")
                .isEqualTo(java.util.stream.IntStream.range(0, n).toArray());
        for (int e = 0; e < k; e++) {
            int c = truth[perm[e * size]];
            for (int j = 1; j < size; j++) {
                assertThat(truth[perm[e * size + j]]).as("expert " + e + " is one planted cluster").isEqualTo(c);
                assertThat(perm[e * size + j]).as("ascending within the expert").isGreaterThan(perm[e * size + j - 1]);
            }
        }
    }

    @Test
    void badOptionsAreUsageErrors() {
        assertThatThrownBy(() -> new Lte(0, 1, 1, 1f, 0f, 0.5f, 0.01f, 1)).isInstanceOf(
                SparsaException.UsageException.class).hasMessageContaining("--expert-size");
        assertThatThrownBy(() -> new Lte(4, 1, 1, -1f, 0f, 0.5f, 0.01f, 1)).hasMessageContaining("--eta");
        assertThatThrownBy(() -> new Lte(4, 1, 1, 1f, 0f, 1f, 0.01f, 1)).hasMessageContaining("--tau");
        assertThatThrownBy(() -> new Lte(4, 0, 0, 1f, 0f, 0.5f, 0.01f, 1)).hasMessageContaining("at least one step");
        assertThatThrownBy(() -> train(p -> new Lte(5, 4, 2, 1f, 0f, 0.5f, 0.01f, 1), null, false, 0))
                .hasMessageContaining("--expert-size 5 must divide");
    }
}
