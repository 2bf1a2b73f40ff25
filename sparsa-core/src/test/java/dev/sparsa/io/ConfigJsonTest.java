package dev.sparsa.io;

import dev.sparsa.SparsaException;
import dev.sparsa.spec.ModelConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigJsonTest {
    @TempDir
    Path dir;

    private Path cfg(String json) throws IOException {
        Path p = dir.resolve("config.json");
        Files.writeString(p, json);
        return p;
    }

    private static final String SIZES = "\"hidden_size\":64,\"intermediate_size\":160,\"num_hidden_layers\":2,"
            + "\"num_attention_heads\":4,\"vocab_size\":100";

    @Test
    void llama31WithRopeScalingAndEosList() throws IOException {
        ModelConfig c = ConfigJson.read(cfg("{\"model_type\":\"llama\"," + SIZES + ",\"num_key_value_heads\":2,"
                + "\"rope_theta\":500000.0,\"rms_norm_eps\":1e-05,\"max_position_embeddings\":131072,"
                + "\"bos_token_id\":128000,\"eos_token_id\":[128001,128008,128009],\"tie_word_embeddings\":true,"
                + "\"rope_scaling\":{\"factor\":8.0,\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,"
                + "\"original_max_position_embeddings\":8192,\"rope_type\":\"llama3\"}}"));
        assertThat(c).isEqualTo(new ModelConfig("llama", 64, 160, 2, 4, 2, 16, 100, 131072, 1e-5f, 500000f,
                new ModelConfig.RopeScaling("llama3", 8f, 1f, 4f, 8192), "silu", 0f, true, false, 0, 128000, 128001));
    }

    @Test
    void defaultsPerModelType() throws IOException {
        ModelConfig llama = ConfigJson.read(cfg("{\"model_type\":\"llama\"," + SIZES + "}"));
        assertThat(llama).isEqualTo(new ModelConfig("llama", 64, 160, 2, 4, 4, 16, 100, 2048, 1e-6f, 10000f, null,
                "silu", 0f, false, false, 0, 1, 2));
        ModelConfig mistral = ConfigJson.read(cfg("{\"model_type\":\"mistral\",\"hidden_size\":64,"
                + "\"intermediate_size\":160,\"num_hidden_layers\":2,\"num_attention_heads\":16,\"vocab_size\":100}"));
        assertThat(mistral.numKvHeads()).isEqualTo(8);
        assertThat(mistral.headDim()).isEqualTo(4);
        assertThat(mistral.maxPositions()).isEqualTo(131072);
        ModelConfig nullKv = ConfigJson.read(cfg("{\"model_type\":\"mistral\"," + SIZES + ",\"num_key_value_heads\":null}"));
        assertThat(nullKv.numKvHeads()).isEqualTo(4);
        // Qwen2Config's class default is 32 KV heads, not num_attention_heads.
        ModelConfig q32 = ConfigJson.read(cfg("{\"model_type\":\"qwen2\"," + SIZES.replace("\"num_attention_heads\":4",
                "\"num_attention_heads\":32") + "}"));
        assertThat(q32.numKvHeads()).isEqualTo(32);
        ModelConfig qwen = ConfigJson.read(cfg("{\"model_type\":\"qwen2\"," + SIZES + ",\"num_key_value_heads\":4,\"rope_scaling\":null,"
                + "\"hidden_act\":\"swish\"}"));
        assertThat(qwen.attentionBias()).isTrue();
        assertThat(qwen.tieWordEmbeddings()).isFalse();
        assertThat(qwen.maxPositions()).isEqualTo(32768);
        assertThat(qwen.hiddenAct()).isEqualTo("silu");
        assertThat(qwen.bosTokenId()).isEqualTo(-1);
        ModelConfig bert = ConfigJson.read(cfg("{\"model_type\":\"bert\",\"hidden_size\":384,"
                + "\"intermediate_size\":1536,\"num_hidden_layers\":6,\"num_attention_heads\":12,\"vocab_size\":30522}"));
        assertThat(bert).isEqualTo(new ModelConfig("bert", 384, 1536, 6, 12, 12, 32, 30522, 512, 1e-12f, 0f, null,
                "gelu", 0f, true, true, 2, -1, -1));
    }

    @Test
    void transformers5RopeParameters() throws IOException {
        ModelConfig c = ConfigJson.read(cfg("{\"model_type\":\"llama\"," + SIZES + ",\"rope_parameters\":{"
                + "\"rope_theta\":500000.0,\"rope_type\":\"llama3\",\"factor\":32.0,\"low_freq_factor\":1.0,"
                + "\"high_freq_factor\":4.0,\"original_max_position_embeddings\":8192}}"));
        assertThat(c.ropeTheta()).isEqualTo(500000f);
        assertThat(c.ropeScaling()).isEqualTo(new ModelConfig.RopeScaling("llama3", 32f, 1f, 4f, 8192));
        ModelConfig d = ConfigJson.read(cfg("{\"model_type\":\"qwen2\"," + SIZES + ",\"num_key_value_heads\":2,"
                + "\"rope_parameters\":{\"rope_theta\":1000000.0,\"rope_type\":\"default\"}}"));
        assertThat(d.ropeTheta()).isEqualTo(1e6f);
        assertThat(d.ropeScaling()).isNull();
    }

    @Test
    void proSparseFatrelu() throws IOException {
        ModelConfig c = ConfigJson.read(cfg("{\"model_type\":\"llama\"," + SIZES + ",\"hidden_act\":\"fatrelu\","
                + "\"hidden_act_param\":0.01}"));
        assertThat(c.hiddenAct()).isEqualTo("fatrelu");
        assertThat(c.fatreluThreshold()).isEqualTo(0.01f);
        ModelConfig d = ConfigJson.read(cfg("{\"model_type\":\"llama\"," + SIZES + ",\"hidden_act\":\"fatrelu\","
                + "\"fatrelu_threshold\":0.25}"));
        assertThat(d.fatreluThreshold()).isEqualTo(0.25f);
    }

    @Test
    void writeReadRoundTrips() throws IOException {
        ModelConfig[] all = {
                new ModelConfig("llama", 64, 160, 2, 4, 2, 16, 100, 4096, 1e-5f, 500000f,
                        new ModelConfig.RopeScaling("llama3", 8f, 1f, 4f, 8192), "fatrelu", 0.03f, true, true, 0, 5, 6),
                new ModelConfig("mistral", 64, 160, 2, 4, 1, 32, 100, 4096, 1e-6f, 1e6f, null, "relu", 0f, false,
                        false, 0, 1, 2),
                new ModelConfig("qwen2", 64, 160, 2, 4, 4, 16, 100, 32768, 1e-6f, 1e6f, null, "relu2", 0f, true, true,
                        0, -1, 7),
                new ModelConfig("bert", 384, 1536, 6, 12, 12, 32, 30522, 512, 1e-12f, 0f, null, "gelu_new", 0f, true,
                        true, 2, -1, -1),
        };
        for (ModelConfig c : all) {
            Path p = dir.resolve(c.architecture() + "/config.json");
            ConfigJson.write(c, p);
            assertThat(ConfigJson.read(p)).isEqualTo(c);
        }
    }

    private void bad(String json, Class<? extends SparsaException> type, String message) throws IOException {
        Path p = cfg(json);
        assertThatThrownBy(() -> ConfigJson.read(p)).isInstanceOf(type).hasMessage(p + ": " + message);
    }

    @Test
    void validationFailures() throws IOException {
        var fmt = SparsaException.FormatException.class;
        var uns = SparsaException.UnsupportedException.class;
        bad("{\"model_type\":\"gpt2\"," + SIZES + "}", uns,
                "unsupported model_type 'gpt2' (supported: llama, mistral, qwen2, bert)");
        bad("{" + SIZES + "}", fmt, "missing field model_type");
        bad("{\"model_type\":\"llama\",\"intermediate_size\":1,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
                + "\"vocab_size\":100}", fmt, "missing field hidden_size");
        bad("{\"model_type\":\"llama\"," + SIZES.replace("\"vocab_size\":100", "\"vocab_size\":\"100\"") + "}", fmt,
                "field vocab_size must be a positive integer, got \"100\"");
        bad("{\"model_type\":\"llama\"," + SIZES + ",\"rms_norm_eps\":\"x\"}", fmt,
                "field rms_norm_eps must be a number, got \"x\"");
        bad("{\"model_type\":\"llama\"," + SIZES + ",\"tie_word_embeddings\":1}", fmt,
                "field tie_word_embeddings must be true or false, got 1");
        bad("{\"model_type\":\"llama\"," + SIZES + ",\"num_key_value_heads\":3}", fmt,
                "num_attention_heads 4 is not a multiple of num_key_value_heads 3");
        bad("{\"model_type\":\"llama\"," + SIZES + ",\"rope_scaling\":{\"type\":\"yarn\",\"factor\":4}}", uns,
                "unsupported rope_scaling type 'yarn' (supported: llama3)");
        bad("{\"model_type\":\"llama\"," + SIZES + ",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8}}", fmt,
                "missing field rope_scaling.low_freq_factor");
        bad("{\"model_type\":\"llama\"," + SIZES + ",\"hidden_act\":\"tanh\"}", uns,
                "unsupported hidden_act 'tanh' (supported: silu, gelu, gelu_new, relu, relu2, fatrelu, drelu)");
        Path huge = cfg(" ".repeat((16 << 20) + 1));
        assertThatThrownBy(() -> ConfigJson.read(huge)).isInstanceOf(fmt)
                .hasMessage(huge + ": is 16777217 bytes, more than the 16777216 accepted");
        Path p = cfg("{\"model_type\": ");
        assertThatThrownBy(() -> ConfigJson.read(p)).isInstanceOf(fmt).hasMessageStartingWith(p + ": not valid JSON: ")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }
}
