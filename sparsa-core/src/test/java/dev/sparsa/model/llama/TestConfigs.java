package dev.sparsa.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparsa.model.ModelConfig;

/**
 * HF config.json → ModelConfig for tests, until the io engineer's ConfigJson is merged (then the golden test goes
 * through ConfigJson and this stays only for hand-made configs).
 */
final class TestConfigs {
    private TestConfigs() {
    }

    static ModelConfig fromHf(JsonNode c) {
        int d = c.get("hidden_size").asInt();
        int h = c.get("num_attention_heads").asInt();
        JsonNode rs = c.get("rope_scaling");
        ModelConfig.RopeScaling scaling = rs == null || rs.isNull() ? null : new ModelConfig.RopeScaling(
                rs.path("rope_type").asText(rs.path("type").asText()), (float) rs.get("factor").asDouble(),
                (float) rs.get("low_freq_factor").asDouble(), (float) rs.get("high_freq_factor").asDouble(),
                rs.get("original_max_position_embeddings").asInt());
        String type = c.get("model_type").asText();
        return new ModelConfig(type, d, c.get("intermediate_size").asInt(), c.get("num_hidden_layers").asInt(), h,
                c.path("num_key_value_heads").asInt(h), c.path("head_dim").asInt(d / h), c.get("vocab_size").asInt(),
                c.get("max_position_embeddings").asInt(), (float) c.get("rms_norm_eps").asDouble(),
                (float) c.path("rope_theta").asDouble(10000.0), scaling, c.path("hidden_act").asText("silu"), 0f,
                c.path("tie_word_embeddings").asBoolean(false),
                type.equals("qwen2") || c.path("attention_bias").asBoolean(false), 0,
                c.path("bos_token_id").asInt(-1), c.path("eos_token_id").asInt(-1));
    }
}
