package dev.sparsa.profile.metric;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The four scores and the per-token selection on a hand-computed token. */
class AttributionTest {
    // h and g = ∂L/∂h of one token of a layer with 3 neurons
    static final float[] H = {1f, -2f, 0.5f};
    static final float[] G = {0.1f, 0.2f, -0.4f};

    @Test
    void scoresAreTheHandComputedOnes() {
        float[] out = new float[3];
        Attribution.scores(Attribution.Score.MAGNITUDE, H, G, 0, 3, out, 0);
        assertThat(out).containsExactly(1f, 2f, 0.5f);
        Attribution.scores(Attribution.Score.GXO, H, G, 0, 3, out, 0);        // x·∂F/∂x = −h·g
        assertThat(out).containsExactly(new float[]{-0.1f, 0.4f, 0.2f}, within(1e-7f));
        Attribution.scores(Attribution.Score.SNIP, H, G, 0, 3, out, 0);
        assertThat(out).containsExactly(new float[]{0.1f, 0.4f, 0.2f}, within(1e-7f));
        // ‖g‖ = √0.21 = 0.4582576; C = ½|h|‖g‖ = 0.2291288, 0.4582576, 0.1145644
        Attribution.scores(Attribution.Score.COR_GXO, H, G, 0, 3, out, 0);
        assertThat(out).containsExactly(new float[]{0.1291288f, 0.8582576f, 0.3145644f}, within(1e-6f));
    }

    @Test
    void vectorScoresAreTheHandComputedOnes() {
        float[] sq = {4f, 0.25f, 1f};                 // ‖∂e/∂h_i‖²: 2, 0.5, 1
        float[] out = new float[3];
        Attribution.vectorScores(Attribution.Score.MAGNITUDE, H, sq, 0, 3, 9, out, 0);
        assertThat(out).containsExactly(1f, 2f, 0.5f);
        Attribution.vectorScores(Attribution.Score.SNIP, H, sq, 0, 3, 9, out, 0);       // |h|·√sq
        assertThat(out).containsExactly(new float[]{2f, 1f, 0.5f}, within(1e-7f));
        Attribution.vectorScores(Attribution.Score.COR_GXO, H, sq, 0, 3, 9, out, 0);    // + ½|h|·√9
        assertThat(out).containsExactly(new float[]{3.5f, 4f, 1.25f}, within(1e-6f));
        assertThatThrownBy(() -> Attribution.vectorScores(Attribution.Score.GXO, H, sq, 0, 3, 9, out, 0))
                .hasMessageContaining("gxo is signed");
    }

    @Test
    void selectionDropsTheLowestOfEachToken() {
        float[] two = {3f, 1f, 2f, /* second token */ -1f, 5f, 0f};
        boolean[] keep = new boolean[6];
        assertThat(Attribution.keepTop(two, 0, 3, 0.34, keep)).isEqualTo(1);
        assertThat(Attribution.keepTop(two, 3, 3, 0.7, keep)).isEqualTo(2);
        assertThat(keep).containsExactly(true, false, true, false, true, false);
        assertThat(Attribution.keepTop(two, 0, 3, 0, keep)).isZero();
        // ties go to the lower index first
        float[] tie = {1f, 1f, 1f};
        boolean[] k = new boolean[3];
        Attribution.keepTop(tie, 0, 3, 0.5, k);
        assertThat(k).containsExactly(false, true, true);
        assertThat(Attribution.Score.of("cor-gxo")).isEqualTo(Attribution.Score.COR_GXO);
    }
}
