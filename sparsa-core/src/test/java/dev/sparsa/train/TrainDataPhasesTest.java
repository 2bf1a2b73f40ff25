package dev.sparsa.train;

import dev.sparsa.SparsaException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link TrainData#phases}: phase after phase, each chunk of a phase {@code repeats} times, resumable. */
class TrainDataPhasesTest {

    // stream k holds ids 1000·k + position, so a chunk tells where it came from
    static int[] stream(int k, int len) {
        int[] s = new int[len];
        for (int i = 0; i < len; i++) {
            s[i] = 1000 * k + i;
        }
        return s;
    }

    @Test
    void phasesComeInOrderEachChunkRepeatsTimesNeverCrossingABoundary() {
        int t = 4;
        TrainData d = TrainData.phases("genres", List.of(stream(0, 13), stream(1, 9), stream(2, 21)), t, 2, 7);
        // chunks: (13−1)/4 = 3, (9−1)/4 = 2, (21−1)/4 = 5; times 2 repeats
        assertThat(d.chunks()).isEqualTo(20);
        assertThat(d.phaseCount()).isEqualTo(3);
        assertThat(List.of(d.phaseStart(0), d.phaseStart(1), d.phaseStart(2), d.phaseStart(3)))
                .containsExactly(0, 6, 10, 20);
        int[] batch = new int[t + 1];
        List<Integer> firstIds = new ArrayList<>();
        for (int c = 0; c < 20; c++) {
            d.next(1, batch, 0);
            int phase = batch[0] / 1000;
            assertThat(phase).as("chunk %d", c).isEqualTo(c < 6 ? 0 : c < 10 ? 1 : 2);
            for (int i = 0; i < t + 1; i++) {
                assertThat(batch[i]).as("one stream per chunk").isEqualTo(batch[0] + i);
            }
            assertThat(batch[0] % 1000 % t).isZero();
            firstIds.add(batch[0]);
        }
        for (int phase = 0; phase < 3; phase++) {
            for (int c = 0; c < new int[]{3, 2, 5}[phase]; c++) {
                assertThat(Collections.frequency(firstIds, 1000 * phase + c * t)).isEqualTo(2);
            }
        }
        // the position alone resumes the stream
        TrainData.Position at = d.position();
        int[] a = new int[3 * (t + 1)];
        d.next(3, a, 0);
        TrainData e = TrainData.phases("genres", List.of(stream(0, 13), stream(1, 9), stream(2, 21)), t, 2, 7);
        e.seek(at);
        int[] b = new int[3 * (t + 1)];
        e.next(3, b, 0);
        assertThat(b).isEqualTo(a);
        assertThat(a[0] / 1000).as("a new epoch starts with phase 0 again").isZero();
    }

    @Test
    void aShortPhaseIsAUsageError() {
        assertThatThrownBy(() -> TrainData.phases("genres", List.of(stream(0, 13), stream(1, 4)), 4, 1, 1))
                .isInstanceOf(SparsaException.UsageException.class)
                .hasMessage("genres: phase 1 has 4 tokens, shorter than one training window of 5 tokens (--seq 4 + 1)");
        assertThatThrownBy(() -> TrainData.phases("genres", List.of(stream(0, 13)), 4, 0, 1))
                .hasMessageContaining("repeats");
    }

    @Test
    void anOrdinaryStreamIsUnchanged() {
        // the single-stream order is still the permutation of seed + epoch over chunk indices
        TrainData d = new TrainData("x", stream(0, 41), 4, 3);
        assertThat(d.phaseCount()).isEqualTo(1);
        assertThat(d.phaseStart(1)).isEqualTo(10);
        int[] batch = new int[5];
        List<Integer> seen = new ArrayList<>();
        for (int c = 0; c < 10; c++) {
            d.next(1, batch, 0);
            seen.add(batch[0] / 4);
        }
        assertThat(seen).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    }
}
