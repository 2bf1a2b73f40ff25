package dev.sparsa.io.onnx;

import dev.sparsa.SparsaException.FormatException;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

public class OnnxModelTest {

    /** A two-node graph: y = Relu(MatMul(x, W)), with W as raw_data, b as float_data, shape as int64_data. */
    public static byte[] tinyModel() {
        ProtoWriter w = ProtoWriter.tensor("W", OnnxModel.FLOAT, new long[]{2, 3},
                ProtoWriter.le(1, 2, 3, 4, 5, 6));
        ProtoWriter b = new ProtoWriter().packed(1, 3).varint(2, OnnxModel.FLOAT).string(8, "b")
                .packedFloats(4, 0.5f, -0.5f, 1.5f);
        ProtoWriter shape = new ProtoWriter().varint(1, 2).varint(2, OnnxModel.INT64).string(8, "shape")
                .packed(7, 1, -3 & 0xffffffffffffffffL);
        ProtoWriter mm = new ProtoWriter().string(1, "x").string(1, "W").string(2, "xw").string(3, "mm")
                .string(4, "MatMul");
        ProtoWriter attrAlpha = new ProtoWriter().string(1, "alpha").f32(2, 0.25f).varint(20, 1);
        ProtoWriter attrPerm = new ProtoWriter().string(1, "perm").packed(8, 1, 0).varint(20, 7);
        ProtoWriter attrT = new ProtoWriter().string(1, "value").message(5,
                ProtoWriter.tensor("", OnnxModel.FLOAT, new long[0], ProtoWriter.le(2f))).varint(20, 4);
        ProtoWriter relu = new ProtoWriter().string(1, "xw").string(2, "y").string(3, "act").string(4, "LeakyRelu")
                .message(5, attrAlpha).message(5, attrPerm).message(5, attrT);
        ProtoWriter dim = new ProtoWriter().string(2, "batch");
        ProtoWriter dim2 = new ProtoWriter().varint(1, 2);
        ProtoWriter tshape = new ProtoWriter().message(1, dim).message(1, dim2);
        ProtoWriter type = new ProtoWriter().message(1, new ProtoWriter().varint(1, 1).message(2, tshape));
        ProtoWriter in = new ProtoWriter().string(1, "x").message(2, type);
        ProtoWriter out = new ProtoWriter().string(1, "y");
        ProtoWriter graph = new ProtoWriter().message(1, mm).message(1, relu).string(2, "g")
                .message(5, w).message(5, b).message(5, shape).message(11, in).message(12, out)
                .varint(99, 7); // an unknown field, skipped
        return new ProtoWriter().varint(1, 8).string(2, "test").message(8, new ProtoWriter().varint(2, 17))
                .message(7, graph).toByteArray();
    }

    @Test
    void readsInitializersNodesAttributesAndIo(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("tiny.onnx");
        Files.write(f, tinyModel());
        try (OnnxModel m = OnnxModel.open(f)) {
            assertThat(m.metadata()).containsEntry("ir_version", 8L).containsEntry("producer_name", "test")
                    .containsEntry("opset.ai.onnx", 17L);
            assertThat(m.names()).containsExactly("W", "b");
            Tensor w = m.tensor("W");
            assertThat(w.dtype()).isEqualTo(DType.F32);
            assertThat(w.shape()).containsExactly(2, 3);
            assertThat(Kernels.toFloats(w)).containsExactly(1, 2, 3, 4, 5, 6);
            assertThat(Kernels.toFloats(m.tensor("b"))).containsExactly(0.5f, -0.5f, 1.5f);
            assertThat(m.initializer("shape").longs()).containsExactly(1, -3);
            assertThat(m.contains("shape")).isFalse();
            assertThatThrownBy(() -> m.tensor("shape")).isInstanceOf(FormatException.class)
                    .hasMessageContaining("tiny.onnx").hasMessageContaining("INT64");
            assertThatThrownBy(() -> m.tensor("nope")).isInstanceOf(FormatException.class)
                    .hasMessageContaining("no initializer named 'nope'");

            assertThat(m.nodes()).hasSize(2);
            OnnxModel.Node mm = m.nodes().get(0);
            assertThat(mm.opType()).isEqualTo("MatMul");
            assertThat(mm.inputs()).containsExactly("x", "W");
            assertThat(mm.outputs()).containsExactly("xw");
            OnnxModel.Node act = m.nodes().get(1);
            assertThat(act.floatAttr("alpha", 0)).isEqualTo(0.25f);
            assertThat(act.attribute("perm").orElseThrow()).isInstanceOfSatisfying(OnnxModel.Attribute.Ints.class,
                    a -> assertThat(a.value()).containsExactly(1, 0));
            assertThat(act.attribute("value").orElseThrow()).isInstanceOfSatisfying(
                    OnnxModel.Attribute.TensorValue.class, a -> assertThat(a.value().floats()).containsExactly(2f));

            assertThat(m.inputs()).containsExactly(new OnnxModel.ValueInfo("x", 1, java.util.List.of("batch", "2")));
            assertThat(m.outputs()).extracting(OnnxModel.ValueInfo::name).containsExactly("y");
        }
    }

    @Test
    void malformedInputGivesOneLineErrorNamingTheFile() {
        byte[] good = tinyModel();
        // Truncated anywhere inside the graph: always a FormatException, never an index error or OOM.
        for (int cut : new int[]{1, 3, 10, good.length / 2, good.length - 1}) {
            byte[] b = Arrays.copyOf(good, cut);
            assertThatThrownBy(() -> OnnxModel.parse("cut.onnx", b)).isInstanceOf(FormatException.class)
                    .hasMessageStartingWith("cut.onnx: ");
        }
        byte[] truncatedVarint = new ProtoWriter().append((byte) 0x08, (byte) 0x80, (byte) 0x80).toByteArray();
        assertThatThrownBy(() -> OnnxModel.parse("v.onnx", truncatedVarint))
                .hasMessage("v.onnx: malformed protobuf at byte 1: truncated varint");
        byte[] longVarint = new byte[12];
        Arrays.fill(longVarint, (byte) 0xff);
        longVarint[0] = 0x08;
        assertThatThrownBy(() -> OnnxModel.parse("v.onnx", longVarint)).hasMessageContaining("longer than 10 bytes");
        ProtoWriter pastEnd = new ProtoWriter();
        pastEnd.tag(7, 2);
        pastEnd.raw(1L << 40);
        assertThatThrownBy(() -> OnnxModel.parse("len.onnx", pastEnd.toByteArray()))
                .isInstanceOf(FormatException.class).hasMessageContaining("len.onnx")
                .hasMessageContaining("runs past the end");
        // graph (field 7) written as a varint: wrong wire type
        byte[] wrongWire = new ProtoWriter().varint(7, 5).toByteArray();
        assertThatThrownBy(() -> OnnxModel.parse("w.onnx", wrongWire)).hasMessageContaining("w.onnx")
                .hasMessageContaining("wire type 0, expected 2");
        byte[] group = new ProtoWriter().append((byte) 0x0b).toByteArray();
        assertThatThrownBy(() -> OnnxModel.parse("g.onnx", group)).hasMessageContaining("unsupported wire type 3");
        assertThatThrownBy(() -> OnnxModel.parse("empty.onnx", new byte[0]))
                .hasMessage("empty.onnx: not an ONNX model: no graph (ModelProto field 7)");
        byte[] json = "{\"not\": \"onnx\"}".getBytes();
        assertThatThrownBy(() -> OnnxModel.parse("j.onnx", json)).isInstanceOf(FormatException.class)
                .hasMessageStartingWith("j.onnx: ");
    }

    @Test
    void randomCorruptionNeverCrashes() {
        // Flip bytes of a valid model: each result either parses or is a one-line FormatException naming the file.
        byte[] good = tinyModel();
        java.util.Random r = new java.util.Random(42);
        int rejected = 0;
        for (int trial = 0; trial < 3000; trial++) {
            byte[] b = good.clone();
            for (int k = 0; k <= trial % 3; k++) {
                b[r.nextInt(b.length)] = (byte) r.nextInt(256);
            }
            try (OnnxModel m = OnnxModel.parse("fuzz.onnx", b)) {
                for (String n : m.names()) {
                    m.tensor(n);
                }
                for (OnnxModel.OnnxTensor t : m.initializers().values()) {
                    t.toString();
                }
            } catch (FormatException e) {
                assertThat(e.getMessage()).startsWith("fuzz.onnx: ").doesNotContain("\n");
                rejected++;
            }
        }
        assertThat(rejected).isGreaterThan(100);
    }

    @Test
    void rejectsInconsistentAndExternalTensors() {
        ProtoWriter shortRaw = ProtoWriter.tensor("W", OnnxModel.FLOAT, new long[]{2, 3}, ProtoWriter.le(1, 2));
        assertThatThrownBy(() -> OnnxModel.parse("m.onnx", model(shortRaw)))
                .hasMessage("m.onnx: initializer 'W': raw_data has 8 bytes, FLOAT[2, 3] needs 24");
        ProtoWriter fewFloats = new ProtoWriter().varint(1, 4).varint(2, OnnxModel.FLOAT).string(8, "b")
                .packedFloats(4, 1f);
        assertThatThrownBy(() -> OnnxModel.parse("m.onnx", model(fewFloats)))
                .hasMessage("m.onnx: initializer 'b' has 1 values, FLOAT[4] needs 4");
        ProtoWriter ext = new ProtoWriter().varint(1, 4).varint(2, OnnxModel.FLOAT).string(8, "e")
                .message(13, new ProtoWriter().string(1, "location").string(2, "weights.bin")).varint(14, 1);
        assertThatThrownBy(() -> OnnxModel.parse("m.onnx", model(ext))).isInstanceOf(FormatException.class)
                .hasMessageStartingWith("m.onnx: initializer 'e' stores its data in an external file");
        ProtoWriter negative = ProtoWriter.tensor("n", OnnxModel.FLOAT, new long[]{-1}, new byte[0]);
        assertThatThrownBy(() -> OnnxModel.parse("m.onnx", model(negative)))
                .hasMessageContaining("negative dimension");
        ProtoWriter huge = ProtoWriter.tensor("h", OnnxModel.FLOAT, new long[]{1L << 40, 1L << 40}, new byte[0]);
        assertThatThrownBy(() -> OnnxModel.parse("m.onnx", model(huge))).hasMessageContaining("too many elements");
        assertThatThrownBy(() -> OnnxModel.open(Path.of("no-such-dir", "x.onnx")))
                .isInstanceOf(FormatException.class).hasMessageContaining("no such file");
    }

    private static byte[] model(ProtoWriter initializer) {
        return new ProtoWriter().message(7, new ProtoWriter().message(5, initializer)).toByteArray();
    }

    @Test
    void readsTheRealMiniLm() throws IOException {
        byte[] bytes;
        try (var in = OnnxModelTest.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
            assertThat(in).as("all-minilm-l6-v2.onnx on the test classpath").isNotNull();
            bytes = in.readAllBytes();
        }
        try (OnnxModel m = OnnxModel.parse("all-minilm-l6-v2.onnx", bytes)) {
            assertThat(m.inputs()).extracting(OnnxModel.ValueInfo::name)
                    .containsExactly("input_ids", "attention_mask", "token_type_ids");
            assertThat(m.outputs()).extracting(OnnxModel.ValueInfo::name).containsExactly("last_hidden_state");
            assertThat(m.tensor("embeddings.word_embeddings.weight").shape()).containsExactly(30522, 384);
            long matmuls = m.names().stream().filter(n -> n.startsWith("onnx::MatMul")).count();
            assertThat(matmuls).isEqualTo(36); // 6 layers × (Q, K, V, O, intermediate, output)
            assertThat(m.nodes().stream().filter(n -> n.opType().equals("Erf")).count()).isEqualTo(6);
        }
        for (int cut : new int[]{100, 1 << 20, bytes.length - 1}) {
            byte[] b = Arrays.copyOf(bytes, cut);
            assertThatThrownBy(() -> OnnxModel.parse("cut.onnx", b)).isInstanceOf(FormatException.class)
                    .hasMessageContaining("runs past the end");
        }
    }
}
