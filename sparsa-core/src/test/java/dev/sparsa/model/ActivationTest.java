package dev.sparsa.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.SparsaException;
import dev.sparsa.io.ConfigJson;
import dev.sparsa.spec.ModelConfig;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

class ActivationTest {

    @Test
    void definitions() {
        Activation silu = Activation.of("silu", 0f);
        assertThat(silu.apply(1.5f)).isCloseTo((float) (1.5 / (1 + Math.exp(-1.5))), offset(1e-6f));
        assertThat(Activation.of("swish", 0f)).isEqualTo(silu);
        assertThat(Activation.of("relu", 0f).apply(-0.1f)).isZero();
        assertThat(Activation.of("relu", 0f).apply(0.3f)).isEqualTo(0.3f);
        Activation relu2 = Activation.of("relu2", 0f);
        assertThat(relu2.apply(-2f)).isZero();
        assertThat(relu2.apply(3f)).isEqualTo(9f);                               // max(0,x)²
        Activation fat = Activation.of("fatrelu", 0.5f);
        assertThat(fat.apply(0.49f)).isZero();
        assertThat(fat.apply(0.5f)).isEqualTo(0.5f);                             // x·[x ≥ T]
        assertThat(fat.apply(2f)).isEqualTo(2f);
        assertThat(Activation.of("relu", 0.25f).kind()).isEqualTo(Activation.Kind.FATRELU);
        // GELU(1) = 0.5·(1 + erf(1/√2)) = 0.8413447; tanh form 0.8411920
        assertThat(Activation.of("gelu", 0f).apply(1f)).isCloseTo(0.8413447f, offset(1e-6f));
        assertThat(Activation.of("gelu_new", 0f).apply(1f)).isCloseTo(0.8411920f, offset(1e-6f));
        assertThat(relu2.zeroBelow()).isTrue();
        assertThat(silu.zeroBelow()).isFalse();
    }

    /** config.json's reader keeps (and canonicalizes) exactly the names Activation.of decides, to the same function. */
    @Test
    void everyNameConfigJsonAcceptsIsTheSameActivation() throws Exception {
        String[] names = {"silu", "swish", "gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "relu2",
                "fatrelu"};
        ObjectMapper om = new ObjectMapper();
        for (String name : names) {
            ModelConfig c = ConfigJson.parse("config.json", om.readTree("{\"model_type\":\"llama\","
                    + "\"hidden_size\":64,\"intermediate_size\":160,\"num_hidden_layers\":2,"
                    + "\"num_attention_heads\":4,\"vocab_size\":100,\"hidden_act\":\"" + name + "\"}"));
            assertThat(Activation.of(c.hiddenAct(), 0.5f)).as(name).isEqualTo(Activation.of(name, 0.5f));
        }
        assertThatThrownBy(() -> ConfigJson.parse("config.json", om.readTree("{\"model_type\":\"llama\","
                + "\"hidden_size\":64,\"intermediate_size\":160,\"num_hidden_layers\":2,"
                + "\"num_attention_heads\":4,\"vocab_size\":100,\"hidden_act\":\"mish\"}")))
                .isInstanceOf(SparsaException.UnsupportedException.class);
        assertThatThrownBy(() -> Activation.of("mish", 0f)).isInstanceOf(SparsaException.UnsupportedException.class);
    }

    @Test
    void unknownNameIsOneLine() {
        assertThatThrownBy(() -> Activation.of("mish", 0f)).isInstanceOf(SparsaException.UnsupportedException.class)
                .hasMessage("config hidden_act: unsupported activation 'mish' (silu, gelu, gelu_new, relu, relu2, fatrelu, drelu)");
    }
}
