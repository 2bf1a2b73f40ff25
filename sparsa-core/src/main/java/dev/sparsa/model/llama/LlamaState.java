package dev.sparsa.model.llama;

import dev.sparsa.model.FfnActivations;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Rotary;

/**
 * The activation workspace of a Llama forward over up to {@link #capacity()} rows (tokens), allocated once, as
 * llama3.java's {@code State}: one {@link Slot} per op output. Inference ({@link #forInference}) has one slot that
 * every layer reuses; training ({@link #forTraining}) has one slot per layer, which additionally keeps what the
 * backward reads (the layer's input and mid residual, the attention probabilities), so the backward walks the
 * same ops in reverse over the values the forward left. Not thread-safe: one per sequence or training loop.
 */
public final class LlamaState {
    private final int capacity;
    private final int seqLen;
    /** Residual stream {@code [rows, D]}. */
    public final float[] x;
    /** Per-op outputs: one slot (inference) or one per layer (training). */
    public final Slot[] slots;
    /** Final RMSNorm output {@code [rows, D]} and its 1/rms per row. */
    public final float[] xf;
    public final float[] rstdF;
    Rotary.Table rope;

    /** What one layer's ops write. Training-only fields are null in inference. */
    public static final class Slot {
        /** Input residual of the layer {@code [rows, D]} (training). */
        public final float[] xIn;
        /** RMSNorm(xIn) ⊙ g_attn {@code [rows, D]} and 1/rms per row. */
        public final float[] xn1;
        public final float[] rstd1;
        /** Query / key / value projections after RoPE {@code [rows, H·hd]}, {@code [rows, KV·hd]}. */
        public final float[] q;
        public final float[] k;
        public final float[] v;
        /** Softmax probabilities {@code [seqs, H, T, T]} (training). */
        public final float[] probs;
        /** Attention output, heads concatenated {@code [rows, H·hd]}. */
        public final float[] att;
        /** Residual after the attention block {@code [rows, D]} (training). */
        public final float[] xMid;
        /** RMSNorm(xMid) ⊙ g_ffn {@code [rows, D]} and 1/rms per row. */
        public final float[] xn2;
        public final float[] rstd2;
        /** FFN intermediates (gate, up, act, h). */
        public final FfnActivations ffn;
        /** A sub-block's output before it is added to the residual {@code [rows, D]}. */
        public final float[] out;

        Slot(ModelConfig c, int rows, int seqs, int seqLen, FfnActivations ffn, boolean training) {
            int d = c.hiddenSize();
            int qDim = c.numHeads() * c.headDim();
            int kvDim = c.numKvHeads() * c.headDim();
            xIn = training ? new float[rows * d] : null;
            xn1 = new float[rows * d];
            rstd1 = new float[rows];
            q = new float[rows * qDim];
            k = new float[rows * kvDim];
            v = new float[rows * kvDim];
            probs = training ? new float[Math.multiplyExact(Math.multiplyExact(seqs * c.numHeads(), seqLen), seqLen)]
                    : null;
            att = new float[rows * qDim];
            xMid = training ? new float[rows * d] : null;
            xn2 = new float[rows * d];
            rstd2 = new float[rows];
            this.ffn = ffn;
            out = new float[rows * d];
        }
    }

    private LlamaState(ModelConfig c, int capacity, int seqLen, Slot[] slots) {
        this.capacity = capacity;
        this.seqLen = seqLen;
        this.slots = slots;
        int d = c.hiddenSize();
        x = new float[capacity * d];
        xf = new float[capacity * d];
        rstdF = new float[capacity];
    }

    /** One slot for every layer, for forwards of up to {@code rows} tokens of one sequence. */
    public static LlamaState forInference(ModelConfig c, FfnKernel kernel, int rows) {
        check(rows);
        Slot s = new Slot(c, rows, 1, rows, kernel.newActivations(rows), false);
        return new LlamaState(c, rows, rows, new Slot[] {s});
    }

    /**
     * One slot per layer for {@code seqs} sequences of {@code seqLen} tokens (rows = seqs · seqLen), keeping what the
     * backward needs. {@code kernels[ℓ]} makes layer ℓ's FFN intermediates.
     */
    public static LlamaState forTraining(ModelConfig c, FfnKernel[] kernels, int seqs, int seqLen) {
        int rows = Math.multiplyExact(seqs, seqLen);
        check(rows);
        Slot[] slots = new Slot[c.numLayers()];
        for (int l = 0; l < slots.length; l++) {
            slots[l] = new Slot(c, rows, seqs, seqLen, kernels[l].newActivations(rows), true);
        }
        return new LlamaState(c, rows, seqLen, slots);
    }

    private static void check(int rows) {
        if (rows < 1) {
            throw new IllegalArgumentException("a forward workspace needs at least one row, got " + rows);
        }
    }

    /** Most rows (tokens) one forward may hold. */
    public int capacity() {
        return capacity;
    }

    /** Tokens per sequence of a training workspace (its capacity for inference). */
    public int seqLen() {
        return seqLen;
    }

    /** Whether this workspace keeps what the backward needs. */
    public boolean training() {
        return slots[0].xIn != null;
    }

    /** The slot layer ℓ writes. */
    public Slot slot(int layer) {
        return slots.length == 1 ? slots[0] : slots[layer];
    }

    /** A RoPE table covering positions [0, positions), grown on demand. */
    Rotary.Table rope(float[] invFreq, int positions) {
        if (rope == null || rope.positions() < positions) {
            int n = rope == null ? positions : Math.max(positions, 2 * rope.positions());
            rope = Rotary.Table.of(invFreq, n);
        }
        return rope;
    }
}
