package dev.sparsa.model;

import dev.sparsa.SparsaException;
import dev.sparsa.spec.HiddenAct;
import dev.sparsa.tensor.Gated;
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
        FATRELU,
        /** max(0, x) on the gate and on the up projection: h = ReLU(gate) ⊙ ReLU(up) (TurboSparse dReLU). */
        DRELU
    }

    /** From HF's {@code hidden_act} name; an {@link SparsaException.UnsupportedException} for unknown names. */
    public static Activation of(String hiddenAct, float fatreluThreshold) {
        String a = hiddenAct == null ? "silu" : hiddenAct;
        String c = HiddenAct.canonical(a);
        if (c == null) {
            throw new SparsaException.UnsupportedException("config hidden_act: unsupported activation '" + a + "' ("
                    + HiddenAct.supported() + ")");
        }
        Kind k = switch (c) {
            case "silu" -> Kind.SILU;
            case "gelu" -> Kind.GELU;
            case "gelu_new" -> Kind.GELU_TANH;
            case "relu" -> fatreluThreshold > 0f ? Kind.FATRELU : Kind.RELU;
            case "relu2" -> Kind.RELU2;
            case "fatrelu" -> Kind.FATRELU;
            case "drelu" -> Kind.DRELU;
            default -> throw new IllegalStateException(c);
        };
        return new Activation(k, k == Kind.FATRELU ? fatreluThreshold : 0f);
    }

    public float apply(float x) {
        return switch (kind) {
            case SILU -> VectorOps.silu(x);
            case GELU -> VectorOps.gelu(x);
            case GELU_TANH -> VectorOps.geluTanh(x);
            case RELU, DRELU -> VectorOps.relu(x);
            case RELU2 -> { float r = VectorOps.relu(x); yield r * r; }     // max(0,x)²
            case FATRELU -> x >= threshold ? x : 0f;                        // FATReLU_T(x) = x·[x ≥ T]
        };
    }

    /**
     * {@code out[oo + j] = act(x[xo + j])} for j in [0, n): SiLU lanewise with the Vector API exp
     * ({@link VectorOps#siluRange}, the dense gated step's values, ≤ 2 ulp from {@link #apply}; the same bits for any
     * split of a row into ranges), the others by {@link #apply}. The sparse kernels decide on these values, so that
     * a decode slice, a batch row and the dense route see the same a.
     */
    public void applyRange(float[] x, int xo, float[] out, int oo, int n) {
        if (kind == Kind.SILU) {
            VectorOps.siluRange(x, xo, out, oo, n);
            return;
        }
        for (int j = 0; j < n; j++) {
            out[oo + j] = apply(x[xo + j]);
        }
    }

    /**
     * The gated FFN's elementwise step over {@code [from, to)}: {@code a = act(gate)}, {@code h = a ⊙ up'} with
     * up' = {@link #up}(up) (batch rows are contiguous, so any index range works).
     */
    public void gated(float[] gate, float[] up, float[] a, float[] h, int from, int to) {
        Gated.forward(fn(), threshold, kind == Kind.DRELU, gate, up, a, h, from, to);
    }

    /**
     * The backward of {@link #gated} over {@code [from, to)}: dgate and dup from dh (and λ of an L1 penalty on a,
     * 0 for none); see {@link Gated#backward}.
     */
    public void gatedBackward(float[] gate, float[] up, float[] a, float[] dh, float l1, float[] dgate, float[] dup,
                              int from, int to) {
        Gated.backward(fn(), threshold, kind == Kind.DRELU, gate, up, a, dh, l1, dgate, dup, from, to);
    }

    /** The gate function as the tensor kernels name it (dReLU's gate is a ReLU). */
    public Gated.Fn fn() {
        return switch (kind) {
            case SILU -> Gated.Fn.SILU;
            case GELU -> Gated.Fn.GELU;
            case GELU_TANH -> Gated.Fn.GELU_TANH;
            case RELU, DRELU -> Gated.Fn.RELU;
            case RELU2 -> Gated.Fn.RELU2;
            case FATRELU -> Gated.Fn.FATRELU;
        };
    }

    /** What multiplies act(gate) in h: the up projection itself, or ReLU(up) for dReLU. */
    public float up(float u) {
        return kind == Kind.DRELU ? VectorOps.relu(u) : u;
    }

    /** Whether act(x) is exactly 0 for every x below some point, so that a = 0 makes h = 0 (exact sparsity). */
    public boolean zeroBelow() {
        return kind == Kind.RELU || kind == Kind.RELU2 || kind == Kind.FATRELU || kind == Kind.DRELU;
    }

    /** The {@code hidden_act} name config.json carries for this activation ({@code relu} + a threshold for FATReLU). */
    public String configName() {
        return switch (kind) {
            case SILU -> "silu";
            case GELU -> "gelu";
            case GELU_TANH -> "gelu_new";
            case RELU, FATRELU -> "relu";
            case RELU2 -> "relu2";
            case DRELU -> "drelu";
        };
    }
}
