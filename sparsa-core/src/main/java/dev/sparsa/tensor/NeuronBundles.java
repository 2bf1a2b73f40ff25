package dev.sparsa.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Neuron bundles (PowerInfer, Song et al. 2023; "neuron clusters" of PowerInfer-2): the weights one FFN neuron i
 * reads, stored adjacent so that an active neuron is one contiguous read: optionally its gate row
 * {@code W_gate[i,:]}, its up row {@code W_up[i,:]} and its down column {@code W_down[:,i]} (the row d_i of the
 * transposed down projection), one record of {@link #stride()} bytes (a multiple of 64) per neuron:
 * <pre>
 *   record i = [ gate row (gateType, D) | up row (upType, D) | down column (downType, D) | pad to 64 B ]
 * </pre>
 * Gate and up rows are byte copies of the source rows (lossless, their dtype kept); the down column is the source
 * column converted to {@code downType} (lossless for the source's own float dtype, ggml's reference quantizer for
 * Q8_0: see {@code dev.sparsa.infer.ExactSparseFfn} for the bound). The dot products and accumulations run the same
 * per-dtype row loops as {@link Kernels#dotRow} and {@link Kernels#axpyRow}, so each value is bit-identical to them
 * on the same bytes. The record is built once at load in the caller's arena.
 */
public final class NeuronBundles {
    private final int neurons;
    private final int dim;
    private final DType gateType;
    private final DType upType;
    private final DType downType;
    private final long upOff;
    private final long downOff;
    private final long stride;
    private final MemorySegment data;

    private NeuronBundles(int neurons, int dim, DType gateType, DType upType, DType downType, long upOff, long downOff,
                          long stride, MemorySegment data) {
        this.neurons = neurons;
        this.dim = dim;
        this.gateType = gateType;
        this.upType = upType;
        this.downType = downType;
        this.upOff = upOff;
        this.downOff = downOff;
        this.stride = stride;
        this.data = data;
    }

    /**
     * Bundles of {@code up} [F, D] and {@code down} [D, F] (down stored as {@code downType}), with the gate rows of
     * {@code gate} [F, D] first when it is not null. {@code downType} quantized needs D to be a multiple of 32.
     */
    public static NeuronBundles of(Tensor gate, Tensor up, Tensor down, DType downType, Arena arena) {
        int f = up.rows();
        int d = up.cols();
        if (down.rows() != d || down.cols() != f || (gate != null && (gate.rows() != f || gate.cols() != d))) {
            throw new IllegalArgumentException("bundles need gate/up [F, D] and down [D, F], got "
                    + (gate == null ? "" : gate.describe() + ", ") + up.describe() + ", " + down.describe());
        }
        if (downType.quantized() && d % downType.blockSize() != 0) {
            throw new IllegalArgumentException(down.describe() + ": cannot store columns as " + downType + ", " + d
                    + " rows is not a multiple of " + downType.blockSize());
        }
        long gateBytes = gate == null ? 0 : gate.rowBytes();
        long upOff = gateBytes;
        long downOff = upOff + up.rowBytes();
        long stride = (downOff + downType.bytesFor(d) + 63) / 64 * 64;
        MemorySegment dst = arena.allocate(Math.multiplyExact(stride, (long) f), 64);
        for (int i = 0; i < f; i++) {
            long rec = i * stride;
            if (gate != null) {
                MemorySegment.copy(gate.data(), i * gate.rowBytes(), dst, rec, gateBytes);
            }
            MemorySegment.copy(up.data(), i * up.rowBytes(), dst, rec + upOff, up.rowBytes());
        }
        float[] buf = new float[32 * f];
        float[] col = new float[32];
        for (int r0 = 0; r0 < d; r0 += 32) {                       // 32 rows of W_down = one block of every column
            int nr = Math.min(32, d - r0);
            for (int j = 0; j < nr; j++) {
                Kernels.getRow(down, r0 + j, buf, j * f);
            }
            long at = downOff + downType.bytesFor(r0);
            for (int c = 0; c < f; c++) {
                for (int j = 0; j < nr; j++) {
                    col[j] = buf[j * f + c];
                }
                Quant.quantize(downType, col, 0, nr, dst, c * stride + at);
            }
        }
        return new NeuronBundles(f, d, gate == null ? null : gate.dtype(), up.dtype(), downType, upOff, downOff,
                stride, Tensor.plainNative(dst));                  // the segment class of every tensor (Tensor)
    }

    /** Number of neurons F. */
    public int neurons() {
        return neurons;
    }

    /** Hidden size D (the length of every row and column). */
    public int dim() {
        return dim;
    }

    /** Whether the records start with the gate row. */
    public boolean hasGate() {
        return gateType != null;
    }

    public DType upType() {
        return upType;
    }

    public DType downType() {
        return downType;
    }

    /** Bytes of one record (a multiple of 64). */
    public long stride() {
        return stride;
    }

    /** Bytes of all records: the memory the bundles cost. */
    public long bytes() {
        return data.byteSize();
    }

    /** Bytes an active neuron reads: its up row and down column (plus its gate row when {@code withGate}). */
    public long activeBytes(boolean withGate) {
        return (withGate ? upOff : 0) + (downOff - upOff) + downType.bytesFor(dim);
    }

    /** Bytes of one gate row in the records (0 without gates). */
    public long gateBytes() {
        return upOff;
    }

    /** {@code W_gate[i,:] · x[xo ..)} from the record (needs {@link #hasGate()}). */
    public float dotGate(int i, float[] x, int xo) {
        return Kernels.dot(gateType, data, i * stride, x, xo, dim);
    }

    /**
     * {@code out[o_t] = W_gate[i,:] · x[x_t ..)} for four tokens t, the row read once; each value bit-identical to
     * {@link #dotGate} (needs {@link #hasGate()}).
     */
    public void dotGate4(int i, float[] x, int x0, int x1, int x2, int x3, float[] out, int o0, int o1, int o2,
                         int o3) {
        long base = i * stride;
        switch (gateType) {
            case Q8_0 -> Q8_0Rows.dot4(data, base, x, x0, x1, x2, x3, dim, out, o0, o1, o2, o3);
            case BF16 -> Bf16Rows.dot4(data, base, x, x0, x1, x2, x3, dim, out, o0, o1, o2, o3);
            case Q4_0 -> Q4_0Rows.dot4(data, base, x, x0, x1, x2, x3, dim, out, o0, o1, o2, o3);
            default -> {
                out[o0] = dotGate(i, x, x0);
                out[o1] = dotGate(i, x, x1);
                out[o2] = dotGate(i, x, x2);
                out[o3] = dotGate(i, x, x3);
            }
        }
    }

    /**
     * {@code out[o_t] = W_gate[i_t,:] · x[xo ..)} for four neurons t (one token), the four records read side by side
     * (four memory streams in flight where one record at a time restarts the prefetcher); each value bit-identical
     * to {@link #dotGate} (needs {@link #hasGate()}).
     */
    public void dotGateRows4(int i0, int i1, int i2, int i3, float[] x, int xo, float[] out, int o0, int o1, int o2,
                             int o3) {
        long r0 = i0 * stride, r1 = i1 * stride, r2 = i2 * stride, r3 = i3 * stride;
        switch (gateType) {
            case Q8_0 -> Q8_0Rows.dotRows4(data, r0, r1, r2, r3, x, xo, dim, out, o0, o1, o2, o3);
            case BF16 -> Bf16Rows.dotRows4(data, r0, r1, r2, r3, x, xo, dim, out, o0, o1, o2, o3);
            case Q4_0 -> Q4_0Rows.dotRows4(data, r0, r1, r2, r3, x, xo, dim, out, o0, o1, o2, o3);
            default -> {
                out[o0] = dotGate(i0, x, xo);
                out[o1] = dotGate(i1, x, xo);
                out[o2] = dotGate(i2, x, xo);
                out[o3] = dotGate(i3, x, xo);
            }
        }
    }

    /** {@code W_up[i,:] · x[xo ..)} from the record. */
    public float dotUp(int i, float[] x, int xo) {
        return Kernels.dot(upType, data, i * stride + upOff, x, xo, dim);
    }

    /**
     * {@code out[o_t] = W_up[i,:] · x[x_t ..)} for four tokens t, the row read once; each value bit-identical to
     * {@link #dotUp}.
     */
    public void dotUp4(int i, float[] x, int x0, int x1, int x2, int x3, float[] out, int o0, int o1, int o2, int o3) {
        long base = i * stride + upOff;
        switch (upType) {
            case Q8_0 -> Q8_0Rows.dot4(data, base, x, x0, x1, x2, x3, dim, out, o0, o1, o2, o3);
            case BF16 -> Bf16Rows.dot4(data, base, x, x0, x1, x2, x3, dim, out, o0, o1, o2, o3);
            case Q4_0 -> Q4_0Rows.dot4(data, base, x, x0, x1, x2, x3, dim, out, o0, o1, o2, o3);
            default -> {
                out[o0] = dotUp(i, x, x0);
                out[o1] = dotUp(i, x, x1);
                out[o2] = dotUp(i, x, x2);
                out[o3] = dotUp(i, x, x3);
            }
        }
    }

    /**
     * {@code out[o_t] = W_up[i_t,:] · x[xo ..)} for four neurons t (one token), the four records read side by side
     * (see {@link #dotGateRows4}); each value bit-identical to {@link #dotUp}.
     */
    public void dotUpRows4(int i0, int i1, int i2, int i3, float[] x, int xo, float[] out, int o0, int o1, int o2,
                           int o3) {
        long o = upOff;
        long r0 = i0 * stride + o, r1 = i1 * stride + o, r2 = i2 * stride + o, r3 = i3 * stride + o;
        switch (upType) {
            case Q8_0 -> Q8_0Rows.dotRows4(data, r0, r1, r2, r3, x, xo, dim, out, o0, o1, o2, o3);
            case BF16 -> Bf16Rows.dotRows4(data, r0, r1, r2, r3, x, xo, dim, out, o0, o1, o2, o3);
            case Q4_0 -> Q4_0Rows.dotRows4(data, r0, r1, r2, r3, x, xo, dim, out, o0, o1, o2, o3);
            default -> {
                out[o0] = dotUp(i0, x, xo);
                out[o1] = dotUp(i1, x, xo);
                out[o2] = dotUp(i2, x, xo);
                out[o3] = dotUp(i3, x, xo);
            }
        }
    }

    /**
     * {@code y[y_t + c] += a_t · W_down[c, i]} for four outputs t (one neuron, four tokens), the column read once;
     * bit-identical to four {@link #axpyDown} calls.
     */
    public void axpyDownTo4(int i, float a0, float a1, float a2, float a3, float[] y, int y0, int y1, int y2, int y3,
                            int c0, int c1) {
        long base = i * stride + downOff;
        switch (downType) {
            case Q8_0 -> Q8_0Rows.axpyTo4(data, base, a0, a1, a2, a3, y, y0, y1, y2, y3, c0, c1);
            case BF16 -> Bf16Rows.axpyTo4(data, base, a0, a1, a2, a3, y, y0, y1, y2, y3, c0, c1);
            default -> {
                axpyDown(i, a0, y, y0, c0, c1);
                axpyDown(i, a1, y, y1, c0, c1);
                axpyDown(i, a2, y, y2, c0, c1);
                axpyDown(i, a3, y, y3, c0, c1);
            }
        }
    }

    /** {@code y[yo + c] += a · W_down[c, i]} for c in [c0, c1) (c0 and c1 block-aligned for a quantized down). */
    public void axpyDown(int i, float a, float[] y, int yo, int c0, int c1) {
        Kernels.axpy(downType, data, i * stride + downOff, a, y, yo, c0, c1);
    }

    /**
     * Four {@link #axpyDown} calls in this order (i0 first), bit-identical to them; Q8_0 and BF16 keep y in registers
     * between the four FMAs.
     */
    public void axpyDown4(int i0, int i1, int i2, int i3, float a0, float a1, float a2, float a3, float[] y, int yo,
                          int c0, int c1) {
        long o = downOff;
        switch (downType) {
            case Q8_0 -> Q8_0Rows.axpy4(data, i0 * stride + o, i1 * stride + o, i2 * stride + o, i3 * stride + o,
                    a0, a1, a2, a3, y, yo, c0, c1);
            case BF16 -> Bf16Rows.axpy4(data, i0 * stride + o, i1 * stride + o, i2 * stride + o, i3 * stride + o,
                    a0, a1, a2, a3, y, yo, c0, c1);
            default -> {
                axpyDown(i0, a0, y, yo, c0, c1);
                axpyDown(i1, a1, y, yo, c0, c1);
                axpyDown(i2, a2, y, yo, c0, c1);
                axpyDown(i3, a3, y, yo, c0, c1);
            }
        }
    }

    /**
     * {@code out[o + rows[k]] = W_gate[rows[k],:]·x[xo ..)} for k in [k0, k1): a list of neurons' gate rows, four
     * records side by side ({@link #dotGateRows4}), the rest one by one; each value bit-identical to {@link #dotGate}.
     */
    public void dotGateList(int[] rows, int k0, int k1, float[] x, int xo, float[] out, int o) {
        int k = k0;
        for (; k + 4 <= k1; k += 4) {
            int i0 = rows[k];
            int i1 = rows[k + 1];
            int i2 = rows[k + 2];
            int i3 = rows[k + 3];
            dotGateRows4(i0, i1, i2, i3, x, xo, out, o + i0, o + i1, o + i2, o + i3);
        }
        for (; k < k1; k++) {
            out[o + rows[k]] = dotGate(rows[k], x, xo);
        }
    }

    /** {@link #dotGateList} for the up rows ({@link #dotUpRows4}, {@link #dotUp}). */
    public void dotUpList(int[] rows, int k0, int k1, float[] x, int xo, float[] out, int o) {
        int k = k0;
        for (; k + 4 <= k1; k += 4) {
            int i0 = rows[k];
            int i1 = rows[k + 1];
            int i2 = rows[k + 2];
            int i3 = rows[k + 3];
            dotUpRows4(i0, i1, i2, i3, x, xo, out, o + i0, o + i1, o + i2, o + i3);
        }
        for (; k < k1; k++) {
            out[o + rows[k]] = dotUp(rows[k], x, xo);
        }
    }

}
