package dev.sparsa.experiment;

import dev.sparsa.SparsaException;
import dev.sparsa.io.onnx.OnnxModel;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.bert.BertBackward;
import dev.sparsa.model.bert.BertModel;
import dev.sparsa.model.bert.TinyBertOnnx;
import dev.sparsa.profile.metric.Attribution;
import dev.sparsa.tensor.Parallel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The encoder half of the attribution experiment on a tiny random BERT: the random-projection estimate of
 * ‖∂e/∂h_i‖² is exact at K = D (checked against finite differences of every embedding component), the sweep's
 * structure and ranges, and its refusals.
 */
class AttributionEncoderTest {

    static final BertModel M = BertModel.fromOnnx(OnnxModel.parse("tiny.onnx", TinyBertOnnx.build(7, "gelu", false)));

    static List<int[]> seqs(int... lens) {
        Random r = new Random(4);
        List<int[]> out = new ArrayList<>();
        for (int len : lens) {
            int[] s = new int[len];
            for (int i = 0; i < len; i++) {
                s[i] = r.nextInt(20);
            }
            out.add(s);
        }
        return out;
    }

    /** e_b of every sequence with h of (layer, token, neuron) moved by eps. */
    static float[][] embeddings(List<int[]> s, int layer, int tok, int neuron, float eps) {
        int f = M.config().intermediateSize();
        ActivationTap tap = (l, position, x, xOff, gate, act, h, off) -> {
            if (l == layer && off == tok * f) {
                h[off + neuron] += eps;
            }
        };
        float[][] hidden = M.forward(BertModel.Batch.of(s), tap, Parallel.serial());
        float[][] out = new float[s.size()][];
        for (int b = 0; b < s.size(); b++) {
            out[b] = BertModel.l2Normalize(BertModel.meanPool(hidden[b], null, M.config().hiddenSize()));
        }
        return out;
    }

    @Test
    void projectionEstimateIsTheJacobianColumnNormAtFullRank() {
        List<int[]> s = seqs(5, 7);
        int d = M.config().hiddenSize();
        int f = M.config().intermediateSize();
        int layers = M.config().numLayers();
        BertBackward bb = new BertBackward(M);
        bb.forward(s, Parallel.serial());
        int n = bb.tokens();
        float[][] sq = new float[layers][n * f];
        double[][] jf = new double[layers][n];
        AttributionExperiment.jacobianNorms(bb, 0, d, 9, sq, jf, Parallel.serial());
        float eps = 1e-2f;
        for (int l = 0; l < layers; l++) {
            for (int tok : new int[]{0, 6, 11}) {
                int b = tok < 5 ? 0 : 1;
                double rowSum = 0;
                for (int i = 0; i < f; i++) {
                    float[] plus = embeddings(s, l, tok, i, eps)[b];
                    float[] minus = embeddings(s, l, tok, i, -eps)[b];
                    double norm2 = 0;
                    for (int j = 0; j < d; j++) {
                        double dj = (plus[j] - minus[j]) / (2.0 * eps);
                        norm2 += dj * dj;
                    }
                    rowSum += norm2;
                    assertThat((double) sq[l][tok * f + i]).as("layer %d token %d neuron %d", l, tok, i)
                            .isCloseTo(norm2, within(1e-4 + 0.03 * norm2));
                }
                assertThat(jf[l][tok]).isCloseTo(rowSum, within(1e-4 + 0.03 * rowSum));
                assertThat(rowSum).isGreaterThan(1e-3);
            }
        }
    }

    @Test
    void directionsAreOrthonormal() {
        float[][] q = AttributionExperiment.orthonormal(5, 8, new Random(1));
        for (int a = 0; a < 5; a++) {
            for (int b = 0; b < 5; b++) {
                double dot = 0;
                for (int i = 0; i < 8; i++) {
                    dot += (double) q[a][i] * q[b][i];
                }
                assertThat(dot).isCloseTo(a == b ? 1 : 0, within(1e-6));
            }
        }
    }

    @Test
    void sweepAtZeroSparsityIsTheDenseEmbeddingAndCosinesFallWithSparsity() {
        List<Attribution.Score> scores = AttributionExperiment.encoderScores(Attribution.ALL);
        assertThat(scores).containsExactly(Attribution.Score.MAGNITUDE, Attribution.Score.SNIP,
                Attribution.Score.COR_GXO);
        List<int[]> s = seqs(6, 9, 3, 12, 5, 8, 7, 4, 10, 6);   // two batches
        AttributionResults.Sweep w = AttributionExperiment.encoder(M, s, scores, new double[]{0, 0.5, 0.9}, 4, 3,
                Parallel.serial(), msg -> { });
        assertThat(w.measure()).isEqualTo("embedding cosine");
        assertThat(w.dense()).isEqualTo(1.0);
        assertThat(w.deactivated()).containsExactly(0.0, 0.5, 14 / 16.0);
        for (int i = 0; i < scores.size(); i++) {
            assertThat(w.quality()[i][0]).isCloseTo(1.0, within(1e-6));
            for (int k = 0; k < 3; k++) {
                assertThat(w.quality()[i][k]).isBetween(-1.0, 1.0 + 1e-6);
                assertThat(w.delta()[i][k]).isCloseTo(w.quality()[i][k] - 1, within(1e-12));
            }
            assertThat(w.quality()[i][2]).isLessThan(w.quality()[i][1]);
        }
        // the same seed gives the same figures, on any thread count
        try (Parallel par = new Parallel(3)) {
            AttributionResults.Sweep again = AttributionExperiment.encoder(M, s, scores, new double[]{0, 0.5, 0.9},
                    4, 3, par, msg -> { });
            assertThat(again.quality()).isDeepEqualTo(w.quality());
        }
    }

    @Test
    void refusesGxoAndTooManyProjections() {
        List<int[]> s = seqs(4);
        assertThatThrownBy(() -> AttributionExperiment.encoder(M, s, List.of(Attribution.Score.GXO),
                new double[]{0.5}, 4, 1, Parallel.serial(), m -> { }))
                .isInstanceOf(SparsaException.UsageException.class).hasMessageContaining("gxo is signed");
        assertThatThrownBy(() -> AttributionExperiment.encoder(M, s, List.of(Attribution.Score.SNIP),
                new double[]{0.5}, 9, 1, Parallel.serial(), m -> { }))
                .isInstanceOf(SparsaException.UsageException.class)
                .hasMessage("--projections must be in [1, 8] (the embedding size), got 9");
    }
}
