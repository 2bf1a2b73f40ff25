package dev.sparsa.model.bert;

import dev.sparsa.io.onnx.OnnxModel;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * {@link BertBackward} against the independent forward of {@link BertModel}: its embeddings equal the model's, and
 * every ∂F/∂h it gives (F = Σ_b r_b·e_b) equals the central finite difference of F through {@link BertModel#forward}
 * with h perturbed by a tap, on tiny random encoders (three activations) and on the real all-MiniLM-L6-v2.
 */
class BertBackwardTest {

    static BertModel tiny(String act) {
        return BertModel.fromOnnx(OnnxModel.parse("tiny-bert.onnx", TinyBertOnnx.build(7, act, false)));
    }

    static List<int[]> seqs(Random r, int vocab, int... lens) {
        List<int[]> out = new ArrayList<>();
        for (int len : lens) {
            int[] s = new int[len];
            for (int i = 0; i < len; i++) {
                s[i] = r.nextInt(vocab);
            }
            out.add(s);
        }
        return out;
    }

    static float[][] directions(Random r, int nb, int d) {
        float[][] out = new float[nb][d];
        for (float[] row : out) {
            for (int i = 0; i < d; i++) {
                row[i] = (float) r.nextGaussian();
            }
        }
        return out;
    }

    /** F = Σ_b r_b·e_b through the model's own forward, h of (layer, token, neuron) moved by eps. */
    static double objective(BertModel m, List<int[]> seqs, float[][] r, int layer, int tok, int neuron, float eps) {
        int f = m.config().intermediateSize();
        int d = m.config().hiddenSize();
        ActivationTap tap = new ActivationTap() {
            @Override
            public boolean wants(int l) {
                return l == layer;
            }

            @Override
            public void onFfn(int l, int position, float[] x, int xOff, float[] gate, float[] act, float[] h,
                              int off) {
                if (off == tok * f) {
                    h[off + neuron] += eps;
                }
            }
        };
        float[][] hidden = m.forward(BertModel.Batch.of(seqs), tap, Parallel.serial());
        double sum = 0;
        for (int b = 0; b < seqs.size(); b++) {
            float[] e = BertModel.l2Normalize(BertModel.meanPool(hidden[b], null, d));
            for (int i = 0; i < d; i++) {
                sum += (double) r[b][i] * e[i];
            }
        }
        return sum;
    }

    /** dh of every layer ([layer][n·F]) for directions r. */
    static float[][] gradients(BertBackward bb, float[][] r, Parallel par) {
        float[][] out = new float[bb.config().numLayers()][];
        bb.backward(r, (l, h, dh, n, f) -> out[l] = dh.clone(), par);
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"gelu", "gelu_tanh", "relu"})
    void forwardGivesTheModelsEmbeddings(String act) {
        BertModel m = tiny(act);
        List<int[]> s = seqs(new Random(1), 20, 5, 1, 9);
        float[][] want = m.sentenceEmbeddings(BertModel.Batch.of(s), Parallel.serial());
        BertBackward bb = new BertBackward(m);
        float[][] got = bb.forward(s, Parallel.serial());
        for (int b = 0; b < s.size(); b++) {
            for (int i = 0; i < want[b].length; i++) {
                assertThat(got[b][i]).as("sequence %d dim %d", b, i).isCloseTo(want[b][i], within(2e-6f));
            }
        }
        assertThat(bb.tokens()).isEqualTo(15);
        assertThat(bb.offset(2)).isEqualTo(6);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gelu", "gelu_tanh"})
    void everyLayersGradientMatchesFiniteDifferences(String act) {
        BertModel m = tiny(act);
        Random rnd = new Random(11);
        List<int[]> s = seqs(rnd, 20, 6, 3, 8);
        float[][] r = directions(rnd, s.size(), m.config().hiddenSize());
        BertBackward bb = new BertBackward(m);
        bb.forward(s, Parallel.serial());
        float[][] dh = gradients(bb, r, Parallel.serial());
        int f = m.config().intermediateSize();
        int n = bb.tokens();
        float eps = 1e-2f;
        double largest = 0;
        for (int l = 0; l < m.config().numLayers(); l++) {
            assertThat(dh[l]).hasSize(n * f);
            for (int c = 0; c < 24; c++) {
                int tok = rnd.nextInt(n);
                int i = rnd.nextInt(f);
                double fd = (objective(m, s, r, l, tok, i, eps) - objective(m, s, r, l, tok, i, -eps)) / (2 * eps);
                double got = dh[l][tok * f + i];
                assertThat(got).as("layer %d token %d neuron %d", l, tok, i)
                        .isCloseTo(fd, within(2e-3 + 0.02 * Math.abs(fd)));
                largest = Math.max(largest, Math.abs(fd));
            }
        }
        assertThat(largest).as("the objective depends on h").isGreaterThan(0.05);
    }

    @Test
    void gradientsDoNotDependOnTheThreadCountAndAreLinearInTheDirection() {
        BertModel m = tiny("gelu");
        Random rnd = new Random(5);
        List<int[]> s = seqs(rnd, 20, 7, 16, 2, 11);
        float[][] r = directions(rnd, s.size(), m.config().hiddenSize());
        BertBackward one = new BertBackward(m);
        one.forward(s, Parallel.serial());
        float[][] a = gradients(one, r, Parallel.serial());
        try (Parallel par = new Parallel(3)) {
            BertBackward three = new BertBackward(m);
            three.forward(s, par);
            assertThat(gradients(three, r, par)).isDeepEqualTo(a);
            // F is linear in r: the gradient for 2r is twice the gradient for r
            float[][] r2 = new float[r.length][];
            for (int b = 0; b < r.length; b++) {
                r2[b] = r[b].clone();
                for (int i = 0; i < r2[b].length; i++) {
                    r2[b][i] *= 2;
                }
            }
            float[][] twice = gradients(three, r2, par);
            for (int l = 0; l < a.length; l++) {
                for (int i = 0; i < a[l].length; i++) {
                    assertThat(twice[l][i]).isCloseTo(2 * a[l][i], within(1e-6f + 1e-5f * Math.abs(a[l][i])));
                }
            }
        }
    }

    @Test
    void realMiniLmForwardAndGradientMatch() {
        MiniLmFixture fx = MiniLmFixture.get();
        BertModel m = fx.model;
        List<int[]> s = List.of(fx.ids("Sparse activations save work."), fx.ids("The cat sat on the mat."));
        float[][] want = m.sentenceEmbeddings(BertModel.Batch.of(s), Parallel.serial());
        BertBackward bb = new BertBackward(m);
        float[][] got = bb.forward(s, Parallel.serial());
        for (int b = 0; b < s.size(); b++) {
            for (int i = 0; i < want[b].length; i++) {
                assertThat(got[b][i]).isCloseTo(want[b][i], within(1e-5f));
            }
        }
        Random rnd = new Random(2);
        float[][] r = directions(rnd, s.size(), m.config().hiddenSize());
        float[][] dh = gradients(bb, r, Parallel.serial());
        int f = m.config().intermediateSize();
        for (int l : new int[]{0, 5}) {
            // the neurons with the largest gradient at a few tokens: well above float noise
            for (int tok : new int[]{1, bb.tokens() - 2}) {
                int best = 0;
                for (int i = 1; i < f; i++) {
                    if (Math.abs(dh[l][tok * f + i]) > Math.abs(dh[l][tok * f + best])) {
                        best = i;
                    }
                }
                float eps = 2e-2f;
                double fd = (objective(m, s, r, l, tok, best, eps) - objective(m, s, r, l, tok, best, -eps))
                        / (2 * eps);
                assertThat((double) dh[l][tok * f + best]).as("layer %d token %d neuron %d", l, tok, best)
                        .isCloseTo(fd, within(1e-4 + 0.03 * Math.abs(fd)));
            }
        }
    }
}
