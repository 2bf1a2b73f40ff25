package dev.sparsa.model.llama;

import dev.sparsa.SparsaException;
import dev.sparsa.spec.ModelConfig;

/**
 * RoPE inverse frequencies, computed in float32 the way Hugging Face's rope init functions do; the rotation itself
 * (both {@link dev.sparsa.spec.RopeStyle} layouts, forward and backward) is {@link dev.sparsa.tensor.Rotary}.
 */
public final class Rope {
    private Rope() {
    }

    /** inv_freq[i] for i &lt; headDim/2, default or llama3-scaled per {@code config.ropeScaling()}. */
    public static float[] invFreq(ModelConfig cfg) {
        float[] inv = defaultInvFreq(cfg.ropeTheta(), cfg.headDim());
        ModelConfig.RopeScaling rs = cfg.ropeScaling();
        if (rs == null || rs.type() == null || rs.type().equals("default")) {
            return inv;
        }
        if (!rs.type().equals("llama3")) {
            throw new SparsaException.UnsupportedException(
                    "config rope_scaling.rope_type: '" + rs.type() + "' is not supported (default, llama3)");
        }
        return llama3(inv, rs);
    }

    /** inv_freq_i = 1 / θ^(2i/d) (RoFormer eq. 15), as HF's _compute_default_rope_parameters. */
    static float[] defaultInvFreq(float theta, int headDim) {
        float[] inv = new float[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            float e = (float) (2 * i) / (float) headDim;
            inv[i] = 1f / (float) Math.pow(theta, e);
        }
        return inv;
    }

    /**
     * Llama-3.1 frequency scaling, HF's _compute_llama3_parameters: wavelengths above old_ctx/low_freq_factor are
     * divided by factor, below old_ctx/high_freq_factor kept, and smoothly interpolated in between.
     */
    static float[] llama3(float[] inv, ModelConfig.RopeScaling rs) {
        float factor = rs.factor();
        float lo = rs.lowFreqFactor();
        float hi = rs.highFreqFactor();
        float old = rs.originalMaxPositions();
        float lowFreqWavelen = old / lo;
        float highFreqWavelen = old / hi;
        float[] out = new float[inv.length];
        for (int i = 0; i < inv.length; i++) {
            float wavelen = (float) (2 * Math.PI / inv[i]);
            float f = wavelen > lowFreqWavelen ? inv[i] / factor : inv[i];
            boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
            if (medium) {
                float smooth = (old / wavelen - lo) / (hi - lo);
                f = (1 - smooth) * f / factor + smooth * f;
            }
            out[i] = f;
        }
        return out;
    }
}
