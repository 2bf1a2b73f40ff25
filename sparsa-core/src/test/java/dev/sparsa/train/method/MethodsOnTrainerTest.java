package dev.sparsa.train.method;

import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.Method;
import dev.sparsa.train.Schedule;
import dev.sparsa.train.TrainData;
import dev.sparsa.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * ReDo, AP and SAP driven by the {@link Trainer} on a tiny ReLU model: the rounds land on their steps, pruned weights
 * stay exactly zero through training, a fixed ratio gives the floor recursion's counts, and a run resumed from a
 * mid-run checkpoint ends with the same bits as the uninterrupted one (the masks, AP's round-start weights and the
 * logs come back through {@link Method#state()}).
 */
class MethodsOnTrainerTest {
    static final ModelConfig CFG = new ModelConfig("llama", 16, 24, 2, 4, 2, 4, 37, 64, 1e-5f, 10000f, null, "relu",
            0f, false, false, 0, 0, 0);
    static final int[] IDS = new SplittableRandom(3).ints(400, 0, 37).toArray();

    static Trainer.Options options(Integer steps, boolean resume, int checkpointEvery) {
        return new Trainer.Options(2, 1, 8, steps, 5e-3f, 0, Schedule.Kind.CONSTANT, 0f, 0.1f, 0.9f, 0.95f, 1f, 5,
                checkpointEvery, 3, 0, 0f, resume);
    }

    record Done(int[][] bits, Trainer.Result result, Method method) {
    }

    static Done train(Function<LlamaParams, Method> make, Path out, boolean resume, int checkpointEvery) {
        return train(make, out, resume, checkpointEvery, m -> {
        });
    }

    /** {@code check} sees the method while the parameters are still open. */
    static Done train(Function<LlamaParams, Method> make, Path out, boolean resume, int checkpointEvery,
                      java.util.function.Consumer<Method> check) {
        try (Arena arena = Arena.ofShared(); Parallel par = new Parallel(1)) {
            LlamaParams p = LlamaParams.init(CFG, 0.2, 4, arena);
            Method m = make.apply(p);
            Trainer.Result r = new Trainer(p, m, options(m instanceof PruningRounds ? null : 6, resume, checkpointEvery), new TrainData("x", IDS, 8, 5), null,
                    null, out, new Trainer.Listener() {
            }).run(par);
            int[][] bits = new int[p.params().size()][];
            for (int i = 0; i < bits.length; i++) {
                LlamaParams.Param q = p.params().get(i);
                bits[i] = new int[q.size()];
                for (int k = 0; k < q.size(); k++) {
                    bits[i][k] = Float.floatToRawIntBits(q.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, k));
                }
            }
            check.accept(m);
            return new Done(bits, r, m);
        }
    }

    @Test
    void fixedRatioRoundsPruneTheFloorRecursionAndHoldTheZeros() {
        Done d = train(p -> new IterativePruning(p.weights(), new Pruner.Wanda(), 0.3, 2, 2, false), null, false, 0,
                MethodsOnTrainerTest::checkFixedRatio);
        assertThat(d.result().steps()).isEqualTo(6);
    }

    static void checkFixedRatio(Method method) {
        IterativePruning m = (IterativePruning) method;
        List<Map<String, Object>> log = m.rounds();
        assertThat(log).extracting(r -> r.get("step")).containsExactly(2, 4);
        FfnMasks masks = m.masks();
        for (int k = 0; k < masks.matrices().size(); k++) {
            FfnMasks.Matrix mx = masks.matrices().get(k);
            // per row (Wanda): kept 16 or 24 → ⌊·0.3⌋ twice
            int row = mx.cols();
            int kept = row - (int) Math.floor(row * 0.3);
            kept -= (int) Math.floor(kept * 0.3);
            assertThat(masks.retained(k)).as(mx.name()).isEqualTo(kept * mx.rows());
            float[] v = masks.values(k);
            for (int i = 0; i < v.length; i++) {
                if (!masks.kept(k, i)) {
                    assertThat(v[i]).as("%s[%d] after 2 more steps", mx.name(), i).isZero();
                }
            }
        }
        assertThat((double) m.summary().get("finalSparsity")).isBetween(0.45, 0.55);
    }

    @Test
    void resumedRunsEndWithTheSameBits(@TempDir Path tmp) throws Exception {
        List<Function<LlamaParams, Method>> methods = List.of(
                p -> new Ap(p.weights(), new Pruner.Magnitude(), 0.3, 2, 2, false, 0.5),
                p -> Sap.defaults(p.weights(), 2, 2),
                p -> new Redo(2, 0.1, 0.02, 9));
        for (int i = 0; i < methods.size(); i++) {
            Path a = tmp.resolve("a" + i);
            Done whole = train(methods.get(i), a, false, 3);
            Path b = tmp.resolve("b" + i);
            train(methods.get(i), b, false, 3);
            Files.delete(b.resolve("checkpoints").resolve("step-00000006.safetensors"));
            Done resumed = train(methods.get(i), b, true, 3);
            String name = whole.method().name();
            assertThat(resumed.result().log()).as(name + " resumed at step 4").hasSize(3);
            for (int k = 0; k < whole.bits().length; k++) {
                assertThat(resumed.bits()[k]).as(name + " parameter " + k).isEqualTo(whole.bits()[k]);
            }
            var json = new com.fasterxml.jackson.databind.ObjectMapper();
            assertThat(json.writeValueAsString(resumed.method().summary()))
                    .isEqualTo(json.writeValueAsString(whole.method().summary()));
        }
        Done redo = train(p -> new Redo(2, 0.1, 0.02, 9), null, false, 0);
        // steps 2, 4, 6 recycle (the summary lists each with its per-layer count)
        assertThat(redo.method().summary().get("recycled").toString()).contains("step=2", "step=4", "step=6");
    }

    @Test
    void apTakesItsShareFromTheGateOnly() {
        Done d = train(p -> new Ap(p.weights(), new Pruner.Magnitude(), 0.4, 1, 2, false, 0.5), null, false, 0);
        Ap ap = (Ap) d.method();
        Map<String, Object> round = ap.rounds().getFirst();
        int[] byAp = ((List<?>) round.get("prunedByAp")).stream().mapToInt(x -> (Integer) x).toArray();
        int[] base = ((List<?>) round.get("pruned")).stream().mapToInt(x -> (Integer) x).toArray();
        List<FfnMasks.Matrix> matrices = ap.masks().matrices();
        for (int k = 0; k < byAp.length; k++) {
            FfnMasks.Matrix mx = matrices.get(k);
            int total = (int) Math.floor(mx.size() * 0.4);
            assertThat(base[k] + byAp[k]).as(mx.name()).isEqualTo(total);
            if (mx.kind() == FfnMasks.Kind.GATE) {
                assertThat(byAp[k]).as(mx.name()).isEqualTo(total - (int) Math.floor(mx.size() * 0.4 * 0.5));
            } else {
                assertThat(byAp[k]).as(mx.name()).isZero();
            }
        }
    }
}
