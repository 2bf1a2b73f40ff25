package dev.sparsa.train.method;

import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.Evaluator;
import dev.sparsa.infer.mode.SparseModels;
import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnActivations;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.FfnWeights;
import dev.sparsa.model.LteRouters;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.Schedule;
import dev.sparsa.train.TrainData;
import dev.sparsa.train.Trainer;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Map;

import static dev.sparsa.train.method.MethodsOnTrainerTest.CFG;
import static dev.sparsa.train.method.MethodsOnTrainerTest.IDS;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The trainer validates LTE with its gate ({@link Lte#validationModel}): the in-loop validation of a stage-2 step and
 * the final one equal {@code --sparse lte}'s evaluation ({@link SparseModels#lte}, the kernel {@code eval} runs) of
 * the same weights and routers, and differ from the dense model's; a stage-1 step's equals the soft-gated model
 * computed here independently (a dense FFN whose h is scaled by σ(x·W_r,e) in double). The weights at step s are
 * those of a second run that stops at s (same seed and data, constant learning rate: the same steps bit for bit).
 */
class LteValidationTest {
    record Run(Trainer.Result result, LlamaWeights weights, LteRouters routers) {
    }

    static Run train(int stage1, int stage2, int valEvery, EvalWindows val, Arena arena, Parallel par) {
        LlamaParams p = LlamaParams.init(CFG, 0.2, 4, arena);
        Lte m = new Lte(4, stage1, stage2, 2f, 0f, 0.5f, 0.05f, 7);
        Trainer.Options o = new Trainer.Options(2, 1, 8, null, 5e-3f, 0, Schedule.Kind.CONSTANT, 0f, 0.1f, 0.9f,
                0.95f, 1f, 5, 0, 3, valEvery, 0f, false);
        Trainer.Result r = new Trainer(p, m, o, new TrainData("x", IDS, 8, 5), val, null, null,
                new Trainer.Listener() {
                }).run(par);
        return new Run(r, p.weights(), m.routers());
    }

    static double bpb(Trainer.Result r, int step) {
        List<Map<String, Object>> v = r.validations();
        return v.stream().filter(m -> (int) m.get("step") == step).mapToDouble(m -> (double) m.get("bitsPerByte"))
                .findFirst().orElseThrow(() -> new AssertionError("no validation at step " + step + ": " + v));
    }

    @Test
    void validationAppliesTheRoutersAsInferenceDoes() {
        EvalWindows val = ClTiny.windows(5, 24, 8);
        try (Arena arena = Arena.ofShared(); Parallel par = new Parallel(1)) {
            Run whole = train(4, 3, 2, val, arena, par);                      // validations at 2, 4, 6 and 7
            assertThat(whole.result().validations()).extracting(m -> m.get("step")).containsExactly(2, 4, 6, 7);
            Run to6 = train(4, 2, 0, val, arena, par);                        // stops at step 6 (stage 2)
            double hard6 = new Evaluator(SparseModels.lte(to6.weights(), to6.routers()), par).evaluate(val)
                    .bitsPerByte();
            assertThat(bpb(whole.result(), 6)).as("stage-2 step: --sparse lte of the step's weights")
                    .isEqualTo(hard6);
            assertThat(bpb(to6.result(), 6)).as("final validation: --sparse lte").isEqualTo(hard6);
            double dense6 = new Evaluator(LlamaModel.of(to6.weights(), DenseFfn::new), par).evaluate(val)
                    .bitsPerByte();
            assertThat(Math.abs(dense6 - hard6)).as("the gate changes the loss").isGreaterThan(1e-6);
            assertThat(bpb(whole.result(), 7)).isEqualTo(new Evaluator(SparseModels.lte(whole.weights(),
                    whole.routers()), par).evaluate(val).bitsPerByte());
            Run s1 = train(4, 0, 0, val, arena, par);                         // steps 1-4 as `whole`'s (stage 1)
            double soft4 = new Evaluator(LlamaModel.of(s1.weights(), softReference(s1.routers())), par).evaluate(val)
                    .bitsPerByte();
            assertThat(bpb(whole.result(), 4)).as("stage-1 step: the soft scores").isCloseTo(soft4,
                    org.assertj.core.data.Offset.offset(1e-5));
            assertThat(bpb(s1.result(), 4)).as("final validation after stage 1 only: the hard selection")
                    .isEqualTo(new Evaluator(SparseModels.lte(s1.weights(), s1.routers()), par).evaluate(val)
                            .bitsPerByte());
            assertThat(Math.abs(bpb(s1.result(), 4) - soft4)).as("soft and hard differ").isGreaterThan(1e-6);
        }
    }

    /** The dense FFN with {@code h_i ← σ(x·W_r,e(i)) h_i}, the score in double. */
    static FfnKernel.Factory softReference(LteRouters r) {
        return (fw, act) -> new FfnKernel() {
            final DenseFfn dense = new DenseFfn(fw, act);

            public FfnWeights weights() {
                return fw;
            }

            public Activation activation() {
                return act;
            }

            public FfnActivations newActivations(int capacity) {
                return dense.newActivations(capacity);
            }

            public float[] downColumnNorms() {
                return dense.downColumnNorms();
            }

            public void forward(float[] x, int batch, int pos0, float[] y, FfnActivations acts, ActivationTap tap,
                                Parallel par) {
                float[] w = r.router(fw.layer());
                int d = fw.hiddenSize();
                int s = r.expertSize();
                dense.forward(x, batch, pos0, y, acts, (l, pos, xx, xo, gate, a, h, off) -> {
                    for (int e = 0; e < r.experts(); e++) {
                        double z = 0;
                        for (int j = 0; j < d; j++) {
                            z += (double) w[e * d + j] * xx[xo + j];
                        }
                        double g = 1 / (1 + Math.exp(-z));
                        for (int i = e * s; i < (e + 1) * s; i++) {
                            h[off + i] = (float) (g * h[off + i]);
                        }
                    }
                }, par);
            }
        };
    }
}
