package dev.sparsa.model;

/**
 * Observes (and may intervene on) FFN intermediates during a forward:
 * {@code gate = x·W_gateᵀ, a = act(gate), up = x·W_upᵀ, h = a ⊙ up}; for BERT {@code gate = x·W_inᵀ + b,
 * a = h = act(gate)}. Called once per layer per token, before the down projection, with the token's row inside
 * the batch arrays the model computes in (no copies): {@code x[xOff .. xOff+D)} and {@code gate/act/h[off .. off+F)}.
 * The arrays are the model's workspace, reused by the next call: copy what you keep. A tap may change {@code h} in
 * place (e.g. zero the entries under a CETT threshold); the model then uses the changed {@code h} for
 * {@code y = h·W_downᵀ}.
 */
public interface ActivationTap {

    /**
     * @param layer    layer index ℓ
     * @param position position of the token in its sequence
     * @param x        FFN input (after the pre-FFN norm for Llama; the attention block output for BERT), D values
     *                 from {@code xOff}
     * @param gate     pre-activation, F values from {@code off}
     * @param act      act(gate), F values from {@code off}
     * @param h        the intermediate that multiplies W_down, F values from {@code off} (may be modified)
     */
    void onFfn(int layer, int position, float[] x, int xOff, float[] gate, float[] act, float[] h, int off);

    /** Whether this tap needs layer ℓ at all; models may skip work for layers nobody taps. */
    default boolean wants(int layer) {
        return true;
    }

    /** No tap. */
    ActivationTap NONE = new ActivationTap() {
        @Override
        public void onFfn(int layer, int position, float[] x, int xOff, float[] gate, float[] act, float[] h, int off) {
        }

        @Override
        public boolean wants(int layer) {
            return false;
        }
    };
}
