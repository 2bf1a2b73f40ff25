package dev.sparsa.io;

import dev.sparsa.SparsaException;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.spec.RopeStyle;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LlamaGgufTest {
    @TempDir
    Path dir;

    @Test
    void permutationMatchesLlamaCppByHand() {
        // 2 heads × head dim 4: numpy reshape(2, 2, 2, ...).swapaxes(1, 2) takes HF rows [0 1 2 3 | 4 5 6 7] to
        // [0 2 1 3 | 4 6 5 7] (pair (i, i + d/2) becomes adjacent rows 2i, 2i+1).
        assertThat(LlamaGguf.rowPermutation(8, 2, true)).containsExactly(0, 2, 1, 3, 4, 6, 5, 7);
        // head dim 6: [0 1 2 | 3 4 5] → [0 3 1 4 2 5]
        assertThat(LlamaGguf.rowPermutation(6, 1, true)).containsExactly(0, 3, 1, 4, 2, 5);
        assertThat(LlamaGguf.rowPermutation(6, 1, false)).containsExactly(0, 2, 4, 1, 3, 5);
        int[] there = LlamaGguf.rowPermutation(64, 4, true);
        int[] back = LlamaGguf.rowPermutation(64, 4, false);
        for (int r = 0; r < 64; r++) {
            assertThat(there[back[r]]).isEqualTo(r);
        }
    }

    @Test
    void namesMapBothWays() {
        String[][] pairs = {
                {"model.embed_tokens.weight", "token_embd.weight"},
                {"model.norm.weight", "output_norm.weight"},
                {"lm_head.weight", "output.weight"},
                {"model.layers.0.input_layernorm.weight", "blk.0.attn_norm.weight"},
                {"model.layers.11.post_attention_layernorm.weight", "blk.11.ffn_norm.weight"},
                {"model.layers.3.self_attn.q_proj.weight", "blk.3.attn_q.weight"},
                {"model.layers.3.self_attn.k_proj.bias", "blk.3.attn_k.bias"},
                {"model.layers.3.self_attn.v_proj.weight", "blk.3.attn_v.weight"},
                {"model.layers.3.self_attn.o_proj.weight", "blk.3.attn_output.weight"},
                {"model.layers.3.mlp.gate_proj.weight", "blk.3.ffn_gate.weight"},
                {"model.layers.3.mlp.up_proj.weight", "blk.3.ffn_up.weight"},
                {"model.layers.3.mlp.down_proj.weight", "blk.3.ffn_down.weight"},
        };
        for (String[] p : pairs) {
            assertThat(LlamaGguf.toGguf(p[0])).isEqualTo(p[1]);
            assertThat(LlamaGguf.toHf(p[1])).isEqualTo(p[0]);
        }
        assertThat(LlamaGguf.toGguf("model.rotary_emb.inv_freq")).isNull();
        assertThat(LlamaGguf.toHf("rope_freqs.weight")).isNull();
    }

    private static float f(Tensor t, long i) {
        return t.data().get(ValueLayout.JAVA_FLOAT_UNALIGNED, 4 * i);
    }

    @Test
    void llamaRoundTripF32() {
        ModelConfig c = TinyModels.llama();
        Path src = TinyModels.writeDir(dir.resolve("hf"), c, 1);
        Path gguf = dir.resolve("m.gguf");
        List<String> log = new ArrayList<>();
        try (ModelFiles m = ModelFiles.open(src)) {
            assertThat(m.format()).isEqualTo("safetensors");
            assertThat(m.tokenizerJson()).isEqualTo(src.resolve("tokenizer.json"));
            GgufExport.write(m, gguf, DType.F32, log::add);
        }
        assertThat(log).hasSize(ModelFiles.decoderTensors(c).size());
        try (GgufFile g = GgufFile.open(gguf); SafetensorsFile st = SafetensorsFile.open(src.resolve("model.safetensors"))) {
            Map<String, Object> md = g.metadata();
            assertThat(md).containsEntry("general.architecture", "llama").containsEntry("llama.block_count", 2L)
                    .containsEntry("llama.attention.head_count_kv", 2L).containsEntry("llama.rope.dimension_count", 16L)
                    .containsEntry("general.file_type", 0L).containsEntry("tokenizer.ggml.model", "llama");
            assertThat(g.typedMetadata().get("llama.attention.layer_norm_rms_epsilon").type()).isEqualTo(GgufType.FLOAT32);
            // Raw GGUF rows are permuted: GGUF q row 1 (head 0, i 0, j 1) is HF row d/2 = 8; k likewise.
            Tensor gq = g.tensor("blk.0.attn_q.weight");
            Tensor hq = st.tensor("model.layers.0.self_attn.q_proj.weight");
            assertThat(gq.shape()).containsExactly(64, 64);
            assertThat(g.info("blk.0.attn_q.weight").ne()).containsExactly(64, 64);
            assertThat(g.info("blk.0.ffn_down.weight").ne()).containsExactly(96, 64);
            for (int col = 0; col < 64; col++) {
                assertThat(f(gq, 64 + col)).isEqualTo(f(hq, 8 * 64 + col));
                assertThat(f(gq, 2 * 64 + col)).isEqualTo(f(hq, 64 + col));
                assertThat(f(gq, 17 * 64 + col)).isEqualTo(f(hq, (16 + 8) * 64 + col));
            }
            // v is not permuted.
            Tensor gv = g.tensor("blk.1.attn_v.weight");
            Tensor hv = st.tensor("model.layers.1.self_attn.v_proj.weight");
            assertThat(gv.data().toArray(ValueLayout.JAVA_BYTE)).isEqualTo(hv.data().toArray(ValueLayout.JAVA_BYTE));
        }
        try (ModelFiles back = ModelFiles.open(gguf); SafetensorsFile st = SafetensorsFile.open(src.resolve("model.safetensors"))) {
            assertThat(back.format()).isEqualTo("gguf");
            assertThat(back.config()).isEqualTo(c);
            assertThat(back.ggufMetadata()).containsKey("tokenizer.ggml.tokens");
            assertThat(back.weights().names()).containsExactlyInAnyOrderElementsOf(st.names());
            assertThat(back.weights().ropeStyle()).isEqualTo(RopeStyle.INTERLEAVED);
            for (String n : st.names()) {
                Tensor a = st.tensor(n);
                Tensor b = hfLayout(back.weights().tensor(n), c, arena);
                assertThat(b.name()).isEqualTo(n);
                assertThat(b.shape()).containsExactly(a.shape());
                assertThat(b.data().toArray(ValueLayout.JAVA_BYTE)).as(n).isEqualTo(a.data().toArray(ValueLayout.JAVA_BYTE));
            }
        }
    }

    private final Arena arena = Arena.ofAuto();

    /** A llama GGUF tensor in HF row order (q/k un-permuted; others as they are). */
    private static Tensor hfLayout(Tensor t, ModelConfig c, Arena arena) {
        int heads = LlamaGguf.permuteHeads(t.name(), c);
        return heads == 0 ? t : LlamaGguf.toHfLayout(t, heads, arena);
    }

    @Test
    void ggufWeightsAreMappedViewsAsStored() {
        ModelConfig c = TinyModels.llama();
        Path src = TinyModels.writeDir(dir.resolve("hf"), c, 6);
        Path gguf = dir.resolve("m.gguf");
        try (ModelFiles m = ModelFiles.open(src)) {
            assertThat(m.weights().ropeStyle()).isEqualTo(RopeStyle.HALF);
            GgufExport.write(m, gguf, DType.Q8_0, null);
        }
        try (ModelFiles back = ModelFiles.open(gguf); GgufFile raw = GgufFile.open(gguf)) {
            assertThat(back.weights().ropeStyle()).isEqualTo(RopeStyle.INTERLEAVED);
            // Every tensor, q/k included, is a view of the mapped file with the bytes GGUF stores: no copy.
            for (String n : back.weights().names()) {
                Tensor t = back.weights().tensor(n);
                String g = LlamaGguf.toGguf(n) != null ? LlamaGguf.toGguf(n) : n;
                // same memory as the file's own mapped view (Tensor re-views segments, so isMapped() says nothing)
                GgufFile file = ((GgufHfWeights) back.weights()).gguf();
                assertThat(t.data().address()).as(n).isEqualTo(file.tensor(g).data().address());
                assertThat(t.data().toArray(ValueLayout.JAVA_BYTE)).as(n)
                        .isEqualTo(raw.tensor(g).data().toArray(ValueLayout.JAVA_BYTE));
            }
        }
        // GGUF → GGUF keeps q/k in order (they are already interleaved: no second permutation).
        Path again = dir.resolve("again.gguf");
        try (ModelFiles m = ModelFiles.open(gguf)) {
            GgufExport.write(m, again, DType.Q8_0, null);
        }
        try (GgufFile a = GgufFile.open(gguf); GgufFile b = GgufFile.open(again)) {
            for (String g : List.of("blk.0.attn_q.weight", "blk.1.attn_k.weight", "blk.0.attn_v.weight")) {
                assertThat(b.tensor(g).data().toArray(ValueLayout.JAVA_BYTE)).as(g)
                        .isEqualTo(a.tensor(g).data().toArray(ValueLayout.JAVA_BYTE));
            }
        }
        // qwen2 is not permuted: HALF, as stored.
        Path qg = dir.resolve("q.gguf");
        try (ModelFiles m = ModelFiles.open(TinyModels.writeDir(dir.resolve("qwen"), TinyModels.qwen2(), 7))) {
            GgufExport.write(m, qg, DType.F32, null);
        }
        try (ModelFiles back = ModelFiles.open(qg)) {
            assertThat(back.weights().ropeStyle()).isEqualTo(RopeStyle.HALF);
            GgufFile file = ((GgufHfWeights) back.weights()).gguf();
            assertThat(back.weights().tensor("model.layers.0.self_attn.q_proj.weight").data().address())
                    .isEqualTo(file.tensor("blk.0.attn_q.weight").data().address());
        }
    }

    @Test
    void llamaQ8_0AndQ4_0ExportQuantizesRowsExactly() {
        ModelConfig c = TinyModels.llama();
        Path src = TinyModels.writeDir(dir.resolve("hf"), c, 2);
        for (DType t : new DType[]{DType.Q8_0, DType.Q4_0, DType.F16}) {
            Path gguf = dir.resolve(t + ".gguf");
            try (ModelFiles m = ModelFiles.open(src)) {
                GgufExport.write(m, gguf, t, null);
            }
            try (ModelFiles back = ModelFiles.open(gguf); SafetensorsFile st = SafetensorsFile.open(src.resolve("model.safetensors"));
                 Arena arena = Arena.ofConfined()) {
                assertThat(back.ggufMetadata()).containsEntry("general.file_type", (long) GgufExport.fileType(t));
                for (String n : st.names()) {
                    Tensor a = st.tensor(n);
                    Tensor b = hfLayout(back.weights().tensor(n), c, arena);
                    DType want = a.rank() == 1 ? DType.F32 : t;
                    assertThat(b.dtype()).as(n).isEqualTo(want);
                    byte[] expect = Quantize.convert(a, want, arena).data().toArray(ValueLayout.JAVA_BYTE);
                    assertThat(b.data().toArray(ValueLayout.JAVA_BYTE)).as(n).isEqualTo(expect);
                }
            }
        }
    }

    @Test
    void qwen2IsNotPermutedAndUsesByteLevelVocab() {
        ModelConfig c = TinyModels.qwen2();
        Path src = TinyModels.writeDir(dir.resolve("qwen"), c, 3);
        Path gguf = dir.resolve("q.gguf");
        try (ModelFiles m = ModelFiles.open(src)) {
            assertThat(m.weights().contains("lm_head.weight")).isFalse();
            GgufExport.write(m, gguf, DType.F32, null);
        }
        try (GgufFile g = GgufFile.open(gguf); SafetensorsFile st = SafetensorsFile.open(src.resolve("model.safetensors"))) {
            assertThat(g.metadata()).containsEntry("general.architecture", "qwen2")
                    .containsEntry("tokenizer.ggml.model", "gpt2").containsEntry("tokenizer.ggml.pre", "qwen2")
                    .containsEntry("tokenizer.ggml.merges", List.of("Ġ a", "a b"))
                    .containsEntry("tokenizer.ggml.eos_token_id", 3L);
            assertThat(g.contains("output.weight")).isFalse();
            for (String n : List.of("model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.q_proj.bias",
                    "model.layers.1.self_attn.k_proj.bias")) {
                assertThat(g.tensor(LlamaGguf.toGguf(n)).data().toArray(ValueLayout.JAVA_BYTE))
                        .isEqualTo(st.tensor(n).data().toArray(ValueLayout.JAVA_BYTE));
            }
            List<?> tokens = (List<?>) g.metadata().get("tokenizer.ggml.tokens");
            assertThat(tokens.subList(0, 6)).isEqualTo(List.of("a", "b", "Ġ", "<|endoftext|>", "Ġa", "ab"));
            assertThat(tokens.get(39)).isEqualTo("[PAD39]");
            assertThat(((List<?>) g.metadata().get("tokenizer.ggml.token_type")).subList(0, 7))
                    .isEqualTo(List.of(1, 1, 1, 3, 1, 1, 5));
        }
        try (ModelFiles back = ModelFiles.open(gguf)) {
            assertThat(back.config()).isEqualTo(c);
        }
    }

    @Test
    void spmVocabularyScoresFollowMergeOrder() {
        Path tj = dir.resolve("tokenizer.json");
        try {
            Files.writeString(tj, TinyModels.SPM_BPE);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Map<String, GgufValue> v = GgufVocab.fromTokenizerJson(tj, TinyModels.llama());
        assertThat(v.get("tokenizer.ggml.model").value()).isEqualTo("llama");
        List<?> scores = (List<?>) v.get("tokenizer.ggml.scores").value();
        // merges: "▁ a" (0) → ▁a id 7, "a b" (1) → ab id 8, "▁a b" (2) → ▁ab id 9; "▁ ab" (3) also gives ▁ab: first wins.
        assertThat(scores.subList(0, 10)).isEqualTo(List.of(0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, -1f, -2f));
        assertThat(((List<?>) v.get("tokenizer.ggml.token_type").value()).subList(0, 13))
                .isEqualTo(List.of(2, 3, 3, 6, 1, 1, 1, 1, 1, 1, 4, 3, 5));
        assertThat(v.get("tokenizer.ggml.unknown_token_id").value()).isEqualTo(0L);
        assertThat(v.get("tokenizer.ggml.bos_token_id").value()).isEqualTo(1L);
        assertThat(v.get("tokenizer.ggml.add_bos_token").value()).isEqualTo(true);
    }

    @Test
    void llama3RopeScalingRoundTripsThroughRopeFreqs() {
        ModelConfig base = TinyModels.llama();
        ModelConfig c = new ModelConfig("llama", 64, 96, 2, 4, 2, 16, 40, 256, 1e-5f, 500000f,
                new ModelConfig.RopeScaling("llama3", 32f, 1f, 4f, 8192), "silu", 0f, false, false, 0, 1, 2);
        assertThat(base.ropeScaling()).isNull();
        Path src = TinyModels.writeDir(dir.resolve("l3"), c, 4);
        Path gguf = dir.resolve("l3.gguf");
        try (ModelFiles m = ModelFiles.open(src)) {
            GgufExport.write(m, gguf, DType.F32, null);
        }
        try (ModelFiles back = ModelFiles.open(gguf)) {
            assertThat(back.config()).isEqualTo(c);
            assertThat(back.weights().contains("rope_freqs.weight")).isTrue();
        }
        // A llama.cpp-made file has only rope_freqs.weight: rewrite without Sparsa's keys.
        Path bare = dir.resolve("bare.gguf");
        try (GgufFile g = GgufFile.open(gguf)) {
            GgufWriter w = new GgufWriter();
            g.typedMetadata().forEach((k, v) -> {
                if (!k.startsWith("sparsa.")) {
                    w.put(k, v);
                }
            });
            for (String n : g.names()) {
                w.add(g.tensor(n));
            }
            w.write(bare, null);
            try (ModelFiles back = ModelFiles.open(bare)) {
                assertThat(back.config()).isEqualTo(c);
            }
        }
    }

    @Test
    void modelFilesLayoutsAndFailures() throws Exception {
        ModelConfig c = TinyModels.llama();
        Path d = TinyModels.writeDir(dir.resolve("m"), c, 5);
        try (ModelFiles m = ModelFiles.open(d.resolve("model.safetensors"))) {
            assertThat(m.config()).isEqualTo(c);
            m.require("model.norm.weight");
            assertThatThrownBy(() -> m.require("nope")).hasMessage(d.resolve("model.safetensors") + ": missing tensor nope");
        }
        // Sharded: split the tensors over two files.
        Path sh = dir.resolve("sharded");
        Files.createDirectories(sh);
        ConfigJson.write(c, sh.resolve("config.json"));
        List<Tensor> all = TinyModels.weights(c, 5);
        SafetensorsWriter.write(sh.resolve("a.safetensors"), all.subList(0, 5), Map.of());
        SafetensorsWriter.write(sh.resolve("b.safetensors"), all.subList(5, all.size()), Map.of());
        StringBuilder idx = new StringBuilder("{\"weight_map\":{");
        for (int i = 0; i < all.size(); i++) {
            idx.append(i == 0 ? "" : ",").append('"').append(all.get(i).name()).append("\":\"")
                    .append(i < 5 ? "a" : "b").append(".safetensors\"");
        }
        Files.writeString(sh.resolve("model.safetensors.index.json"), idx.append("}}"));
        try (ModelFiles m = ModelFiles.open(sh)) {
            assertThat(m.format()).isEqualTo("safetensors-sharded");
            assertThat(m.tokenizerJson()).isNull();
            assertThat(m.describeAll()).hasSize(all.size());
        }
        // Missing tensor.
        Path miss = dir.resolve("missing");
        Files.createDirectories(miss);
        ConfigJson.write(c, miss.resolve("config.json"));
        SafetensorsWriter.write(miss.resolve("model.safetensors"),
                all.stream().filter(t -> !t.name().equals("model.layers.1.mlp.up_proj.weight")).toList(), Map.of());
        assertThatThrownBy(() -> ModelFiles.open(miss)).isInstanceOf(SparsaException.FormatException.class)
                .hasMessage(miss + ": missing tensor model.layers.1.mlp.up_proj.weight");
        // Wrong shape: config says more heads than q_proj has rows.
        ConfigJson.write(new ModelConfig("llama", 64, 96, 2, 8, 2, 16, 40, 256, 1e-5f, 10000f, null, "silu", 0f, false,
                false, 0, 1, 2), d.resolve("config.json"));
        assertThatThrownBy(() -> ModelFiles.open(d)).hasMessage(d + ": tensor model.layers.0.self_attn.q_proj.weight"
                + " has shape [64, 64], config implies [128, 64]");
        assertThatThrownBy(() -> ModelFiles.open(dir.resolve("none"))).hasMessage(dir.resolve("none")
                + ": no such file or directory");
        Files.createDirectories(dir.resolve("empty"));
        assertThatThrownBy(() -> ModelFiles.open(dir.resolve("empty"))).hasMessage(dir.resolve("empty") + ": no config.json");
    }
}
