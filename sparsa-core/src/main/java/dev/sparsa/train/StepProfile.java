package dev.sparsa.train;

import java.util.function.LongSupplier;

/**
 * Wall-clock time of each section of a training step, for {@code sparsa bench-train --profile}: the caller marks
 * the start of a step ({@link #start}) and every section ends with a {@link #lap} on the thread that drives the
 * step, so a lap is the time since the previous one (the kernels are synchronous: a lap waits for every worker).
 * Laps are summed per op and per layer ({@code layer} −1: not in a layer). Two {@code nanoTime} reads per section,
 * about 80 per tiny-llama step: microseconds against a step of a second. Optionally also the Java heap each op
 * allocates (all threads; a trainer that allocates its buffers once allocates ~nothing per step). Not thread-safe:
 * one step driver.
 */
public final class StepProfile {

    /** The sections of one step, in the order they run; dX/dW are the two GEMMs of a linear's backward. */
    public enum Op {
        ZERO_GRADS("zero gradients"),
        EMBED("fwd  ids + embedding lookup"),
        FWD_LAYER("fwd  block (norms, q/k/v/o, RoPE, attention, FFN)"),
        HEAD("fwd  final norm + LM head"),
        LOSS("loss softmax cross-entropy + dlogits"),
        STATS("loss activation statistics"),
        BWD_HEAD_DX("bwd  LM head dX"),
        BWD_HEAD_DW("bwd  LM head dW"),
        BWD_FINAL_NORM("bwd  final RMSNorm"),
        BWD_DOWN_DX("bwd  W_down dX"),
        BWD_DOWN_DW("bwd  W_down dW"),
        BWD_GLU("bwd  act(gate)*up"),
        BWD_GATE_UP_DX("bwd  W_gate, W_up dX"),
        BWD_GATE_UP_DW("bwd  W_gate, W_up dW"),
        BWD_FFN_NORM("bwd  FFN RMSNorm"),
        BWD_O_DX("bwd  W_o dX"),
        BWD_O_DW("bwd  W_o dW"),
        BWD_ATTENTION("bwd  attention"),
        BWD_ROPE("bwd  RoPE"),
        BWD_QKV_DX("bwd  W_q, W_k, W_v dX"),
        BWD_QKV_DW("bwd  W_q, W_k, W_v dW"),
        BWD_ATTN_NORM("bwd  attention RMSNorm"),
        BWD_EMBED("bwd  embedding scatter-add"),
        OPTIMIZER("opt  grad norm + clip + AdamW");

        private final String label;

        Op(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    private static final Op[] OPS = Op.values();
    private final int layers;
    private final long[][] nanos;      // [op][layer + 1]
    private final long[] bytes;        // [op], heap allocated during the op
    private final LongSupplier heap;   // heap bytes allocated so far by all threads, or null
    private long last;
    private long lastHeap;
    private int steps;

    /** Times only. */
    public StepProfile(int layers) {
        this(layers, null);
    }

    /**
     * Times, and the Java heap each op allocates when {@code heapAllocated} (bytes allocated so far by all threads,
     * e.g. {@link TrainBench#heapCounter()}) is not null.
     */
    public StepProfile(int layers, LongSupplier heapAllocated) {
        this.layers = layers;
        this.nanos = new long[OPS.length][layers + 1];
        this.bytes = new long[OPS.length];
        this.heap = heapAllocated;
    }

    /** Marks the start of a step. */
    public void start() {
        steps++;
        if (heap != null) {
            lastHeap = heap.getAsLong();
        }
        last = System.nanoTime();
    }

    /** Ends section {@code op} of layer {@code layer} (−1: outside the layers). */
    public void lap(Op op, int layer) {
        long now = System.nanoTime();
        nanos[op.ordinal()][layer + 1] += now - last;
        if (heap != null) {
            long h = heap.getAsLong();
            bytes[op.ordinal()] += h - lastHeap;
            lastHeap = h;
            now = System.nanoTime();                  // the counter's own time goes to no section
        }
        last = now;
    }

    /** Forgets everything measured (after the warm-up steps). */
    public void reset() {
        for (long[] row : nanos) {
            java.util.Arrays.fill(row, 0);
        }
        java.util.Arrays.fill(bytes, 0);
        steps = 0;
    }

    /** Whether {@link #allocatedBytes} is measured. */
    public boolean countsAllocation() {
        return heap != null;
    }

    /** Heap bytes allocated during {@code op}, summed over layers and steps (0 when not counted). */
    public long allocatedBytes(Op op) {
        return bytes[op.ordinal()];
    }

    /** Steps started since the last reset. */
    public int steps() {
        return steps;
    }

    public int layers() {
        return layers;
    }

    /** Seconds spent in {@code op}, summed over all layers and steps. */
    public double seconds(Op op) {
        long s = 0;
        for (long n : nanos[op.ordinal()]) {
            s += n;
        }
        return s / 1e9;
    }

    /** Seconds spent in {@code op} of layer {@code layer} (−1: outside the layers), summed over steps. */
    public double seconds(Op op, int layer) {
        return nanos[op.ordinal()][layer + 1] / 1e9;
    }

    /** Seconds in all backward sections of layer {@code layer}, summed over steps. */
    public double backwardSeconds(int layer) {
        long s = 0;
        for (Op op : OPS) {
            if (op.name().startsWith("BWD_")) {
                s += nanos[op.ordinal()][layer + 1];
            }
        }
        return s / 1e9;
    }

    /** Seconds in all sections, summed over steps. */
    public double totalSeconds() {
        double s = 0;
        for (Op op : OPS) {
            s += seconds(op);
        }
        return s;
    }
}
