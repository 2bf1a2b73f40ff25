package dev.sparsa.tensor;

/**
 * The float erf of ONNX Runtime's CPU kernels ({@code MlasComputeErf}: its x86-64 FMA3 kernel, the one the Erf,
 * Gelu and BiasGelu operators call), step for step in float with the same fused multiply-adds and constants, so
 * that a BERT GELU computed as ONNX Runtime does ({@link #gelu}) has its bits. The method is a faithfully rounded
 * erff (two minimax polynomials split at |x| = 0.921875: x·P(x²) below, 1 − exp(−Q(|x|)) above, |x| clamped to
 * 3.925, past which erf is 1 in float; some ONNX Runtime sources clamp at 3.725, which gives 1 − 2⁻²³ there:
 * 3.925 is what the ONNX Runtime 1.23 that {@code MlasErfTest} runs does, bit for bit on 20 000 values).
 */
public final class MlasErf {
    private MlasErf() {
    }

    private static final float UPPER = 3.925f;
    private static final float SPLIT = 0.921875f;
    private static final float S0 = -5.99104969e-4f, S1 = 4.99339588e-3f, S2 = -2.67667342e-2f,
            S3 = 1.12818025e-1f, S4 = -3.76124859e-1f, S5M1 = 1.28379151e-1f;
    private static final float B0 = 1.72948930e-5f, B1 = -3.83208680e-4f, B2 = 3.88393435e-3f,
            B3 = -2.42545605e-2f, B4 = 1.06777847e-1f, B5 = 6.34846687e-1f, B6M1 = 1.28717512e-1f;
    private static final float EXP_LOWER = -88.3762626647949f;
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = -6.93145752e-1f, LN2_LO = -1.42860677e-6f;
    private static final float E0 = 1.38319808e-3f, E1 = 8.37550033e-3f, E2 = 4.16689515e-2f, E3 = 1.66664466e-1f,
            E4 = 4.99999851e-1f, E5 = 1.0f, E6 = 1.0f;
    /** 1.5·2²³: adding and subtracting it rounds to an integer (round to nearest even). */
    private static final float ROUND = 1.25829120e+7f;

    /** erf(x) as ONNX Runtime's FMA3 kernel computes it. */
    public static float erf(float x) {
        float a = Math.min(Math.abs(x), UPPER);
        float r;
        if (a < SPLIT) { // erf(a) = a + a·P(a²)
            float s = a * a;
            r = S0;
            r = Math.fma(r, s, S1);
            r = Math.fma(r, s, S2);
            r = Math.fma(r, s, S3);
            r = Math.fma(r, s, S4);
            r = Math.fma(r, s, S5M1);
            r = Math.fma(r, a, a);
        } else { // erf(a) = 1 − exp(−(a + a·Q(a)))
            float q = B0;
            q = Math.fma(q, a, B1);
            q = Math.fma(q, a, B2);
            q = Math.fma(q, a, B3);
            q = Math.fma(q, a, B4);
            q = Math.fma(q, a, B5);
            q = Math.fma(q, a, B6M1);
            q = Math.fma(q, a, a);
            float e = Math.max(-q, EXP_LOWER);
            float n = Math.fma(LOG2E, e, ROUND) - ROUND; // round(e / ln 2)
            float f = Math.fma(n, LN2_HI, e);           // e − n·ln 2 in two parts
            f = Math.fma(n, LN2_LO, f);
            float y = E0;
            y = Math.fma(y, f, E1);
            y = Math.fma(y, f, E2);
            y = Math.fma(y, f, E3);
            y = Math.fma(y, f, E4);
            y = Math.fma(y, f, E5);
            y = Math.fma(y, f, E6);
            y *= Float.intBitsToFloat(((int) n + 127) << 23); // · 2^n
            r = 1f - y;
        }
        return Float.intBitsToFloat(Float.floatToRawIntBits(r) | (Float.floatToRawIntBits(x) & 0x80000000));
    }

    /**
     * GELU as ONNX Runtime's Gelu / BiasGelu kernels compute it from the (bias-added) float x:
     * (x·0.5)·(erf(x·(1/√2)) + 1), every step rounded to float.
     */
    public static float gelu(float x) {
        return (x * 0.5f) * (erf(x * 0.70710677f) + 1f);
    }
}
