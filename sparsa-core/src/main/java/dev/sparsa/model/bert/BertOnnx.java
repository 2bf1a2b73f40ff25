package dev.sparsa.model.bert;

import dev.sparsa.SparsaException.FormatException;
import dev.sparsa.SparsaException.UnsupportedException;
import dev.sparsa.io.onnx.OnnxModel;
import dev.sparsa.io.onnx.OnnxModel.Node;
import dev.sparsa.io.onnx.OnnxModel.OnnxTensor;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Int8Matrix;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Maps an ONNX export of a BERT encoder onto {@link BertModel} by walking the graph's data flow, not by
 * initializer names (exports from PyTorch name most weights {@code onnx::MatMul_NNN}). The mapping:
 * <ol>
 *   <li><b>Embeddings</b>: the {@code Gather} whose indices are the graph input {@code input_ids} (else the first
 *   input) reads the word table; following its {@code Add} chain, each added {@code Gather} over a float table is
 *   the token-type table (indices = {@code token_type_ids}) or the position table (any other indices; positions are
 *   taken as 0..len−1, as the {@code position_ids} buffer / {@code Range} of an HF export gives); then a LayerNorm.</li>
 *   <li><b>LayerNorm</b>: a {@code LayerNormalization} node, or its decomposition
 *   {@code Sub(x, ReduceMean(x)) → Pow 2 → ReduceMean → Add ε → Sqrt → Div → Mul γ → Add β}.</li>
 *   <li><b>Per layer</b>, from the hidden state h: exactly three linear consumers ({@code MatMul} with an
 *   initializer weight, or {@code Gemm}), each followed by an {@code Add} bias. Which is Q, K and V follows from
 *   where they lead through {@code Reshape/Transpose}: Q is input 0 and K input 1 of the score {@code MatMul};
 *   V is input 1 of the {@code MatMul} that takes the {@code Softmax}. Scalar {@code Mul/Div} on the way give the
 *   attention scale; the head count comes from the {@code Reshape} target shape (else from scale = 1/√d_head).
 *   The context goes through {@code Transpose/Reshape} to the output dense W_O + bias, {@code Add} with h, LayerNorm
 *   → a. From a: one linear W_in + bias, an activation subgraph ({@code Gelu}, or its {@code Erf} decomposition
 *   x·½(1+erf(x/√2)) → "gelu"; {@code Tanh} form → "gelu_new"; {@code Relu}), the linear W_out + bias, {@code Add}
 *   with a, LayerNorm → next h. Layers end where h has no linear consumers.</li>
 * </ol>
 * Anything else fails with a FormatException naming the file and the value where the walk stopped.
 *
 * <p>ONNX {@code MatMul(x, W)} stores W as {@code [in, out]} (y = x·W); Sparsa's linear weights are {@code [out, in]}
 * (y = W·x, one contiguous row per output for {@code Kernels.matvec/matmul}). Each weight is therefore transposed
 * once here into its own memory (auto arena, ~90 MB for MiniLM), so the ONNX file can be closed after loading.
 */
final class BertOnnx {
    private static final Set<String> SHAPE_OPS = Set.of("Reshape", "Transpose", "Identity", "Cast", "Squeeze",
            "Unsqueeze", "Dropout");

    private final OnnxModel m;
    private final String file;
    private final Map<String, Node> producer = new HashMap<>();
    private final Map<String, List<Node>> consumers = new HashMap<>();
    private final Map<String, OnnxTensor> constants = new HashMap<>();
    private final Set<String> graphInputs = new HashSet<>();
    private final Arena arena = Arena.ofAuto();
    /** False when only the architecture is wanted: weight matrices are then not transposed or copied. */
    private final boolean copyWeights;

    private BertOnnx(OnnxModel m, boolean copyWeights) {
        this.m = m;
        this.copyWeights = copyWeights;
        this.file = m.location();
        for (Node n : m.nodes()) {
            for (String o : n.outputs()) {
                producer.put(o, n);
            }
            for (String i : n.inputs()) {
                if (!i.isEmpty()) {
                    consumers.computeIfAbsent(i, k -> new ArrayList<>()).add(n);
                }
            }
            if (n.opType().equals("Constant")
                    && n.attribute("value").orElse(null) instanceof OnnxModel.Attribute.TensorValue(var a, var t)) {
                constants.put(n.output(0), t);
            }
        }
        for (OnnxModel.ValueInfo v : m.inputs()) {
            graphInputs.add(v.name());
        }
    }

    static BertModel load(OnnxModel m) {
        Mapped b = new BertOnnx(m, true).checkedMap();
        return new BertModel(b.config(), b.weights());
    }

    /**
     * The operators the BERT patterns above are made of (and the shape arithmetic around them); a graph that does
     * not map and has a node outside this set is reported by that node, which is more use than where the walk
     * stopped.
     */
    private static final Set<String> KNOWN_OPS = Set.of("Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Erf", "Tanh",
            "Relu", "Gelu", "FastGelu", "ReduceMean", "LayerNormalization", "Softmax", "MatMul", "Gemm",
            "MatMulInteger", "DynamicQuantizeLinear", "DequantizeLinear", "Gather", "Reshape", "Transpose",
            "Identity", "Cast", "Squeeze", "Unsqueeze", "Dropout", "Shape", "Concat", "Slice", "Constant",
            "ConstantOfShape", "Range", "Expand", "Where", "Equal", "Not", "Less", "Greater", "Neg");

    /** {@link #map}, or when the graph does not map, the first node whose operator Sparsa does not know. */
    private Mapped checkedMap() {
        try {
            return map();
        } catch (FormatException | UnsupportedException e) {
            List<Node> unknown = m.nodes().stream().filter(n -> !KNOWN_OPS.contains(n.opType())
                    || !(n.domain() == null || n.domain().isEmpty() || n.domain().equals("ai.onnx")
                    || n.domain().equals("com.microsoft"))).toList();
            if (unknown.isEmpty()) {
                throw e;
            }
            Set<String> ops = new LinkedHashSet<>();
            unknown.forEach(n -> ops.add(opName(n)));
            throw new UnsupportedException(file + ": node '" + unknown.getFirst().name() + "' ("
                    + opName(unknown.getFirst()) + ") is an operator Sparsa does not run"
                    + (unknown.size() > 1 ? " (" + unknown.size() + " such nodes: " + String.join(", ", ops) + ")"
                    : "") + " (in a BERT encoder)");
        }
    }

    /**
     * The architecture of the BERT encoder in {@code m}, found by the same graph walk as {@link #load} but without
     * transposing or copying the weight matrices (their shapes are all the walk needs); a FormatException naming
     * the file when the graph is not a BERT encoder.
     */
    static ModelConfig describe(OnnxModel m) {
        return new BertOnnx(m, false).checkedMap().config();
    }

    /** What the walk finds: the config, and the weights (views of the file when not {@link #copyWeights}). */
    private record Mapped(ModelConfig config, BertModel.Weights weights) {
    }

    /** A dense layer found in the graph, and the value holding its output (after the bias). */
    private record Linear(BertModel.Linear lin, String out) {
        int rows() {
            return lin.rows();
        }
    }

    private record Norm(float[] gamma, float[] beta, float eps, String out) {
    }

    /** The graph walk: the embeddings, then one attention and one FFN block per layer, until h has no projections. */
    private Mapped map() {
        Embeddings emb = embeddings();
        int d = emb.word().cols();
        List<BertModel.Layer> layers = new ArrayList<>();
        String h = emb.ln().out();
        int heads = -1;
        int f = -1;
        float scale = Float.NaN;
        String act = null;
        while (true) {
            String where = "layer " + layers.size();
            Attention at = attention(h, d, where);
            if (at == null) {
                break;
            }
            if (heads >= 0 && (heads != at.heads() || Math.abs(scale - at.scale()) > 1e-6f * Math.abs(scale))) {
                throw notBert(where + ": attention heads or scale differ from layer 0");
            }
            heads = at.heads();
            scale = at.scale();
            Ffn ffn = ffn(at.ln().out(), d, where);
            if (f >= 0 && ffn.in().rows() != f) {
                throw notBert(where + ": intermediate width " + ffn.in().rows() + " differs from layer 0's " + f);
            }
            f = ffn.in().rows();
            if (act != null && !act.equals(ffn.act())) {
                throw notBert(where + ": activation " + ffn.act() + " differs from layer 0's " + act);
            }
            act = ffn.act();
            layers.add(new BertModel.Layer(at.q().lin(), at.k().lin(), at.v().lin(), at.o().lin(), at.ln().gamma(),
                    at.ln().beta(), ffn.in().lin(), ffn.out().lin(), ffn.ln().gamma(), ffn.ln().beta()));
            h = ffn.ln().out();
        }
        if (layers.isEmpty()) {
            throw notBert("no encoder layer after the embeddings");
        }
        Table type = emb.type();
        ModelConfig config = new ModelConfig("bert", d, f, layers.size(), heads, heads, d / heads,
                emb.word().rows(), emb.pos().rows(), emb.ln().eps(), 0f, null, act, 0f, false, true,
                type == null ? 0 : type.rows(), -1, -1);
        BertModel.Weights w = !copyWeights ? null : new BertModel.Weights(table(emb.word()), table(emb.pos()),
                type == null ? null : table(type), emb.ln().gamma(), emb.ln().beta(), List.copyOf(layers), scale);
        return new Mapped(config, w);
    }

    // ------------------------------------------------------------------------------------------------ blocks

    /** The embedding block: word, position and (optional) token-type tables, summed, then a LayerNorm. */
    private record Embeddings(Table word, Table pos, Table type, Norm ln) {
    }

    /**
     * An embedding table read by a Gather: a float initializer, or an int8/uint8 one whose gathered rows go through a
     * {@code DequantizeLinear} with one scale and zero point for the whole table (dynamic-int8 exports), in which
     * case {@code out} is the DequantizeLinear's output.
     */
    private record Table(OnnxTensor t, float scale, int zeroPoint, boolean quantized, String out) {
        int rows() {
            return (int) t.dims()[0];
        }

        int cols() {
            return (int) t.dims()[1];
        }
    }

    /** The table {@code gather} reads, or null when it reads no 2-D table along axis 0. */
    private Table tableOf(Node gather) {
        if (!gather.opType().equals("Gather") || gather.intAttr("axis", 0) != 0
                || !m.initializers().containsKey(gather.input(0))) {
            return null;
        }
        OnnxTensor t = m.initializer(gather.input(0));
        if (t.dims().length != 2) {
            return null;
        }
        if (OnnxModel.dtypeOf(t.dataType()) != null) {
            return new Table(t, 1f, 0, false, gather.output(0));
        }
        if (t.dataType() != OnnxModel.INT8 && t.dataType() != OnnxModel.UINT8) {
            return null;
        }
        List<Node> cs = consumers(gather.output(0));
        Node dq = cs.size() == 1 ? cs.getFirst() : null;
        if (dq == null || !dq.opType().equals("DequantizeLinear") || !dq.input(0).equals(gather.output(0))) {
            throw unsupported(gather, "gathers rows of the " + OnnxModel.typeName(t.dataType()) + " table '"
                    + gather.input(0) + "' that no DequantizeLinear turns into floats");
        }
        OnnxTensor s = constant(dq.input(1));
        OnnxTensor z = dq.inputs().size() > 2 && !dq.input(2).isEmpty() ? constant(dq.input(2)) : null;
        if (s == null || s.numel() != 1 || (dq.inputs().size() > 2 && !dq.input(2).isEmpty()
                && (z == null || z.numel() != 1))) {
            throw unsupported(dq, "dequantizes '" + gather.input(0) + "' with other than one constant scale and "
                    + "zero point for the whole table");
        }
        return new Table(t, s.floats()[0], z == null ? 0 : (int) z.longs()[0], true, dq.output(0));
    }

    /**
     * The table as an F32 tensor [rows, cols] in the loader's arena: a copy of a float table, or the int8 codes
     * dequantized ((q − z)·s in float, as DequantizeLinear computes it, so exact): 4 bytes per entry instead of 1
     * (MiniLM's word table: 11.7 MB stored, 46.9 MB in memory).
     */
    private Tensor table(Table tb) {
        if (!tb.quantized()) {
            return copy(floatInit(tb.t().name()));
        }
        long n = tb.t().numel();
        MemorySegment src = tb.t().data();
        MemorySegment seg = arena.allocate(4L * n, 64);
        boolean signed = tb.t().dataType() == OnnxModel.INT8;
        for (long i = 0; i < n; i++) {
            byte b = src.get(ValueLayout.JAVA_BYTE, i);
            int q = signed ? b : b & 0xff;
            seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, (q - tb.zeroPoint()) * tb.scale());
        }
        return new Tensor(tb.t().name(), DType.F32, new int[]{tb.rows(), tb.cols()}, seg);
    }

    private Embeddings embeddings() {
        String idsInput = graphInputs.contains("input_ids") ? "input_ids"
                : m.inputs().isEmpty() ? "" : m.inputs().getFirst().name();
        Table word = null;
        for (Node n : consumers(idsInput)) {
            if (word == null) {
                word = tableOf(n);
            }
        }
        if (word == null) {
            List<Node> readers = consumers(idsInput);
            throw notBert("no Gather of an embedding table indexed by the input '" + idsInput + "'"
                    + (readers.isEmpty() ? " (nothing reads it)" : "; it is read by " + describe(readers)));
        }
        int d = word.cols();
        Table pos = null;
        Table type = null;
        String cur = word.out();
        while (true) {
            List<Node> cs = consumers(cur);
            if (cs.size() != 1 || !cs.getFirst().opType().equals("Add")) {
                break;
            }
            Node add = cs.getFirst();
            String other = add.input(0).equals(cur) ? add.input(1) : add.input(0);
            Node g = producer.get(other);
            if (g != null && g.opType().equals("DequantizeLinear")) {
                g = producer.get(g.input(0));
            }
            Table table = g == null ? null : tableOf(g);
            if (table == null || !table.out().equals(other)) {
                break;
            }
            if (table.cols() != d) {
                throw notBert("embedding table " + g.input(0) + " has width " + table.cols() + ", not " + d);
            }
            if (g.input(1).equals("token_type_ids")) {
                type = table;
            } else {
                checkPositionIds(g.input(1));
                pos = table;
            }
            cur = add.output(0);
        }
        if (pos == null) {
            throw notBert("no position embedding Gather added to the word embeddings");
        }
        return new Embeddings(word, pos, type, layerNorm(cur, d, "embeddings"));
    }

    /** One self-attention block: Q, K, V, the head count and score scale, the output dense and the LayerNorm → a. */
    private record Attention(Linear q, Linear k, Linear v, int heads, float scale, Linear o, Norm ln) {
    }

    /** The attention block reading hidden state {@code h}; null when h has no linear consumers (after the last layer). */
    private Attention attention(String h, int d, String where) {
        List<Node> projections = linearConsumers(h);
        if (projections.isEmpty()) {
            return null;
        }
        if (projections.size() != 3) {
            throw notBert(where + ": expected 3 projections (Q, K, V) of '" + h + "', found " + projections.size());
        }
        Linear[] qkv = new Linear[3];
        Trace[] to = new Trace[3];
        for (int i = 0; i < 3; i++) {
            qkv[i] = linear(projections.get(i), d, d, where);
            to[i] = traceToMatMul(qkv[i].out(), where);
        }
        int qi = -1;
        int ki = -1;
        int vi = -1;
        for (int i = 0; i < 3; i++) {
            if (to[i].index() == 0) {
                qi = i;
            }
        }
        if (qi < 0) {
            throw notBert(where + ": no projection leads to the first input of an attention MatMul");
        }
        for (int i = 0; i < 3; i++) {
            if (i != qi && to[i].node() == to[qi].node() && to[i].index() == 1) {
                ki = i;
            } else if (i != qi && to[i].index() == 1) {
                vi = i;
            }
        }
        if (ki < 0 || vi < 0) {
            throw notBert(where + ": cannot tell the Q, K and V projections apart");
        }
        Node scoreMm = to[qi].node();
        Node ctxMm = to[vi].node();
        float scale = to[qi].scale() * to[ki].scale() * scoresToSoftmax(scoreMm, ctxMm, where);
        int[] hd = headsFromReshape(to[qi].reshape(), d);
        int dh = hd != null ? hd[1] : (int) Math.round(1.0 / (scale * (double) scale));
        if (dh <= 0 || d % dh != 0) {
            throw notBert(where + ": cannot determine the number of attention heads");
        }
        Node oNode = traceToLinear(ctxMm.output(0), where + " attention output");
        Linear o = linear(oNode, d, d, where + " attention output");
        Norm ln1 = layerNorm(residual(o.out(), h, where + " attention"), d, where + " attention");
        return new Attention(qkv[qi], qkv[ki], qkv[vi], d / dh, scale, o, ln1);
    }

    /** One FFN block: the intermediate dense, the activation subgraph, the output dense and the LayerNorm → next h. */
    private record Ffn(Linear in, String act, Linear out, Norm ln) {
    }

    /** The FFN block reading the attention block's output {@code a}. */
    private Ffn ffn(String a, int d, String where) {
        List<Node> ups = linearConsumers(a);
        if (ups.size() != 1) {
            throw notBert(where + ": expected 1 intermediate dense consuming '" + a + "', found " + ups.size());
        }
        Linear in = linear(ups.getFirst(), d, -1, where + " intermediate");
        int f = in.rows();
        ActivationWalk aw = activation(in.out(), where);
        Linear out = linear(aw.down(), f, d, where + " output");
        Norm ln2 = layerNorm(residual(out.out(), a, where + " output"), d, where + " output");
        return new Ffn(in, aw.act(), out, ln2);
    }

    // ------------------------------------------------------------------------------------------------ pieces

    /**
     * MatMul(x, W[in,out]) or Gemm(x, W, C) with W an initializer, or the dynamic-int8 form of MatMul (see
     * {@link #int8Linear}), then an optional Add of a bias initializer.
     */
    private Linear linear(Node n, int in, int out, String where) {
        Tensor wt = null;
        Int8Matrix q8 = null;
        float[] bias = null;
        String y = n.output(0);
        if (n.opType().equals("MatMulInteger")) {
            Int8Linear il = int8Linear(n, where);
            q8 = il.w();
            y = il.out();
        } else if (n.opType().equals("MatMul")) {
            OnnxTensor w = m.initializer(n.input(1));
            checkRank2(w, where);
            // ONNX [in, out] → Sparsa [out, in]: transpose once (see class comment).
            wt = transposed(w);
        } else { // Gemm: Y = alpha·x·op(W) + beta·C
            OnnxTensor w = m.initializer(n.input(1));
            checkRank2(w, where);
            if (n.floatAttr("alpha", 1f) != 1f || n.floatAttr("beta", 1f) != 1f || n.intAttr("transA", 0) != 0) {
                throw new UnsupportedException(file + ": " + where + ": Gemm with alpha/beta ≠ 1 or transA");
            }
            wt = n.intAttr("transB", 0) == 1 ? copy(asTensor(w)) : transposed(w);
            if (!n.input(2).isEmpty()) {
                bias = floats(n.input(2), wt.shape()[0], where + " bias");
            }
        }
        int rows = q8 != null ? q8.rows() : wt.shape()[0];
        int cols = q8 != null ? q8.cols() : wt.shape()[1];
        if ((in >= 0 && cols != in) || (out >= 0 && rows != out)) {
            throw notBert(where + ": weight " + n.input(1) + " is [in " + cols + ", out " + rows + "], expected [in "
                    + in + ", out " + (out >= 0 ? out : "F") + "]");
        }
        if (bias == null) {
            List<Node> cs = consumers(y);
            if (cs.size() == 1 && cs.getFirst().opType().equals("Add")) {
                Node add = cs.getFirst();
                String other = add.input(0).equals(y) ? add.input(1) : add.input(0);
                if (isFloatInit(other)) {
                    bias = floats(other, rows, where + " bias");
                    y = add.output(0);
                }
            }
        }
        float[] b = bias != null ? bias : new float[rows];
        return new Linear(q8 != null ? new BertModel.Linear.DynamicInt8(q8, b) : new BertModel.Linear.Dense(wt, b), y);
    }

    private record Int8Linear(Int8Matrix w, String out) {
    }

    /**
     * The dynamic-int8 MatMul of ONNX Runtime's quantizer ({@code quantize_dynamic}):
     * <pre>  (xq, xs, xz) = DynamicQuantizeLinear(x)
     *   yi = MatMulInteger(xq, Wq [in, out] int8/uint8, xz, Wz [out] or scalar)
     *   y  = Mul(Cast(yi, float), Mul(xs, Ws [out] or scalar))</pre>
     * Wq is transposed once into an {@link Int8Matrix} {@code [out, in]} with its scales and zero points (1 byte per
     * weight: MiniLM's 36 matrices take 10.6 MB instead of 42.5 MB as F32); returns it and y.
     */
    private Int8Linear int8Linear(Node mm, String where) {
        Node dql = producer.get(mm.input(0));
        if (dql == null || !dql.opType().equals("DynamicQuantizeLinear") || mm.inputs().size() < 3
                || !mm.input(2).equals(dql.output(2))) {
            throw unsupported(mm, "is a MatMulInteger whose input is not quantized by a DynamicQuantizeLinear "
                    + "with its own zero point");
        }
        OnnxTensor w = m.initializer(mm.input(1));
        int in = (int) w.dims()[0];
        int out = (int) w.dims()[1];
        int[] zero = new int[out];
        if (mm.inputs().size() > 3 && !mm.input(3).isEmpty()) {
            OnnxTensor z = constant(mm.input(3));
            if (z == null || z.dataType() != w.dataType() || (z.numel() != 1 && z.numel() != out)) {
                throw unsupported(mm, "has a weight zero point '" + mm.input(3) + "' that is not a constant of "
                        + out + " or 1 " + OnnxModel.typeName(w.dataType()) + " values");
            }
            long[] zs = z.longs();
            for (int o = 0; o < out; o++) {
                zero[o] = (int) zs[zs.length == 1 ? 0 : o];
            }
        }
        List<Node> cs = consumers(mm.output(0));
        Node cast = cs.size() == 1 ? cs.getFirst() : null;
        if (cast == null || !cast.opType().equals("Cast") || cast.intAttr("to", -1) != OnnxModel.FLOAT) {
            throw unsupported(mm, "is not followed by a Cast to float (the rescale of ONNX Runtime's quantizer)");
        }
        cs = consumers(cast.output(0));
        Node mul = cs.size() == 1 ? cs.getFirst() : null;
        Node scales = mul == null || !mul.opType().equals("Mul") ? null
                : producer.get(mul.input(0).equals(cast.output(0)) ? mul.input(1) : mul.input(0));
        String ws = scales == null || !scales.opType().equals("Mul") ? null
                : scales.input(0).equals(dql.output(1)) ? scales.input(1)
                : scales.input(1).equals(dql.output(1)) ? scales.input(0) : null;
        OnnxTensor wScale = ws == null ? null : constant(ws);
        if (wScale == null || wScale.dataType() != OnnxModel.FLOAT
                || (wScale.numel() != 1 && wScale.numel() != out)) {
            throw unsupported(mm, "is not rescaled by Mul(Cast(y), Mul(input scale, weight scale)) with a float "
                    + "weight scale of " + out + " or 1 values");
        }
        float[] sv = wScale.floats();
        float[] scale = new float[out];
        for (int o = 0; o < out; o++) {
            scale[o] = sv[sv.length == 1 ? 0 : o];
        }
        boolean unsigned = w.dataType() == OnnxModel.UINT8;
        if (unsigned) { // stored as q − 128 with z − 128: every q − z unchanged (Int8Matrix)
            for (int o = 0; o < out; o++) {
                zero[o] -= 128;
            }
        }
        MemorySegment src = w.data();
        MemorySegment seg;
        if (copyWeights) {
            seg = arena.allocate((long) in * out, 64);
            for (int o = 0; o < out; o++) {
                for (int i = 0; i < in; i++) {
                    byte b = src.get(ValueLayout.JAVA_BYTE, (long) i * out + o);
                    seg.set(ValueLayout.JAVA_BYTE, (long) o * in + i, unsigned ? (byte) (b - 128) : b);
                }
            }
        } else {
            seg = src; // describe(): the shape is all that is read
        }
        return new Int8Linear(new Int8Matrix(w.name() + "ᵀ", out, in, seg, scale, zero), mul.output(0));
    }

    /** LayerNormalization node, or its ReduceMean/Sub/Pow/Sqrt/Div/Mul/Add decomposition, applied to x. */
    private Norm layerNorm(String x, int d, String where) {
        for (Node n : consumers(x)) {
            if (n.opType().equals("LayerNormalization") && n.input(0).equals(x)) {
                if (n.intAttr("axis", -1) != -1) {
                    throw notBert(where + ": LayerNormalization over axis " + n.intAttr("axis", -1));
                }
                float[] beta = n.input(2).isEmpty() ? new float[d] : floats(n.input(2), d, where + " LayerNorm β");
                return new Norm(floats(n.input(1), d, where + " LayerNorm γ"), beta, n.floatAttr("epsilon", 1e-5f),
                        n.output(0));
            }
        }
        // x − mean(x)
        Node sub = consumers(x).stream().filter(n -> n.opType().equals("Sub") && n.input(0).equals(x)
                && producer.containsKey(n.input(1)) && producer.get(n.input(1)).opType().equals("ReduceMean")
                && producer.get(n.input(1)).input(0).equals(x)).findFirst()
                .orElseThrow(() -> notBert(where + ": expected a LayerNorm of '" + x + "'"));
        String c = sub.output(0);
        Node div = only(c, "Div", where + " LayerNorm");
        Node sqrt = producer.get(div.input(1));
        Node addEps = sqrt == null ? null : producer.get(sqrt.input(0));
        Node var = addEps == null ? null : producer.get(addEps.input(0));
        Node pow = var == null ? null : producer.get(var.input(0));
        if (sqrt == null || !sqrt.opType().equals("Sqrt") || !addEps.opType().equals("Add") || var == null
                || !var.opType().equals("ReduceMean") || pow == null || !pow.input(0).equals(c)
                || !(pow.opType().equals("Pow") || pow.opType().equals("Mul"))) {
            throw notBert(where + ": LayerNorm decomposition of '" + x + "' not recognized (variance)");
        }
        float eps = scalar(addEps.input(1), where + " LayerNorm ε");
        Node mul = only(div.output(0), "Mul", where + " LayerNorm γ");
        String g = mul.input(0).equals(div.output(0)) ? mul.input(1) : mul.input(0);
        Node add = only(mul.output(0), "Add", where + " LayerNorm β");
        String b = add.input(0).equals(mul.output(0)) ? add.input(1) : add.input(0);
        return new Norm(floats(g, d, where + " LayerNorm γ"), floats(b, d, where + " LayerNorm β"), eps,
                add.output(0));
    }

    /** The Add of {@code y} and the residual {@code x}; returns its output. */
    private String residual(String y, String x, String where) {
        for (Node n : consumers(y)) {
            if (n.opType().equals("Add") && (n.input(0).equals(x) || n.input(1).equals(x))) {
                return n.output(0);
            }
        }
        throw notBert(where + ": no residual Add of '" + y + "' and '" + x + "'");
    }

    /** Where a projection's output leads: an activation MatMul, the input index, scalar scale, the Reshape met. */
    private record Trace(Node node, int index, float scale, Node reshape) {
    }

    private Trace traceToMatMul(String v, String where) {
        float scale = 1f;
        Node reshape = null;
        for (int steps = 0; steps < 16; steps++) {
            List<Node> cs = consumers(v).stream().filter(n -> !n.opType().equals("Shape")).toList();
            if (cs.size() != 1) {
                break;
            }
            Node n = cs.getFirst();
            String op = n.opType();
            if (op.equals("MatMul") && !isFloatInit(n.input(1))) {
                return new Trace(n, n.input(0).equals(v) ? 0 : 1, scale, reshape);
            }
            if (op.equals("Reshape") && reshape == null) {
                reshape = n;
            }
            if (SHAPE_OPS.contains(op) && n.input(0).equals(v)) {
                v = n.output(0);
            } else if ((op.equals("Mul") || op.equals("Div")) && n.input(0).equals(v) && isScalar(n.input(1))) {
                float c = scalar(n.input(1), where);
                scale *= op.equals("Mul") ? c : 1f / c;
                v = n.output(0);
            } else {
                break;
            }
        }
        throw notBert(where + ": projection output '" + v + "' does not lead to an attention MatMul");
    }

    /** Checks scores → [scale] → [+mask] → Softmax → ctxMm input 0; returns the scale applied on the way. */
    private float scoresToSoftmax(Node scoreMm, Node ctxMm, String where) {
        float scale = 1f;
        String v = scoreMm.output(0);
        for (int steps = 0; steps < 16; steps++) {
            List<Node> cs = consumers(v);
            if (cs.size() != 1) {
                break;
            }
            Node n = cs.getFirst();
            String op = n.opType();
            if (op.equals("Softmax")) {
                String p = n.output(0);
                for (int k = 0; k < 4 && !ctxMm.input(0).equals(p); k++) {
                    List<Node> next = consumers(p);
                    if (next.size() != 1 || !SHAPE_OPS.contains(next.getFirst().opType())) {
                        break;
                    }
                    p = next.getFirst().output(0);
                }
                if (!ctxMm.input(0).equals(p)) {
                    throw notBert(where + ": attention probabilities do not feed the V MatMul");
                }
                return scale;
            }
            if ((op.equals("Mul") || op.equals("Div")) && n.input(0).equals(v) && isScalar(n.input(1))) {
                float c = scalar(n.input(1), where);
                scale *= op.equals("Mul") ? c : 1f / c;
            } else if (!op.equals("Add") && !op.equals("Where") && !SHAPE_OPS.contains(op)) {
                break;
            }
            v = n.output(0);
        }
        throw notBert(where + ": attention scores '" + v + "' do not lead to a Softmax");
    }

    /** [heads, headDim] from the last two entries of the Reshape's target shape, when they are constants. */
    private int[] headsFromReshape(Node reshape, int d) {
        if (reshape == null) {
            return null;
        }
        long[] shape = constInts(reshape.input(1));
        if (shape == null || shape.length < 2) {
            return null;
        }
        long heads = shape[shape.length - 2];
        long dh = shape[shape.length - 1];
        return heads > 0 && dh > 0 && heads * dh == d ? new int[]{(int) heads, (int) dh} : null;
    }

    /** The values of an int tensor known at load time: an initializer, a Constant, or a Concat of those
     * (unknown entries −1). */
    private long[] constInts(String v) {
        OnnxTensor t = constant(v);
        if (t != null && t.dataType() != OnnxModel.FLOAT) {
            return t.longs();
        }
        Node p = producer.get(v);
        if (p != null && p.opType().equals("Concat")) {
            List<Long> out = new ArrayList<>();
            for (String in : p.inputs()) {
                long[] part = constInts(in);
                if (part == null) {
                    out.add(-1L);
                } else {
                    for (long x : part) {
                        out.add(x);
                    }
                }
            }
            return out.stream().mapToLong(Long::longValue).toArray();
        }
        return null;
    }

    private Node traceToLinear(String v, String where) {
        for (int steps = 0; steps < 16; steps++) {
            List<Node> cs = consumers(v).stream().filter(n -> !n.opType().equals("Shape")).toList();
            if (cs.size() != 1) {
                break;
            }
            Node n = cs.getFirst();
            List<Node> lin = linearConsumers(v);
            if (lin.size() == 1) {
                return lin.getFirst();
            }
            if (!SHAPE_OPS.contains(n.opType())) {
                break;
            }
            v = n.output(0);
        }
        throw notBert(where + ": attention context '" + v + "' does not lead to the output dense");
    }

    private record ActivationWalk(String act, Node down) {
    }

    /** Walks the element-wise subgraph between W_in's output and the W_out linear, and names the activation. */
    private ActivationWalk activation(String g, String where) {
        Set<String> ops = new LinkedHashSet<>();
        Node down = null;
        ArrayDeque<String> queue = new ArrayDeque<>(List.of(g));
        Set<String> seen = new HashSet<>();
        String approx = "none";
        while (!queue.isEmpty()) {
            String v = queue.poll();
            if (!seen.add(v)) {
                continue;
            }
            if (seen.size() > 64) {
                throw notBert(where + ": the FFN activation after '" + g + "' does not reach a single output dense");
            }
            for (Node n : consumers(v)) {
                if (isLinear(n) || isDynamicQuantize(n)) {
                    for (Node lin : isLinear(n) ? List.of(n) : linearConsumers(v)) {
                        if (down != null && down != lin) {
                            throw notBert(where + ": the intermediate activation feeds more than one dense");
                        }
                        down = lin;
                    }
                    continue;
                }
                ops.add(n.opType());
                if (n.opType().equals("Gelu") || n.opType().equals("FastGelu")) {
                    approx = n.opType().equals("FastGelu") ? "tanh"
                            : n.attribute("approximate").orElse(null) instanceof OnnxModel.Attribute.Str(var k,
                                    var val) ? val : "none";
                }
                queue.addAll(n.outputs());
            }
        }
        if (down == null) {
            throw notBert(where + ": no output dense after the intermediate activation");
        }
        String act;
        if (ops.contains("Erf") || ((ops.contains("Gelu")) && approx.equals("none"))) {
            act = "gelu";
        } else if (ops.contains("Tanh") || ops.contains("FastGelu") || ops.contains("Gelu")) {
            act = "gelu_new";
        } else if (ops.equals(Set.of("Relu"))) {
            act = "relu";
        } else {
            throw new UnsupportedException(file + ": " + where + ": unsupported FFN activation built from " + ops);
        }
        return new ActivationWalk(act, down);
    }

    /** If position ids come from a Slice of an int initializer (HF's position_ids buffer), it must be 0..n−1. */
    private void checkPositionIds(String v) {
        Node p = producer.get(v);
        String src = p != null && p.opType().equals("Slice") ? p.input(0) : v;
        OnnxTensor t = constant(src);
        if (t == null || t.dataType() == OnnxModel.FLOAT) {
            return; // computed (Range, etc.): BERT's absolute positions 0..len−1
        }
        long[] ids = t.longs();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] != i) {
                throw new UnsupportedException(file + ": position ids '" + src + "' are not 0, 1, 2, ...");
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private List<Node> consumers(String v) {
        return consumers.getOrDefault(v, List.of());
    }

    private Node only(String v, String op, String where) {
        List<Node> cs = consumers(v).stream().filter(n -> n.opType().equals(op)).toList();
        if (cs.size() != 1) {
            throw notBert(where + ": expected one " + op + " consuming '" + v + "', found " + cs.size());
        }
        return cs.getFirst();
    }

    /**
     * The dense layers reading {@code v}: float MatMul/Gemm nodes with a weight initializer, and the
     * MatMulInteger nodes with an int8 weight initializer that read v's DynamicQuantizeLinear codes.
     */
    private List<Node> linearConsumers(String v) {
        List<Node> out = new ArrayList<>();
        for (Node n : consumers(v)) {
            if (isLinear(n)) {
                out.add(n);
            } else if (isDynamicQuantize(n) && n.input(0).equals(v)) {
                for (Node c : consumers(n.output(0))) {
                    if (c.opType().equals("MatMulInteger") && c.input(0).equals(n.output(0))) {
                        if (!isInt8Init(c.input(1))) {
                            throw unsupported(c, "multiplies by '" + c.input(1) + "', which is not an int8 or "
                                    + "uint8 weight matrix");
                        }
                        out.add(c);
                    } else {
                        throw unsupported(c, "reads the uint8 codes '" + n.output(0) + "' of DynamicQuantizeLinear '"
                                + n.name() + "'; they are run only as the input A of a MatMulInteger");
                    }
                }
            }
        }
        return out;
    }

    private static boolean isDynamicQuantize(Node n) {
        return n.opType().equals("DynamicQuantizeLinear");
    }

    private boolean isInt8Init(String v) {
        OnnxTensor t = m.initializers().get(v);
        return t != null && t.dims().length == 2
                && (t.dataType() == OnnxModel.INT8 || t.dataType() == OnnxModel.UINT8);
    }

    private boolean isLinear(Node n) {
        return (n.opType().equals("MatMul") || n.opType().equals("Gemm")) && isFloatInit(n.input(1))
                && m.initializer(n.input(1)).dims().length == 2;
    }

    private boolean isFloatInit(String v) {
        return m.initializers().containsKey(v) && OnnxModel.dtypeOf(m.initializer(v).dataType()) != null;
    }

    private OnnxTensor constant(String v) {
        OnnxTensor t = m.initializers().get(v);
        return t != null ? t : constants.get(v);
    }

    private boolean isScalar(String v) {
        OnnxTensor t = constant(v);
        return t != null && t.numel() == 1 && t.data() != null;
    }

    private float scalar(String v, String where) {
        if (!isScalar(v)) {
            throw notBert(where + ": '" + v + "' is not a scalar constant");
        }
        return constant(v).floats()[0];
    }

    private float[] floats(String v, int n, String where) {
        OnnxTensor t = constant(v);
        if (t == null || OnnxModel.dtypeOf(t.dataType()) == null) {
            throw notBert(where + ": '" + v + "' is not a float constant");
        }
        if (t.numel() != n) {
            throw notBert(where + ": '" + v + "' has " + t.numel() + " values, expected " + n);
        }
        return t.floats();
    }

    private Tensor floatInit(String name) {
        return m.tensor(name);
    }

    private static Tensor asTensor(OnnxTensor t) {
        return new Tensor(t.name(), OnnxModel.dtypeOf(t.dataType()), new int[]{(int) t.dims()[0], (int) t.dims()[1]},
                t.data());
    }

    private void checkRank2(OnnxTensor w, String where) {
        if (w.dims().length != 2 || OnnxModel.dtypeOf(w.dataType()) == null) {
            throw notBert(where + ": weight '" + w.name() + "' is " + w + ", expected a float matrix");
        }
    }

    /**
     * W [in, out] (ONNX) → Wᵀ [out, in] (Sparsa), as F32 in the loader's arena. Without {@link #copyWeights}, a
     * view of W's bytes under the shape [out, in]: right shape, wrong layout, only for {@link #describe}.
     */
    private Tensor transposed(OnnxTensor w) {
        int in = (int) w.dims()[0];
        int out = (int) w.dims()[1];
        if (!copyWeights) {
            return new Tensor(w.name() + "ᵀ", OnnxModel.dtypeOf(w.dataType()), new int[]{out, in}, w.data());
        }
        float[] src = w.floats();
        MemorySegment seg = arena.allocate(4L * in * out, 64);
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                seg.setAtIndex(ValueLayout.JAVA_FLOAT, (long) o * in + i, src[i * out + o]);
            }
        }
        return new Tensor(w.name() + "ᵀ", DType.F32, new int[]{out, in}, seg);
    }

    /** A copy out of the (mmap'd) file, so the model outlives the OnnxModel. */
    private Tensor copy(Tensor t) {
        return copyWeights ? t.copyTo(arena) : t;
    }

    private FormatException notBert(String problem) {
        return FormatException.of(file, "not a BERT encoder graph: " + problem);
    }

    /** A node in a pattern Sparsa does not run: names the file, the node and its operator. */
    private UnsupportedException unsupported(Node n, String problem) {
        return new UnsupportedException(file + ": node '" + n.name() + "' (" + opName(n) + ") " + problem);
    }

    private static String opName(Node n) {
        return n.domain() == null || n.domain().isEmpty() || n.domain().equals("ai.onnx") ? n.opType()
                : n.domain() + "." + n.opType();
    }

    /** "Op 'name', Op 'name' and N more" for an error message. */
    private static String describe(List<Node> nodes) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(3, nodes.size()); i++) {
            sb.append(i == 0 ? "" : ", ").append(opName(nodes.get(i))).append(" '").append(nodes.get(i).name())
                    .append("'");
        }
        return nodes.size() > 3 ? sb + " and " + (nodes.size() - 3) + " more" : sb.toString();
    }
}
