package dev.sparsa.model;

import dev.sparsa.SparsaException;
import dev.sparsa.tensor.VectorOps;

/**
 * The FFN activation {@code a = act(gate)}, from config.json's {@code hidden_act} (docs/ARCHITECTURE.md §5).
 *
 * @param kind      which function
 * @param threshold T of FATReLU_T; 0 otherwise
 */
public record Activation(Kind kind, float threshold) {

    public enum Kind {
        /** x · σ(x) (SwiGLU). */
        SILU,
        /** exact erf GELU. */
        GELU,
        /** tanh-approximated GELU. */
        GELU_TANH,
        /** max(0, x) (ReGLU). */
        RELU,
        /** max(0, x)² (ReLU² Wins). */
        RELU2,
        /** x if x ≥ T else 0 (ProSparse step 3). */
        FATRELU
    }

    /** From HF's {@code hidden_act} name; an {@link SparsaException.UnsupportedException} for unknown names. */
    public static Activation of(String hiddenAct, float fatreluThreshold) {
        String a = hiddenAct == null ? "silu" : hiddenAct;
        Kind k = switch (a) {
            case "silu", "swish" -> Kind.SILU;
            case "gelu" -> Kind.GELU;
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> Kind.GELU_TANH;
            case "relu" -> fatreluThreshold > 0f ? Kind.FATRELU : Kind.RELU;
            case "relu2" -> Kind.RELU2;
            case "fatrelu" -> Kind.FATRELU;
            default -> throw new SparsaException.UnsupportedException(
                    "config hidden_act: unsupported activation '" + a + "' (silu, gelu, gelu_new, relu, relu2, fatrelu)");
        };
        return new Activation(k, k == Kind.FATRELU ? fatreluThreshold : 0f);
    }

    public float apply(float x) {
        return switch (kind) {
            case SILU -> VectorOps.silu(x);
            case GELU -> VectorOps.gelu(x);
            case GELU_TANH -> VectorOps.geluTanh(x);
            case RELU -> VectorOps.relu(x);
            case RELU2 -> { float r = VectorOps.relu(x); yield r * r; }     // max(0,x)²
            case FATRELU -> x >= threshold ? x : 0f;                        // FATReLU_T(x) = x·[x ≥ T]
        };
    }

    /** Whether act(x) is exactly 0 for every x below some point, so that a = 0 makes h = 0 (exact sparsity). */
    public boolean zeroBelow() {
        return kind == Kind.RELU || kind == Kind.RELU2 || kind == Kind.FATRELU;
    }
}
