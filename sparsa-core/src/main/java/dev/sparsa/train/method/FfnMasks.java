package dev.sparsa.train.method;

import dev.sparsa.SparsaException;
import dev.sparsa.train.AdamW;
import dev.sparsa.train.LlamaParams;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.function.IntPredicate;

/**
 * Unstructured pruning masks over the FFN weight matrices of every layer (gate and up {@code [F, D]}, down
 * {@code [D, F]}, row-major {@code [out, in]}): which weights are kept. {@link #apply} holds the pruned weights at
 * exactly zero after every optimizer step and zeroes their Adam moments, which is what masking the gradient does
 * (torch-style {@code grad[~mask] = 0} before the step: m and v of a pruned weight stay 0, so its update is 0) once
 * clipping has seen the full gradient, as in the SAP and AP reference code.
 */
public final class FfnMasks {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** The three FFN matrices of a layer. */
    public enum Kind {
        GATE("mlp.gate_proj.weight"), UP("mlp.up_proj.weight"), DOWN("mlp.down_proj.weight");

        final String suffix;

        Kind(String suffix) {
            this.suffix = suffix;
        }
    }

    /**
     * One pruned matrix.
     *
     * @param index position of the parameter in {@link LlamaParams#params()} (the optimizer's moment index)
     * @param rows  outputs (F for gate/up, D for down)
     * @param cols  inputs (D for gate/up, F for down)
     */
    public record Matrix(int layer, Kind kind, LlamaParams.Param param, int index, int rows, int cols) {
        public int size() {
            return rows * cols;
        }

        public String name() {
            return param.name();
        }
    }

    private final List<Matrix> matrices;
    private final BitSet[] pruned;

    private FfnMasks(List<Matrix> matrices) {
        this.matrices = List.copyOf(matrices);
        this.pruned = new BitSet[matrices.size()];
        for (int i = 0; i < pruned.length; i++) {
            pruned[i] = new BitSet(matrices.get(i).size());
        }
    }

    /** Every FFN matrix of {@code p}, nothing pruned; layer by layer, gate, up, down. */
    public static FfnMasks dense(LlamaParams p) {
        List<Matrix> ms = new ArrayList<>();
        List<LlamaParams.Param> all = p.params();
        for (int l = 0; l < p.config().numLayers(); l++) {
            for (Kind k : Kind.values()) {
                String name = "model.layers." + l + "." + k.suffix;
                LlamaParams.Param param = p.param(name);
                if (param == null) {
                    throw new IllegalArgumentException("no parameter " + name);
                }
                int[] shape = param.value().shape();
                ms.add(new Matrix(l, k, param, all.indexOf(param), shape[0], shape[1]));
            }
        }
        return new FfnMasks(ms);
    }

    public List<Matrix> matrices() {
        return matrices;
    }

    public Matrix matrix(int layer, Kind kind) {
        return matrices.get(layer * Kind.values().length + kind.ordinal());
    }

    public boolean kept(int m, int i) {
        return !pruned[m].get(i);
    }

    /** Weights kept in matrix m. */
    public int retained(int m) {
        return matrices.get(m).size() - pruned[m].cardinality();
    }

    /** Weights kept in row r of matrix m. */
    public int retainedInRow(int m, int r) {
        int c = matrices.get(m).cols();
        return c - pruned[m].get(r * c, (r + 1) * c).cardinality();
    }

    /** Fraction of all FFN weights pruned. */
    public double sparsity() {
        long total = 0;
        long off = 0;
        for (int m = 0; m < matrices.size(); m++) {
            total += matrices.get(m).size();
            off += pruned[m].cardinality();
        }
        return (double) off / total;
    }

    /** Fraction of matrix m pruned. */
    public double sparsity(int m) {
        return (double) pruned[m].cardinality() / matrices.get(m).size();
    }

    /** The current values of matrix m (a copy). */
    public float[] values(int m) {
        MemorySegment seg = matrices.get(m).param().data();
        float[] v = new float[matrices.get(m).size()];
        MemorySegment.copy(seg, F32, 0, v, 0, v.length);
        return v;
    }

    /** Writes {@code v} (every entry) into matrix m's parameter. */
    public void setValues(int m, float[] v) {
        MemorySegment.copy(v, 0, matrices.get(m).param().data(), F32, 0, v.length);
    }

    /**
     * Prunes the {@code count} kept weights of matrix m with the lowest {@code score} among those {@code eligible}
     * (ties: the lower index first, so the choice is deterministic); fewer when fewer are eligible. Returns how many
     * it pruned.
     */
    public int pruneLowest(int m, float[] score, int count, IntPredicate eligible) {
        return pruneLowest(m, score, 0, matrices.get(m).size(), count, eligible);
    }

    /** The same within entries {@code [from, to)} of matrix m (one row: Wanda's comparison group). */
    public int pruneLowest(int m, float[] score, int from, int to, int count, IntPredicate eligible) {
        if (count <= 0) {
            return 0;
        }
        long[] keys = new long[to - from];
        int n = 0;
        for (int i = from; i < to; i++) {
            if (!pruned[m].get(i) && eligible.test(i)) {
                keys[n++] = (long) sortable(score[i]) << 32 | (i & 0xFFFFFFFFL);
            }
        }
        Arrays.sort(keys, 0, n);
        int k = Math.min(count, n);
        for (int j = 0; j < k; j++) {
            pruned[m].set((int) keys[j]);
        }
        return k;
    }

    // a float's bits mapped to an int that orders as the floats do (NaN last)
    private static int sortable(float f) {
        int b = Float.floatToIntBits(f);
        return b >= 0 ? b : b ^ 0x7FFFFFFF;
    }

    /** Sets every pruned weight to 0 and its Adam moments (when {@code opt} is given) to 0. */
    public void apply(AdamW opt) {
        for (int m = 0; m < matrices.size(); m++) {
            Matrix mx = matrices.get(m);
            MemorySegment seg = mx.param().data();
            float[] mv = opt == null ? null : opt.m(mx.index());
            float[] vv = opt == null ? null : opt.v(mx.index());
            BitSet b = pruned[m];
            for (int i = b.nextSetBit(0); i >= 0; i = b.nextSetBit(i + 1)) {
                seg.setAtIndex(F32, i, 0f);
                if (mv != null) {
                    mv[i] = 0f;
                    vv[i] = 0f;
                }
            }
        }
    }

    /** The masks for a checkpoint: one base64 bitset of pruned entries per matrix, keys {@code prefix + name}. */
    public void state(String prefix, Map<String, String> out) {
        for (int m = 0; m < matrices.size(); m++) {
            out.put(prefix + matrices.get(m).name(), Base64.getEncoder().encodeToString(pruned[m].toByteArray()));
        }
    }

    /** Restores {@link #state}; a missing or foreign entry is a format error naming it. */
    public void restore(String prefix, Map<String, String> in) {
        for (int m = 0; m < matrices.size(); m++) {
            String key = prefix + matrices.get(m).name();
            String v = in.get(key);
            if (v == null) {
                throw new SparsaException.FormatException("checkpoint: method state has no mask " + key);
            }
            BitSet b;
            try {
                b = BitSet.valueOf(Base64.getDecoder().decode(v));
            } catch (IllegalArgumentException e) {
                throw new SparsaException.FormatException("checkpoint: mask " + key + " is not base64");
            }
            if (b.length() > matrices.get(m).size()) {
                throw new SparsaException.FormatException("checkpoint: mask " + key + " is longer than its matrix");
            }
            pruned[m] = b;
        }
    }
}
