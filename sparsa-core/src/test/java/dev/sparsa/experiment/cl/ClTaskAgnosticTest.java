package dev.sparsa.experiment.cl;

import dev.sparsa.train.method.ClTiny;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * CLNP's two evaluations on a 3-task sequence of the tiny ReLU Llama: task-aware (task j with the neurons of tasks
 * ≤ j) and task-agnostic (every task with all the claimed neurons). They coincide where the two networks are the
 * same — the whole first row (only task 0's neurons exist), and every task not yet finished or just finished (j ≥
 * stage: the neurons of tasks ≤ j are all the claimed ones) — and differ for the earlier tasks, which see the later
 * tasks' neurons without the task's identity (forgetting through interference; task-aware forgetting is 0 by
 * construction); the baselines and SparCL have one network per stage, so no second matrix.
 */
class ClTaskAgnosticTest {
    @TempDir
    Path tmp;

    @Test
    void awareAndAgnosticCoincideWhereTheNetworksAreTheSameAndDifferForEarlierTasks() {
        ClResults res = ClExperimentResumeTest.run("clnp", ClTiny.CFG, ClExperimentResumeTest.options(0.01f, false),
                tmp.resolve("clnp"), new ClExperimentResumeTest.Killer("", "", -1));
        ClResults.Run c = res.runs().get(3);
        double[][] aware = c.bitsPerByte();
        double[][] agn = c.agnosticBitsPerByte();
        assertThat(agn).hasDimensions(3, 3);
        assertThat(agn[0]).as("after the first task: one network").containsExactly(aware[0]);
        int differ = 0;
        for (int s = 0; s < 3; s++) {
            for (int j = 0; j < 3; j++) {
                assertThat(Double.isFinite(agn[s][j])).isTrue();
                if (j >= s) {
                    assertThat(agn[s][j]).as("R[%d][%d]: the neurons of tasks ≤ %d are all claimed", s, j, j)
                            .isEqualTo(aware[s][j]);
                } else if (agn[s][j] != aware[s][j]) {
                    differ++;
                }
            }
        }
        assertThat(differ).as("earlier tasks without their identity see the later neurons: (1,0), (2,0), (2,1)")
                .isEqualTo(3);
        assertThat(c.metrics().averageForgetting()).as("task-aware: isolated").isZero();
        assertThat(c.agnosticMetrics().averageFinal()).isEqualTo(ClMetrics.of(agn, res.startBitsPerByte())
                .averageFinal());
        assertThat(c.agnosticMetrics().averageForgetting()).isNotZero();
        for (int k = 0; k < 3; k++) {
            assertThat(res.runs().get(k).agnosticBitsPerByte()).as(res.runs().get(k).id()).isNull();
            assertThat(res.runs().get(k).agnosticMetrics()).isNull();
        }
    }
}
