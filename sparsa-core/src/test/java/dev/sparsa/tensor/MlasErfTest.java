package dev.sparsa.tensor;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.sparsa.io.onnx.OnnxModel;
import dev.sparsa.io.onnx.ProtoWriter;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link MlasErf} bit for bit against ONNX Runtime's own kernels on the same floats (an {@code Erf} node and a
 * {@code com.microsoft.BiasGelu} node, the one ORT fuses a BERT's bias + erf GELU into), and within one ulp-scale of
 * the double erf (it is a faithfully rounded erff).
 */
class MlasErfTest {

    /** Values over every branch: both sides of the split 0.921875, the clamp 3.725, tiny, zero, both signs. */
    static float[] values() {
        Random r = new Random(17);
        float[] v = new float[20000];
        for (int i = 0; i < v.length; i++) {
            v[i] = switch (i % 4) {
                case 0 -> (float) r.nextGaussian();
                case 1 -> (float) (r.nextGaussian() * 3);
                case 2 -> 0.921875f + (r.nextFloat() - 0.5f) * 1e-3f;
                default -> (r.nextFloat() - 0.5f) * 12f;
            };
        }
        v[0] = 0f;
        v[1] = -0f;
        v[2] = 1e-30f;
        v[3] = 0.921875f;
        v[4] = 3.725f;
        v[5] = -10f;
        return v;
    }

    @Test
    void erfHasOnnxRuntimesBitsAndIsFaithful() throws Exception {
        float[] x = values();
        float[] ref = run(graph("Erf", "", false), x, null);
        for (int i = 0; i < x.length; i++) {
            float ours = MlasErf.erf(x[i]);
            assertThat(Float.floatToRawIntBits(ours)).as("erf(%s): %s vs ONNX Runtime %s", x[i], ours, ref[i])
                    .isEqualTo(Float.floatToRawIntBits(ref[i]));
            double exact = dev.sparsa.tensor.Erf.erf(x[i]);
            assertThat(Math.abs(ours - exact)).as("erf(%s)", x[i]).isLessThanOrEqualTo(1.5 * Math.ulp((float) exact)
                    + 1e-45);
        }
    }

    @Test
    void biasGeluHasOnnxRuntimesBits() throws Exception {
        float[] x = values();
        float[] bias = new float[x.length];
        Random r = new Random(3);
        for (int i = 0; i < bias.length; i++) {
            bias[i] = (float) r.nextGaussian() * 0.1f;
        }
        float[] ref = run(graph("BiasGelu", "com.microsoft", true), x, bias);
        int differ = 0;
        for (int i = 0; i < x.length; i++) {
            float ours = MlasErf.gelu(x[i] + bias[i]);
            differ += Float.floatToRawIntBits(ours) == Float.floatToRawIntBits(ref[i]) ? 0 : 1;
        }
        assertThat(differ).as("values whose GELU bits differ from ONNX Runtime's BiasGelu").isZero();
    }

    /** A graph y = OP(x[, bias]) on a vector of N floats. */
    private static byte[] graph(String op, String domain, boolean withBias) {
        ProtoWriter g = new ProtoWriter();
        ProtoWriter n = new ProtoWriter().string(1, "x");
        if (withBias) {
            n.string(1, "bias");
        }
        n.string(2, "y").string(3, "op").string(4, op);
        if (!domain.isEmpty()) {
            n.string(7, domain);
        }
        g.message(1, n).string(2, "g");
        g.message(11, vector("x"));
        if (withBias) {
            g.message(11, vector("bias"));
        }
        g.message(12, vector("y"));
        ProtoWriter m = new ProtoWriter().varint(1, 9).string(2, "sparsa-test")
                .message(8, new ProtoWriter().string(1, "").varint(2, 20));
        if (!domain.isEmpty()) {
            m.message(8, new ProtoWriter().string(1, domain).varint(2, 1));
        }
        return m.message(7, g).toByteArray();
    }

    private static ProtoWriter vector(String name) {
        ProtoWriter shape = new ProtoWriter().message(1, new ProtoWriter().string(2, "n"));
        ProtoWriter tensorType = new ProtoWriter().varint(1, OnnxModel.FLOAT).message(2, shape);
        return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
    }

    private static float[] run(byte[] model, float[] x, float[] bias) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        opts.setIntraOpNumThreads(1);
        try (OrtSession s = env.createSession(model, opts);
             OnnxTensor a = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[]{x.length});
             OnnxTensor b = OnnxTensor.createTensor(env, FloatBuffer.wrap(bias != null ? bias : x),
                     new long[]{x.length})) {
            try (OrtSession.Result r = s.run(bias != null ? Map.of("x", a, "bias", b) : Map.of("x", a))) {
                return (float[]) r.get(0).getValue();
            }
        }
    }
}
