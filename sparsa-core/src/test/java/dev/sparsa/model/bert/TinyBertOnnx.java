package dev.sparsa.model.bert;

import dev.sparsa.io.onnx.OnnxModel;
import dev.sparsa.io.onnx.ProtoWriter;

import java.util.Random;

/**
 * Writes a tiny random BERT encoder as an ONNX graph (opset 20) in the style of newer exporters — fused
 * {@code LayerNormalization} and {@code Gelu} ops, the 1/√d scale as a {@code Mul} on Q before the score MatMul,
 * constant Reshape targets — to check {@link BertOnnx}'s other mapping paths against ONNX Runtime.
 * D = 8, 2 heads of 4, F = 16, 2 layers, vocabulary 20, 16 positions, 2 token types.
 */
public final class TinyBertOnnx {
    static final int D = 8;
    static final int HEADS = 2;
    static final int F = 16;
    static final int LAYERS = 2;
    static final int VOCAB = 20;
    static final int POS = 16;

    private final ProtoWriter graph = new ProtoWriter();
    private final Random rnd;
    /** Dense layers as ONNX Runtime's dynamic quantizer writes them (null: float MatMul + Add). */
    private Int8Flaw int8;
    /** The DynamicQuantizeLinear of each quantized input (one per input value, shared by Q, K and V). */
    private final java.util.Map<String, String> quantized = new java.util.HashMap<>();

    private TinyBertOnnx(long seed) {
        rnd = new Random(seed);
    }

    /**
     * What is wrong with layer 0's intermediate dense ({@code l0_in}) in a dynamic-int8 graph of
     * {@link #buildInt8}: nothing, or one way a hand-edited or foreign graph departs from ONNX Runtime's quantizer.
     */
    public enum Int8Flaw {
        NONE,
        /** the weight zero point names a value that is not there */
        ZERO_POINT_MISSING,
        /** 3 zero points for 16 output columns */
        ZERO_POINT_WRONG_SHAPE,
        /** uint8 zero points for an int8 weight */
        ZERO_POINT_WRONG_TYPE,
        /** the weight scale names a value that is not there */
        SCALE_MISSING,
        /** 3 scales for 16 output columns */
        SCALE_WRONG_SHAPE,
        /** int64 scales */
        SCALE_WRONG_TYPE,
        /** MatMulInteger's int32 output goes straight into the Mul */
        NO_CAST,
        /** MatMulInteger's input zero point is a constant, not the DynamicQuantizeLinear's */
        FOREIGN_INPUT_ZERO_POINT,
        /** the weight is a float matrix */
        FLOAT_WEIGHT,
        /** the DynamicQuantizeLinear's codes also feed a Relu */
        CODES_FEED_RELU
    }

    /** {@link #build} with every dense layer dynamic-int8 (per-column int8 weights), {@code flaw} at l0_in. */
    public static byte[] buildInt8(long seed, Int8Flaw flaw) {
        TinyBertOnnx b = new TinyBertOnnx(seed);
        b.int8 = flaw;
        return b.model("gelu", false);
    }

    /**
     * @param act "gelu" (Gelu op), "gelu_tanh" (Gelu approximate=tanh) or "relu"
     * @param skipResidual leave out the FFN residual Add of the last layer (not a BERT any more)
     */
    public static byte[] build(long seed, String act, boolean skipResidual) {
        TinyBertOnnx b = new TinyBertOnnx(seed);
        return b.model(act, skipResidual);
    }

    private byte[] model(String act, boolean skipResidual) {
        // attention mask → additive (1 − m) · float.min, shape [B, 1, 1, T]
        ints("axes12", new long[]{2}, 1, 2);
        ints("axes0", new long[]{1}, 0);
        ints("one_i", new long[0], 1);
        floats("one", new long[0], 1f);
        floats("neg", new long[0], -Float.MAX_VALUE);
        node("Unsqueeze", new String[]{"attention_mask", "axes12"}, "m4");
        node("Cast", new String[]{"m4"}, "m4f", intAttr("to", OnnxModel.FLOAT));
        node("Sub", new String[]{"one", "m4f"}, "inv");
        node("Mul", new String[]{"inv", "neg"}, "mask_add");
        // embeddings
        floats("word", new long[]{VOCAB, D}, rand(VOCAB * D, 1f));
        floats("type", new long[]{2, D}, rand(2 * D, 1f));
        floats("pos", new long[]{POS, D}, rand(POS * D, 1f));
        long[] ar = new long[POS];
        for (int i = 0; i < POS; i++) {
            ar[i] = i;
        }
        ints("position_ids", new long[]{1, POS}, ar);
        ints("zero1", new long[]{1}, 0);
        node("Gather", new String[]{"word", "input_ids"}, "we");
        node("Gather", new String[]{"type", "token_type_ids"}, "te");
        node("Shape", new String[]{"input_ids"}, "shape");
        node("Gather", new String[]{"shape", "one_i"}, "len");
        node("Unsqueeze", new String[]{"len", "axes0"}, "len1");
        ints("one1", new long[]{1}, 1);
        node("Slice", new String[]{"position_ids", "zero1", "len1", "one1"}, "pids");
        node("Gather", new String[]{"pos", "pids"}, "pe");
        node("Add", new String[]{"we", "te"}, "e1");
        node("Add", new String[]{"e1", "pe"}, "e2");
        String h = layerNorm("e2", "emb_ln");
        ints("shape4", new long[]{4}, 0, 0, HEADS, D / HEADS);
        ints("shape3", new long[]{3}, 0, 0, D);
        floats("scale", new long[0], (float) (1 / Math.sqrt(D / HEADS)));
        for (int l = 0; l < LAYERS; l++) {
            String p = "l" + l + "_";
            String q = linear(h, p + "q", D, D);
            node("Mul", new String[]{q, "scale"}, p + "qs");
            node("Reshape", new String[]{p + "qs", "shape4"}, p + "qr");
            node("Transpose", new String[]{p + "qr"}, p + "qt", intsAttr("perm", 0, 2, 1, 3));
            String k = linear(h, p + "k", D, D);
            node("Reshape", new String[]{k, "shape4"}, p + "kr");
            node("Transpose", new String[]{p + "kr"}, p + "kt", intsAttr("perm", 0, 2, 3, 1));
            String v = linear(h, p + "v", D, D);
            node("Reshape", new String[]{v, "shape4"}, p + "vr");
            node("Transpose", new String[]{p + "vr"}, p + "vt", intsAttr("perm", 0, 2, 1, 3));
            node("MatMul", new String[]{p + "qt", p + "kt"}, p + "s");
            node("Add", new String[]{p + "s", "mask_add"}, p + "sm");
            node("Softmax", new String[]{p + "sm"}, p + "pr", intAttr("axis", -1));
            node("MatMul", new String[]{p + "pr", p + "vt"}, p + "c");
            node("Transpose", new String[]{p + "c"}, p + "ct", intsAttr("perm", 0, 2, 1, 3));
            node("Reshape", new String[]{p + "ct", "shape3"}, p + "cr");
            String o = linear(p + "cr", p + "o", D, D);
            node("Add", new String[]{o, h}, p + "r1");
            String a = layerNorm(p + "r1", p + "ln1");
            String g = linear(a, p + "in", D, F);
            switch (act) {
                case "gelu" -> node("Gelu", new String[]{g}, p + "act");
                case "gelu_tanh" -> node("Gelu", new String[]{g}, p + "act", strAttr("approximate", "tanh"));
                default -> node("Relu", new String[]{g}, p + "act");
            }
            String out = linear(p + "act", p + "out", F, D);
            if (skipResidual && l == LAYERS - 1) {
                h = layerNorm(out, p + "ln2");
            } else {
                node("Add", new String[]{out, a}, p + "r2");
                h = layerNorm(p + "r2", p + "ln2");
            }
        }
        node("Identity", new String[]{h}, "last_hidden_state");
        for (String in : new String[]{"input_ids", "attention_mask", "token_type_ids"}) {
            graph.message(11, valueInfo(in, OnnxModel.INT64, "batch", "seq"));
        }
        graph.message(12, valueInfo("last_hidden_state", OnnxModel.FLOAT, "batch", "seq", Integer.toString(D)));
        return new ProtoWriter().varint(1, 9).string(2, "sparsa-test")
                .message(8, new ProtoWriter().string(1, "").varint(2, 20)).message(7, graph).toByteArray();
    }

    /** MatMul(x, W[in, out]) + b, or its dynamic-int8 form. */
    private String linear(String x, String name, int in, int out) {
        if (int8 != null) {
            return int8Linear(x, name, in, out, name.equals("l0_in") ? int8 : Int8Flaw.NONE);
        }
        floats(name + "_w", new long[]{in, out}, rand(in * out, (float) (1 / Math.sqrt(in))));
        floats(name + "_b", new long[]{out}, rand(out, 0.1f));
        node("MatMul", new String[]{x, name + "_w"}, name + "_mm");
        node("Add", new String[]{name + "_mm", name + "_b"}, name + "_y");
        return name + "_y";
    }

    /**
     * ONNX Runtime's {@code quantize_dynamic} form of x·W + b: (xq, xs, xz) = DynamicQuantizeLinear(x),
     * y = Mul(Cast(MatMulInteger(xq, Wq, xz, Wz)), Mul(xs, Ws)) + b, Wq int8 [in, out] with a zero point and a
     * scale per output column; {@code flaw} breaks one part of it.
     */
    private String int8Linear(String x, String name, int in, int out, Int8Flaw flaw) {
        String dq = quantized.get(x);
        if (dq == null) {
            dq = x + "_dq";
            ProtoWriter n = new ProtoWriter().string(1, x).string(2, dq + "_q").string(2, dq + "_s")
                    .string(2, dq + "_z").string(3, dq + "_node").string(4, "DynamicQuantizeLinear");
            graph.message(1, n);
            quantized.put(x, dq);
            if (flaw == Int8Flaw.CODES_FEED_RELU) {
                node("Relu", new String[]{dq + "_q"}, dq + "_odd");
            }
        }
        byte[] q = new byte[in * out];
        byte[] z = new byte[out];
        float[] sc = new float[out];
        for (int i = 0; i < q.length; i++) {
            q[i] = (byte) (rnd.nextInt(255) - 127);
        }
        for (int o = 0; o < out; o++) {
            z[o] = (byte) (rnd.nextInt(9) - 4);
            sc[o] = (float) (0.6 / Math.sqrt(in)) / 127f;
        }
        if (flaw == Int8Flaw.FLOAT_WEIGHT) {
            floats(name + "_wq", new long[]{in, out}, rand(in * out, 1f));
        } else {
            graph.message(5, ProtoWriter.tensor(name + "_wq", OnnxModel.INT8, new long[]{in, out}, q));
        }
        switch (flaw) {
            case ZERO_POINT_MISSING -> { }
            case ZERO_POINT_WRONG_SHAPE -> graph.message(5, ProtoWriter.tensor(name + "_wz", OnnxModel.INT8,
                    new long[]{3}, new byte[3]));
            case ZERO_POINT_WRONG_TYPE -> graph.message(5, ProtoWriter.tensor(name + "_wz", OnnxModel.UINT8,
                    new long[]{out}, z));
            default -> graph.message(5, ProtoWriter.tensor(name + "_wz", OnnxModel.INT8, new long[]{out}, z));
        }
        switch (flaw) {
            case SCALE_MISSING -> { }
            case SCALE_WRONG_SHAPE -> floats(name + "_ws", new long[]{3}, 1f, 1f, 1f);
            case SCALE_WRONG_TYPE -> ints(name + "_ws", new long[]{out}, new long[out]);
            default -> floats(name + "_ws", new long[]{out}, sc);
        }
        String xz = flaw == Int8Flaw.FOREIGN_INPUT_ZERO_POINT ? name + "_xz" : dq + "_z";
        if (flaw == Int8Flaw.FOREIGN_INPUT_ZERO_POINT) {
            graph.message(5, ProtoWriter.tensor(xz, OnnxModel.UINT8, new long[0], new byte[]{(byte) 128}));
        }
        node("MatMulInteger", new String[]{dq + "_q", name + "_wq", xz, name + "_wz"}, name + "_mmi");
        String yi = name + "_mmi";
        if (flaw != Int8Flaw.NO_CAST) {
            node("Cast", new String[]{yi}, name + "_mmf", intAttr("to", OnnxModel.FLOAT));
            yi = name + "_mmf";
        }
        node("Mul", new String[]{dq + "_s", name + "_ws"}, name + "_scale");
        node("Mul", new String[]{yi, name + "_scale"}, name + "_mm");
        floats(name + "_b", new long[]{out}, rand(out, 0.1f));
        node("Add", new String[]{name + "_mm", name + "_b"}, name + "_y");
        return name + "_y";
    }

    private String layerNorm(String x, String name) {
        float[] gamma = rand(D, 0.2f);
        for (int i = 0; i < D; i++) {
            gamma[i] += 1f;
        }
        floats(name + "_g", new long[]{D}, gamma);
        floats(name + "_b", new long[]{D}, rand(D, 0.1f));
        ProtoWriter eps = new ProtoWriter().string(1, "epsilon").f32(2, 1e-12f).varint(20, 1);
        node("LayerNormalization", new String[]{x, name + "_g", name + "_b"}, name, eps,
                intAttr("axis", -1));
        return name;
    }

    private float[] rand(int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextGaussian() * scale;
        }
        return v;
    }

    private void node(String op, String[] inputs, String output, ProtoWriter... attrs) {
        ProtoWriter n = new ProtoWriter();
        for (String i : inputs) {
            n.string(1, i);
        }
        n.string(2, output).string(3, output + "_node").string(4, op);
        for (ProtoWriter a : attrs) {
            n.message(5, a);
        }
        graph.message(1, n);
    }

    private void floats(String name, long[] dims, float... v) {
        graph.message(5, ProtoWriter.tensor(name, OnnxModel.FLOAT, dims, ProtoWriter.le(v)));
    }

    private void ints(String name, long[] dims, long... v) {
        ProtoWriter t = new ProtoWriter();
        for (long d : dims) {
            t.varint(1, d);
        }
        graph.message(5, t.varint(2, OnnxModel.INT64).string(8, name).packed(7, v));
    }

    private static ProtoWriter intAttr(String name, long v) {
        return new ProtoWriter().string(1, name).varint(3, v).varint(20, 2);
    }

    private static ProtoWriter intsAttr(String name, long... v) {
        return new ProtoWriter().string(1, name).packed(8, v).varint(20, 7);
    }

    private static ProtoWriter strAttr(String name, String v) {
        return new ProtoWriter().string(1, name).string(4, v).varint(20, 3);
    }

    private static ProtoWriter valueInfo(String name, int elem, String... dims) {
        ProtoWriter shape = new ProtoWriter();
        for (String d : dims) {
            shape.message(1, d.chars().allMatch(Character::isDigit) ? new ProtoWriter().varint(1, Long.parseLong(d))
                    : new ProtoWriter().string(2, d));
        }
        ProtoWriter tensorType = new ProtoWriter().varint(1, elem).message(2, shape);
        return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
    }
}
