package dev.sparsa.model.llama;

import dev.sparsa.SparsaException;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.spec.RopeStyle;
import dev.sparsa.tensor.VectorOps;

/**
 * RoPE inverse frequencies, computed in float32 the way Hugging Face's rope init functions do, and the rotation in
 * the {@link RopeStyle#INTERLEAVED} layout ({@link RopeStyle#HALF} is {@link dev.sparsa.tensor.VectorOps#rope}).
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

    /**
     * RoPE of {@code heads} consecutive heads at {@code off}, in {@code style}: HALF rotates (x[i], x[i + d/2]),
     * INTERLEAVED (x[2i], x[2i+1]), both by {@code pos · invFreq[i]}.
     */
    static void apply(RopeStyle style, float[] x, int off, int heads, int headDim, int pos, float[] invFreq) {
        switch (style) {
            case HALF -> VectorOps.rope(x, off, heads, headDim, pos, invFreq);
            case INTERLEAVED -> interleaved(x, off, heads, headDim, pos, invFreq);
        }
    }

    /**
     * RoPE, adjacent-pairs layout — llama.cpp's "normal" rope ({@code LLAMA_ROPE_TYPE_NORM}, used for
     * {@code LLM_ARCH_LLAMA}): ggml's {@code rope_f32} rotates (x[i0], x[i0+1]) for even i0 by the angle
     * {@code ggml_rope_cache_init} gives pair i0/2, {@code pos · θ^(−i0/d)} over the frequency factor (llama3 scaling,
     * here folded into {@code invFreq}). Pair i gets the same angle, computed the same way (double, then float cos and
     * sin) and the same float products as {@link VectorOps#rope} gives the pair (x[i], x[i + d/2]), so on GGUF's
     * permuted q/k rows the rotated values equal the HF-layout ones bit for bit, at permuted positions. O(d) per
     * head; not on a hot path.
     */
    static void interleaved(float[] x, int off, int heads, int headDim, int pos, float[] invFreq) {
        int half = headDim / 2;
        float[] cos = new float[half];
        float[] sin = new float[half];
        for (int i = 0; i < half; i++) {
            double angle = pos * (double) invFreq[i];
            cos[i] = (float) Math.cos(angle);
            sin[i] = (float) Math.sin(angle);
        }
        for (int h = 0; h < heads; h++) {
            int b = off + h * headDim;
            for (int i = 0; i < half; i++) {
                float x0 = x[b + 2 * i];
                float x1 = x[b + 2 * i + 1];
                x[b + 2 * i] = x0 * cos[i] - x1 * sin[i];
                x[b + 2 * i + 1] = x0 * sin[i] + x1 * cos[i];
            }
        }
    }
}
