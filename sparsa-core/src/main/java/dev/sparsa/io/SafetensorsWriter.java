package dev.sparsa.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparsa.SparsaException;
import dev.sparsa.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a safetensors file atomically: tensors in the given order, packed back to back, and an optional
 * {@code __metadata__} string map. As the Hugging Face writer does, the JSON header is padded with spaces so that
 * 8 + N is a multiple of 8 (the data section starts 8-byte aligned). Only F32/F16/BF16 tensors can be stored.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long CHUNK = 1L << 22;

    private SafetensorsWriter() {
    }

    public static void write(Path out, List<Tensor> tensors, Map<String, String> metadata) {
        byte[] header = header(tensors, metadata);
        AtomicFile.write(out, ch -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            writeFully(ch, len);
            writeFully(ch, ByteBuffer.wrap(header));
            for (Tensor t : tensors) {
                writeSegment(ch, t.data());
            }
        });
    }

    /** The padded JSON header (without the 8-byte length). */
    static byte[] header(List<Tensor> tensors, Map<String, String> metadata) {
        ObjectNode root = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = root.putObject(SafetensorsFile.METADATA_KEY);
            metadata.forEach(m::put);
        }
        Set<String> seen = new HashSet<>();
        long off = 0;
        for (Tensor t : tensors) {
            if (t.name().equals(SafetensorsFile.METADATA_KEY) || !seen.add(t.name())) {
                throw new SparsaException.UsageException("safetensors: duplicate or reserved tensor name "
                        + t.name());
            }
            ObjectNode e = root.putObject(t.name());
            e.put("dtype", SafetensorsFile.dtypeName(t.dtype()));
            ArrayNode sh = e.putArray("shape");
            for (int d : t.shape()) {
                sh.add(d);
            }
            long n = t.data().byteSize();
            e.putArray("data_offsets").add(off).add(off + n);
            off += n;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new SparsaException("safetensors: cannot encode header: " + e.getMessage(), e);
        }
        int pad = (8 - json.length % 8) % 8;
        byte[] padded = new byte[json.length + pad];
        System.arraycopy(json, 0, padded, 0, json.length);
        for (int i = json.length; i < padded.length; i++) {
            padded[i] = ' ';
        }
        return padded;
    }

    /** Writes all bytes of {@code seg} (heap or mapped), in chunks that fit a ByteBuffer. */
    static void writeSegment(FileChannel ch, MemorySegment seg) throws IOException {
        // Copy through a direct buffer: works for mapped, native and any heap segment (asByteBuffer does not).
        long size = seg.byteSize();
        ByteBuffer buf = ByteBuffer.allocateDirect((int) Math.min(CHUNK, Math.max(size, 1)));
        MemorySegment bufSeg = MemorySegment.ofBuffer(buf);
        for (long pos = 0; pos < size; pos += buf.capacity()) {
            int n = (int) Math.min(buf.capacity(), size - pos);
            MemorySegment.copy(seg, pos, bufSeg, 0, n);
            buf.clear().limit(n);
            writeFully(ch, buf);
        }
    }

    static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }
}
