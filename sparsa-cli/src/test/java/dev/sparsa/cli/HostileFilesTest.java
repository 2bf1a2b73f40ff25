package dev.sparsa.cli;

import dev.sparsa.io.ConfigJson;
import dev.sparsa.io.RawGguf;
import dev.sparsa.io.SafetensorsWriter;
import dev.sparsa.io.TinyModels;
import dev.sparsa.model.bert.TinyBertOnnx;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Tensor;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hostile files through the CLI, in-process: each must end with a non-zero exit code and exactly one line on
 * stderr that names the offending file and the problem — no stack trace, no exception escaping.
 */
class HostileFilesTest {
    @TempDir
    static Path tmp;

    /** One hostile case: the command to run, the file the message must name and what it must say. */
    record Case(String name, String[] args, String file, String problem) {
    }

    private static final ModelConfig C = TinyModels.llama();
    private static int counter;

    /** A fresh directory with a valid config.json. */
    private static Path dirWithConfig() {
        Path d = tmp.resolve("case" + counter++);
        try {
            Files.createDirectories(d);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        ConfigJson.write(C, d.resolve("config.json"));
        return d;
    }

    private static Path write(Path p, byte[] b) throws IOException {
        Files.write(p, b);
        return p;
    }

    private static Path write(Path p, String s) throws IOException {
        Files.writeString(p, s);
        return p;
    }

    /** A safetensors file with this raw header and data size. */
    private static byte[] st(String header, int data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        return b.array();
    }

    private static Case inspect(String name, Path model, String file, String problem) {
        return new Case(name, new String[]{"inspect", "--model", model.toString()}, file, problem);
    }

    private static Case embed(String name, Path model, String file, String problem) {
        return new Case(name, new String[]{"embed", "--model", model.toString(), "--ids", "1 2 3"}, file, problem);
    }

    private static Case safetensorsCase(String name, byte[] bytes, String problem) throws IOException {
        Path d = dirWithConfig();
        write(d.resolve("model.safetensors"), bytes);
        return inspect(name, d, "model.safetensors", problem);
    }

    private static Case ggufCase(String name, RawGguf g, String problem) throws IOException {
        Path p = tmp.resolve(name.replace(' ', '_') + ".gguf");
        g.write(p);
        return inspect(name, p, p.getFileName().toString(), problem);
    }

    static List<Case> cases() throws IOException {
        List<Case> cs = new ArrayList<>();
        String ok = "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
        cs.add(safetensorsCase("truncated header", new byte[]{5, 0, 0}, "truncated"));
        cs.add(safetensorsCase("header length beyond file",
                ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(4096).array(), "runs past the end"));
        cs.add(safetensorsCase("header over 100 MB",
                ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(101L << 20).array(), "exceeds"));
        cs.add(safetensorsCase("header not JSON", st("{not json", 0), "not valid JSON"));
        cs.add(safetensorsCase("overlapping offsets",
                st(ok + ",\"u\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), "overlap"));
        cs.add(safetensorsCase("offsets out of range", st(ok + "}", 4), "run past the data section"));
        cs.add(safetensorsCase("dtype shape bytes mismatch",
                st("{\"t\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "needs 4 bytes"));
        cs.add(safetensorsCase("unknown dtype",
                st("{\"t\":{\"dtype\":\"F12\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "unknown dtype 'F12'"));
        cs.add(safetensorsCase("negative shape",
                st("{\"t\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8), "shape[0] = -2"));
        cs.add(ggufCase("bad magic", new RawGguf().u32(0x67676d6c).u32(3).u64(0).u64(0), "bad magic"));
        cs.add(ggufCase("bad version", new RawGguf().header(7, 0, 0), "unsupported GGUF version 7"));
        cs.add(ggufCase("unknown ggml type",
                new RawGguf().header(3, 1, 0).tensorInfo("blk.0.ffn_up.weight", 77, 0, 256).align(32).bytes(210),
                "unknown ggml type 77"));
        cs.add(ggufCase("absurd tensor count", new RawGguf().header(3, Long.MAX_VALUE, 0), "tensor count"));
        cs.add(ggufCase("absurd kv count", new RawGguf().header(3, 0, 1L << 60), "metadata count"));
        cs.add(ggufCase("string length beyond file",
                new RawGguf().header(3, 0, 1).str("general.name").u32(8).u64(1L << 40).bytes(8), "truncated"));
        cs.add(ggufCase("array length beyond file",
                new RawGguf().header(3, 0, 1).str("tokenizer.ggml.tokens").u32(9).u32(8).u64(1L << 33).bytes(8),
                "runs past the end of the file"));
        cs.add(ggufCase("tensor data beyond file",
                new RawGguf().header(3, 1, 0).tensorInfo("token_embd.weight", 0, 0, 64, 40).align(32).bytes(64),
                "runs past the end of the file"));
        cs.add(ggufCase("overlapping tensors", new RawGguf().header(3, 2, 0).tensorInfo("a", 0, 0, 32)
                .tensorInfo("b", 0, 64, 32).align(32).bytes(256), "overlaps"));
        cs.add(ggufCase("too many dims",
                new RawGguf().header(3, 1, 0).tensorInfo("a", 0, 0, 1, 1, 1, 1, 1, 1).align(32).bytes(4), "6 dims"));
        cs.add(ggufCase("no architecture", new RawGguf().header(3, 0, 1).str("general.name").u32(8).str("x"),
                "missing metadata general.architecture"));
        cs.add(ggufCase("unsupported architecture",
                new RawGguf().header(3, 0, 1).str("general.architecture").u32(8).str("mamba"),
                "unsupported general.architecture 'mamba'"));
        Path bad = tmp.resolve("badcfg");
        Files.createDirectories(bad);
        write(bad.resolve("config.json"), "{\"model_type\": \"llama\", ");
        cs.add(inspect("malformed config.json", bad, "config.json", "not valid JSON"));
        Path unk = tmp.resolve("unkcfg");
        Files.createDirectories(unk);
        write(unk.resolve("config.json"), "{\"model_type\":\"mamba\",\"hidden_size\":4}");
        cs.add(inspect("unknown model_type", unk, "config.json", "unsupported model_type 'mamba'"));
        Path miss = tmp.resolve("missfield");
        Files.createDirectories(miss);
        write(miss.resolve("config.json"), "{\"model_type\":\"llama\",\"hidden_size\":64,\"intermediate_size\":96,"
                + "\"num_hidden_layers\":2,\"vocab_size\":40}");
        cs.add(inspect("config missing a field", miss, "config.json", "missing field num_attention_heads"));
        Path typed = tmp.resolve("typedfield");
        Files.createDirectories(typed);
        write(typed.resolve("config.json"), "{\"model_type\":\"llama\",\"hidden_size\":\"64\"}");
        cs.add(inspect("config ill-typed field", typed, "config.json", "field hidden_size must be a positive integer"));
        // A model whose tokenizer.json is not JSON: only convert reads it.
        Path tok = TinyModels.writeDir(tmp.resolve("badtok"), C, 1);
        write(tok.resolve("tokenizer.json"), "<html>not json</html>");
        cs.add(new Case("tokenizer.json not JSON", new String[]{"convert", "--model", tok.toString(), "--out",
                tmp.resolve("badtok.gguf").toString(), "--type", "q8_0"}, "tokenizer.json", "not valid JSON"));
        Path mt = dirWithConfig();
        SafetensorsWriter.write(mt.resolve("model.safetensors"), TinyModels.weights(C, 1).stream()
                .filter(t -> !t.name().equals("model.layers.1.mlp.up_proj.weight")).toList(), Map.of());
        cs.add(inspect("missing tensor", mt, mt.getFileName().toString(),
                "missing tensor model.layers.1.mlp.up_proj.weight"));
        Path shape = dirWithConfig();
        List<Tensor> ws = new ArrayList<>(TinyModels.weights(C, 1));
        ws.set(0, Tensor.f32("model.embed_tokens.weight", new float[64 * 39], 39, 64));
        SafetensorsWriter.write(shape.resolve("model.safetensors"), ws, Map.of());
        cs.add(inspect("tensor shape mismatch", shape, shape.getFileName().toString(),
                "model.embed_tokens.weight has shape [39, 64], config implies [40, 64]"));
        Path idx = dirWithConfig();
        write(idx.resolve("model.safetensors.index.json"),
                "{\"weight_map\":{\"model.embed_tokens.weight\":\"model-00001-of-00002.safetensors\"}}");
        cs.add(inspect("index points to a missing shard", idx, "model.safetensors.index.json",
                "shard 'model-00001-of-00002.safetensors' (holding model.embed_tokens.weight) does not exist"));
        Path idx2 = dirWithConfig();
        write(idx2.resolve("model.safetensors.index.json"), "{\"weight_map\": [1, 2");
        cs.add(inspect("index not JSON", idx2, "model.safetensors.index.json", "not valid JSON"));
        Path noWeights = dirWithConfig();
        cs.add(inspect("no weights", noWeights, noWeights.getFileName().toString(), "no model.safetensors"));
        Path txt = write(tmp.resolve("notes.txt"), "hello");
        cs.add(inspect("not a model", txt, "notes.txt", "not a model"));
        cs.add(inspect("no such path", tmp.resolve("nowhere"), "nowhere", "no such file or directory"));
        // ONNX: inspect lists the initializers of any ONNX file, embed needs a BERT encoder graph.
        byte[] bert = TinyBertOnnx.build(7, "gelu", false);
        Path cutOnnx = write(tmp.resolve("cut.onnx"), java.util.Arrays.copyOf(bert, bert.length / 2));
        cs.add(inspect("onnx truncated", cutOnnx, "cut.onnx", "malformed protobuf"));
        cs.add(embed("onnx truncated, embed", cutOnnx, "cut.onnx", "malformed protobuf"));
        Path textOnnx = write(tmp.resolve("text.onnx"), "hello, this is not protobuf");
        cs.add(inspect("onnx not protobuf", textOnnx, "text.onnx", "malformed protobuf"));
        Path emptyOnnx = write(tmp.resolve("empty.onnx"), new byte[0]);
        cs.add(inspect("onnx empty", emptyOnnx, "empty.onnx", "not an ONNX model: no graph"));
        cs.add(embed("onnx empty, embed", emptyOnnx, "empty.onnx", "not an ONNX model: no graph"));
        Path notBert = write(tmp.resolve("notbert.onnx"), TinyBertOnnx.build(7, "gelu", true));
        cs.add(embed("onnx not a BERT graph", notBert, "notbert.onnx",
                "not a BERT encoder graph: layer 1 output: no residual Add"));
        cs.add(inspect("onnx no such file", tmp.resolve("absent.onnx"), "absent.onnx", "no such file"));
        cs.add(embed("embed no such model", tmp.resolve("absent-dir"), "absent-dir", "no such file or directory"));
        cs.add(new Case("generate no such model", new String[]{"generate", "--model",
                tmp.resolve("absent.gguf").toString(), "--prompt-ids", "1"}, "absent.gguf", "no such file"));
        cs.add(new Case("convert no such model", new String[]{"convert", "--model",
                tmp.resolve("absent2.gguf").toString(), "--out", tmp.resolve("x.gguf").toString()}, "absent2.gguf",
                "no such file"));
        cs.add(new Case("generate an ONNX model", new String[]{"generate", "--model", notBert.toString(),
                "--prompt-ids", "1"}, "notbert.onnx", "an ONNX file is used only as a BERT encoder"));
        cs.add(embed("embed a llama model", TinyModels.writeDir(tmp.resolve("llama-for-embed"), C, 5),
                "model.safetensors", "a llama model, not a BERT encoder"));
        // Where convert cannot write.
        Path good = TinyModels.writeDir(tmp.resolve("conv"), C, 4);
        Path plain = write(tmp.resolve("plain.txt"), "x");
        cs.add(new Case("convert out under a file", new String[]{"convert", "--model", good.toString(), "--out",
                plain.resolve("m.gguf").toString()}, "plain.txt", "exists and is not a directory"));
        cs.add(new Case("convert out is a directory", new String[]{"convert", "--model", good.toString(), "--out",
                good.toString()}, "conv", "cannot write: it is a directory"));
        // A valid GGUF cut in the middle of its metadata.
        Path full = tmp.resolve("full.gguf");
        try (var m = dev.sparsa.io.ModelFiles.open(TinyModels.writeDir(tmp.resolve("good"), C, 2))) {
            dev.sparsa.io.GgufExport.write(m, full, dev.sparsa.tensor.DType.F32, null);
        }
        byte[] all = Files.readAllBytes(full);
        Path cut = write(tmp.resolve("cut.gguf"), java.util.Arrays.copyOf(all, 1000));
        cs.add(inspect("gguf truncated in metadata", cut, "cut.gguf", "truncated"));
        Path cut2 = write(tmp.resolve("cut2.gguf"), java.util.Arrays.copyOf(all, all.length - 100));
        cs.add(inspect("gguf truncated in data", cut2, "cut2.gguf", "runs past the end of the file"));
        // The same model with blk.0.ffn_up.weight's type patched from F32 to Q4_1 (smaller, so the layout stays
        // valid): inspect lists it, convert must refuse it naming the tensor and the type.
        byte[] q41 = all.clone();
        byte[] name = "blk.0.ffn_up.weight".getBytes(StandardCharsets.US_ASCII);
        int at = indexOf(q41, name) + name.length + 4 + 16;
        assertThat(q41[at]).isZero();
        q41[at] = 3;
        Path patched = write(tmp.resolve("q41.gguf"), q41);
        assertThat(CliRun.of("inspect", "--model", patched.toString()).out()).containsPattern("up_proj\\.weight +Q4_1");
        cs.add(new Case("unsupported ggml type", new String[]{"convert", "--model", patched.toString(), "--out",
                tmp.resolve("q41-out.gguf").toString()}, "q41.gguf",
                "tensor model.layers.0.mlp.up_proj.weight has unsupported dtype Q4_1"));
        return cs;
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new IllegalStateException("not found");
    }

    @TestFactory
    Stream<DynamicTest> everyHostileFileFailsWithOneLine() throws IOException {
        List<Case> cs = cases();
        assertThat(cs.size()).isGreaterThanOrEqualTo(20);
        return cs.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            CliRun r = CliRun.of(c.args());
            assertThat(r.code()).as("exit code; stderr: %s", r.err()).isNotZero();
            List<String> lines = r.err().lines().toList();
            assertThat(lines).as("stderr").hasSize(1);
            String line = lines.getFirst();
            assertThat(line).startsWith("sparsa: ").contains(c.file()).contains(c.problem())
                    .doesNotContain("internal error").doesNotContain("Exception");
        }));
    }

    @Test
    void inspectAndConvertHappyPath() throws IOException {
        Path d = TinyModels.writeDir(tmp.resolve("happy"), C, 3);
        CliRun text = CliRun.of("inspect", "--model", d.toString());
        assertThat(text.code()).as(text.err()).isZero();
        assertThat(text.out()).contains("format:  safetensors").contains("arch:    llama  hidden 64  ffn 96  layers 2")
                .containsPattern("model\\.layers\\.1\\.mlp\\.down_proj\\.weight +F32 +\\[64, 96] +24,576")
                .contains("21 tensors, 66,880 parameters, 267,520 bytes");
        CliRun json = CliRun.of("inspect", "--model", d.toString(), "--json");
        assertThat(json.code()).isZero();
        var tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.out());
        assertThat(tree.get("format").asText()).isEqualTo("safetensors");
        assertThat(tree.get("tensors").size()).isEqualTo(21);
        long params = 40 * 64 * 2 + 64 * 5 + 2 * (64 * 64 * 2 + 32 * 64 * 2 + 3 * 96 * 64);
        assertThat(tree.get("params").asLong()).isEqualTo(params);
        assertThat(tree.get("bytes").asLong()).isEqualTo(4 * params);
        assertThat(tree.get("config").get("numKvHeads").asInt()).isEqualTo(2);
        Path out = tmp.resolve("happy.gguf");
        CliRun conv = CliRun.of("convert", "--model", d.toString(), "--out", out.toString(), "--type", "q4_0");
        assertThat(conv.code()).as(conv.err()).isZero();
        assertThat(conv.err().lines().toList()).hasSize(21).allMatch(l -> l.startsWith("sparsa: convert ["));
        assertThat(conv.out()).startsWith("wrote " + out);
        CliRun g = CliRun.of("inspect", "--model", out.toString());
        assertThat(g.code()).as(g.err()).isZero();
        assertThat(g.out()).contains("format:  gguf").containsPattern("model\\.layers\\.0\\.mlp\\.up_proj\\.weight +Q4_0 +\\[96, 64] +3,456")
                .containsPattern("model\\.norm\\.weight +F32 +\\[64]");
        CliRun badType = CliRun.of("convert", "--model", d.toString(), "--out", out.toString(), "--type", "q3_k");
        assertThat(badType.code()).isNotZero();
        assertThat(badType.err().lines().toList()).containsExactly("sparsa: --type: unknown type 'q3_k' (expected f32,"
                + " f16, bf16, q8_0 or q4_0)");
    }
}
