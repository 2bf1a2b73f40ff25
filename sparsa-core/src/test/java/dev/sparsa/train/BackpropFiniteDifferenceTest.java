package dev.sparsa.train;

import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.FiniteDiff;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

/**
 * {@link Backprop}'s parameter gradients against central finite differences of the loss recomputed in double by
 * {@link DoubleLlama} (an independent forward of the whole model), on tiny random models: vocab 37, hidden 16,
 * 2 layers, 4 query / 2 KV heads of 4, FFN 24, 2 sequences of 5 predictions. Every tensor kind is sampled (its
 * largest-gradient entry and 7 random ones; for the embedding also a row no input uses): embedding, the attention
 * norm, q/k/v/o, q/k/v biases (qwen2), the FFN norm, gate/up/down, the final norm, the LM head, untied and tied;
 * losses CE, CE + L1 (ReLU, FATReLU, dReLU), distillation (α = 0.3 and 1, teacher logits from another random
 * model); activations SiLU, GELU-tanh, ReLU, ReLU², FATReLU, dReLU. Norm gains and biases are random, not 1 and 0,
 * so a dropped gain or bias term shows.
 *
 * <p>Tolerance: per tensor {@code max|fd − grad| ≤ 1e-4·max|grad| + 1e-8}. The double loss's finite differences are
 * good to ~1e-9 ({@link FiniteDiff}); the float gradients carry the float forward's and backward's rounding through
 * two layers, measured ≤ 2.5e-6 of max|grad| here; a wrong term, index or scale shows as 1e-2 or more (tried by
 * hand: the L1 coefficient off by the layer count, a dropped k-bias gradient, RoPE positions off by one). The test
 * asserts that no gate pre-activation (nor dReLU up projection) lies within 1e-4 of a kink, 10× more than any
 * perturbation moves it (step 1e-6 × |∂gate/∂θ| ≲ 10), so the loss is smooth along every difference taken.
 */
class BackpropFiniteDifferenceTest {
    static final int SEQS = 2;
    static final int T = 5;
    static final double REL = 1e-4;
    static final double ABS = 1e-8;

    static ModelConfig config(String arch, String act, float thr, boolean tied) {
        return new ModelConfig(arch, 16, 24, 2, 4, 2, 4, 37, 64, 1e-5f, 10000f, null, act, thr, tied,
                arch.equals("qwen2"), 0, 0, 0);
    }

    static Stream<Arguments> variants() {
        return Stream.of(
                // name, config, λ, teacher α (NaN: no teacher), seed
                Arguments.of("llama SiLU CE", config("llama", "silu", 0f, false), 0f, Float.NaN, 1L),
                Arguments.of("qwen2 tied biases ReLU CE+L1", config("qwen2", "relu", 0f, true), 0.5f, Float.NaN, 2L),
                Arguments.of("llama FATReLU CE+L1", config("llama", "relu", 0.25f, false), 0.5f, Float.NaN, 3L),
                Arguments.of("llama ReLU² CE", config("llama", "relu2", 0f, false), 0f, Float.NaN, 4L),
                Arguments.of("llama dReLU CE+L1", config("llama", "drelu", 0f, false), 0.5f, Float.NaN, 5L),
                Arguments.of("llama SiLU distill 0.3", config("llama", "silu", 0f, false), 0f, 0.3f, 6L),
                Arguments.of("qwen2 tied GELU-tanh distill 1 + L1", config("qwen2", "gelu_new", 0f, true), 0.2f, 1f,
                        7L));
    }

    /** A random model: matrices N(0, 0.3²) (so that attention and the activations are far from linear), norm gains
     * 1 + N(0, 0.2²), biases N(0, 0.2²). */
    static LlamaParams randomModel(ModelConfig cfg, long seed, Arena arena) {
        LlamaParams p = LlamaParams.init(cfg, 0.3, seed, arena);
        SplittableRandom rnd = new SplittableRandom(seed * 31 + 7);
        for (LlamaParams.Param q : p.params()) {
            boolean norm = q.name().endsWith("norm.weight");
            if (norm || q.name().endsWith(".bias")) {
                for (int i = 0; i < q.size(); i++) {
                    q.data().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i,
                            (float) ((norm ? 1 : 0) + 0.2 * rnd.nextGaussian()));
                }
            }
        }
        return p;
    }

    static int[] tokens(ModelConfig cfg, long seed) {
        return new SplittableRandom(seed).ints((long) SEQS * (T + 1), 0, cfg.vocabSize()).toArray();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void parameterGradientsAreTheGradientOfTheDoubleLoss(String name, ModelConfig cfg, float l1, float alpha,
                                                         long seed) {
        boolean distill = !Float.isNaN(alpha);
        try (Arena arena = Arena.ofShared(); Parallel par = new Parallel(2)) {
            LlamaParams p = randomModel(cfg, seed, arena);
            int[] tokens = tokens(cfg, seed);
            float[] teacher = null;
            if (distill) {                                    // another random model's logits on the same batch
                teacher = new Backprop(randomModel(cfg, seed + 100, arena), SEQS, T).forward(tokens, 0, par).clone();
            }
            p.zeroGrads();
            Backprop.Loss got = new Backprop(p, SEQS, T).step(tokens, 0, l1, teacher, distill ? alpha : 0f, 1f, par);

            DoubleLlama ref = new DoubleLlama(p);
            float[] tz = teacher;
            double a = distill ? alpha : 0;
            double want = ref.loss(tokens, SEQS, T, tz, a, l1);
            // the float forward's loss terms against the double forward's (float rounding through 2 layers: ~1e-6)
            assertThat(got.ce()).as("CE").isCloseTo(ref.ce, offset(1e-5));
            assertThat(got.klSum() / got.predictions()).as("KL").isCloseTo(ref.kl, offset(1e-5));
            assertThat(got.l1()).as("L1 term").isCloseTo(ref.l1Term, offset(1e-5));
            if (distill) {
                assertThat(ref.kl).as("teacher differs from the student").isGreaterThan(0.05);
            }
            assertThat(ref.kinkMargin).as("closest gate pre-activation to a kink").isGreaterThan(1e-4);
            System.out.printf("%s: loss %.6f, closest kink %.2g%n", name, want, ref.kinkMargin);

            SplittableRandom rnd = new SplittableRandom(seed + 1000);
            double worst = 0;
            int kinds = 0;
            for (LlamaParams.Param q : p.params()) {
                int[] idx = indices(q, tokens, cfg, rnd);
                double[] values = ref.w.get(q.name());
                double[] fd = new double[idx.length];
                for (int k = 0; k < idx.length; k++) {
                    fd[k] = FiniteDiff.partial(x -> ref.loss(tokens, SEQS, T, tz, a, l1), values, idx[k]);
                }
                worst = Math.max(worst, FiniteDiff.assertMatches(name + ": " + q.name(), fd, q.grad(), idx, REL, ABS,
                        false));
                kinds++;
            }
            int expected = 1 + cfg.numLayers() * (cfg.attentionBias() ? 12 : 9) + 1 + (cfg.tieWordEmbeddings() ? 0 : 1);
            assertThat(kinds).as("parameter tensors checked").isEqualTo(expected);
            System.out.printf("%s: max |fd - grad| / max |grad| = %.2g over %d tensors%n", name, worst, kinds);
        }
    }

    // the entry of largest |grad|, 7 random ones, and for the embedding 2 entries of a row no input uses
    static int[] indices(LlamaParams.Param q, int[] tokens, ModelConfig cfg, SplittableRandom rnd) {
        float[] g = q.grad();
        int best = 0;
        for (int i = 1; i < g.length; i++) {
            if (Math.abs(g[i]) > Math.abs(g[best])) {
                best = i;
            }
        }
        List<Integer> idx = new ArrayList<>(List.of(best));
        for (int k = 0; k < 7 && idx.size() < g.length; k++) {
            int i = rnd.nextInt(g.length);
            if (!idx.contains(i)) {
                idx.add(i);
            }
        }
        if (q.name().equals("model.embed_tokens.weight")) {
            int d = cfg.hiddenSize();
            for (int row = 0; row < cfg.vocabSize(); row++) {
                boolean used = false;
                for (int b = 0; b < SEQS; b++) {
                    for (int i = 0; i < T; i++) {
                        used |= tokens[b * (T + 1) + i] == row;
                    }
                }
                if (!used) {
                    idx.add(row * d);
                    idx.add(row * d + d - 1);
                    break;
                }
            }
        }
        return idx.stream().mapToInt(Integer::intValue).toArray();
    }
}
