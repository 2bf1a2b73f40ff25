package dev.sparsa.experiment.cl;

import dev.sparsa.SparsaException;
import dev.sparsa.spec.ModelConfig;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The metrics of a hand-made accuracy matrix, the FLOP count of a tiny config by hand, and the task sequence's
 * parsing and one-line errors.
 */
class ClMetricsTest {

    @Test
    void metricsOfAHandMadeMatrix() {
        double[][] r = {
                {2.0, 3.0, 3.5},
                {2.4, 2.2, 3.1},
                {2.6, 2.5, 2.1}};
        ClMetrics m = ClMetrics.of(r, new double[]{4, 4, 4});
        assertThat(m.averageFinal()).isCloseTo((2.6 + 2.5 + 2.1) / 3, within(1e-12));
        // f_0 = 2.6 − min(2.0, 2.4), f_1 = 2.5 − 2.2
        assertThat(m.forgetting()).containsExactly(new double[]{0.6, 0.3}, within(1e-12));
        assertThat(m.averageForgetting()).isCloseTo(0.45, within(1e-12));
        // BWT = ((2.0 − 2.6) + (2.2 − 2.5)) / 2
        assertThat(m.bwt()).isCloseTo(-0.45, within(1e-12));
        // FWT = ((4 − 3.0) + (4 − 3.1)) / 2
        assertThat(m.fwt()).isCloseTo(0.95, within(1e-12));
        ClMetrics joint = ClMetrics.of(new double[][]{{2, 3, 4}}, null);
        assertThat(joint.averageFinal()).isEqualTo(3);
        assertThat(joint.bwt()).isNull();
        assertThat(joint.forgetting()).isEmpty();
        // a forward-transfer-free, forgetting-free run
        ClMetrics still = ClMetrics.of(new double[][]{{1, 2}, {1, 1}}, new double[]{2, 2});
        assertThat(still.bwt()).isZero();
        assertThat(still.averageForgetting()).isZero();
        assertThat(still.fwt()).isZero();
    }

    @Test
    void flopsOfATinyConfigByHand() {
        // d 4, F 6, 1 layer, 2 heads of 2, 1 KV head, vocabulary 8; 1 sequence of 3 tokens
        ModelConfig c = new ModelConfig("llama", 4, 6, 1, 2, 1, 2, 8, 16, 1e-5f, 10000f, null, "relu", 0f, false,
                false, 0, 0, 0);
        // q 4×4, k 2×4, v 2×4, o 4×4, gate/up 6×4, down 4×6: 120 weights; n = 3 tokens
        long dense = 3 * 120 * 3                                              // forward, dx, dW
                + 3 * 8 * 4 * 3                                               // LM head
                + 3 * (2 * 2 * 2 * (1 + 2 + 3));                              // causal qkᵀ, pv ×(1 fwd + 2 bwd)
        assertThat(dense).isEqualTo(1512);
        assertThat(Flops.trainStep(c, 1, 3, w -> -1, w -> -1)).isEqualTo(dense);
        String gate = "model.layers.0.mlp.gate_proj.weight";
        long masked = dense - 3 * 24 * 3 + (2 * 10 * 3 + 5 * 3);              // gate: 10 non-zeros, 5 gradients
        assertThat(Flops.trainStep(c, 1, 3, w -> w.equals(gate) ? 10 : -1, w -> w.equals(gate) ? 5 : -1))
                .isEqualTo(masked);
        assertThat(Flops.forward(c, 1, 3, w -> -1)).isEqualTo(120 * 3 + 8 * 4 * 3 + 2 * 2 * 2 * 6);
        assertThat(Flops.linears(c)).hasSize(7);
    }

    @Test
    void taskSequencesAndTheirErrors() {
        List<TaskSequence.Spec> d = TaskSequence.parse(TaskSequence.DEFAULT);
        assertThat(d).extracting(TaskSequence.Spec::name).containsExactly("press", "general", "learned", "fiction");
        assertThat(d.stream().mapToInt(s -> s.genres().size()).sum()).as("all 15 genres, once").isEqualTo(15);
        assertThat(TaskSequence.parse(List.of("a+b", "j")).getFirst().genreLetters()).isEqualTo("a+b");
        assertThat(TaskSequence.parse(List.of("m+k", "ca")).get(1).name()).isEqualTo("a");
        assertThatThrownBy(() -> TaskSequence.parse(List.of("press", "x")))
                .isInstanceOf(SparsaException.UsageException.class).hasMessageContaining("unknown Brown genre 'x'");
        assertThatThrownBy(() -> TaskSequence.parse(List.of("press", "a+j")))
                .hasMessageContaining("genre a").hasMessageContaining("task 1 and task 2");
        assertThatThrownBy(() -> TaskSequence.parse(List.of("press", "m+r")))
                .hasMessageContaining("no validation documents");
        assertThatThrownBy(() -> TaskSequence.parse(List.of("press", " ")))
                .hasMessageContaining("task 2 is empty");
        assertThatThrownBy(() -> TaskSequence.parse(List.of("press"))).hasMessageContaining("at least 2 tasks");
        assertThatThrownBy(() -> TaskSequence.parse(List.of("press", "fictions")))
                .hasMessageContaining("unknown task group or genre 'fictions'");
    }
}
