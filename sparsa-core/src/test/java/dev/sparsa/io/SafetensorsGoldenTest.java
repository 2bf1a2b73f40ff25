package dev.sparsa.io;

import dev.sparsa.SparsaException;
import dev.sparsa.tensor.DType;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Reads ref.safetensors, written by the reference safetensors library (make_golden.py beside it). */
class SafetensorsGoldenTest {

    @Test
    void readsTheReferenceWriter() {
        try (SafetensorsFile f = SafetensorsFile.open(GgufGoldenTest.golden("ref.safetensors"))) {
            assertThat(f.metadata()).isEqualTo(Map.of("format", "np"));
            assertThat(f.names()).containsExactlyInAnyOrder("w", "h", "position_ids", "empty");
            assertThat(f.tensor("w").shape()).containsExactly(2, 3);
            assertThat(Quantize.row(f.tensor("w"), 1)).containsExactly(0.75f, 1f, 1.25f);
            assertThat(f.tensor("h").dtype()).isEqualTo(DType.F16);
            assertThat(Quantize.row(f.tensor("h"), 0)).containsExactly(1f, -2f, 0.5f);
            assertThat(f.tensor("empty").numel()).isZero();
            assertThat(f.entry("position_ids").dtype()).isEqualTo("I64");
            assertThat(f.entry("position_ids").bytes()).isEqualTo(32);
            assertThatThrownBy(() -> f.tensor("position_ids")).isInstanceOf(SparsaException.UnsupportedException.class);
        }
    }
}
