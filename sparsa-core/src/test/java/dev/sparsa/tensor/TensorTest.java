package dev.sparsa.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TensorTest {

    /** Mapped and allocated weights reach the kernels through one segment class (monomorphic), same scope. */
    @Test
    void offHeapTensorsShareOneSegmentClassAndKeepTheirScope(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("w.bin");
        float[] v = {1f, 2f, 3f, 4f};
        MemorySegment heap = MemorySegment.ofArray(new byte[16]);
        MemorySegment.copy(v, 0, heap, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, 4);
        Files.write(f, heap.toArray(ValueLayout.JAVA_BYTE));
        Arena arena = Arena.ofShared();
        MemorySegment mapped;
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, 16, arena);
        }
        Tensor m = new Tensor("m", DType.F32, new int[] {2, 2}, mapped);
        Tensor a = new Tensor("a", DType.F32, new int[] {2, 2}, arena.allocate(16, 64));
        assertThat(m.data().getClass()).isEqualTo(a.data().getClass());
        assertThat(m.data().isReadOnly()).isTrue();
        assertThat(m.data().address()).isEqualTo(mapped.address());
        assertThat(Kernels.toFloats(m)).containsExactly(v);
        Tensor h = new Tensor("h", DType.F32, new int[] {2, 2}, heap);
        assertThat(h.data()).isSameAs(heap);
        arena.close();
        assertThatThrownBy(() -> Kernels.toFloats(m)).isInstanceOf(IllegalStateException.class);
    }
}
