package dev.sparsa.train;

import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnKernel;
import dev.sparsa.model.llama.LlamaBlock;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaState;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.model.llama.Rope;
import dev.sparsa.tensor.Parallel;

/**
 * The frozen starting model of self-distillation: its logits on a training batch, from the same forward
 * ({@link LlamaBlock}) over its own weights, with a forward-only workspace allocated once.
 */
public final class Teacher {
    private final LlamaWeights w;
    private final FfnKernel[] ffn;
    private final LlamaState st;
    private final float[] invFreq;
    private final float[] logits;
    private final int[] inputs;
    private final int seqs;
    private final int t;

    public Teacher(LlamaWeights weights, int seqs, int t) {
        this.w = weights;
        LlamaModel m = LlamaModel.of(weights, DenseFfn::new);
        this.ffn = new FfnKernel[weights.config().numLayers()];
        for (int l = 0; l < ffn.length; l++) {
            ffn[l] = m.ffn(l);
        }
        this.seqs = seqs;
        this.t = t;
        this.st = LlamaState.forInference(weights.config(), ffn[0], seqs * t);
        this.invFreq = Rope.invFreq(weights.config());
        this.logits = new float[Math.multiplyExact(seqs * t, weights.config().vocabSize())];
        this.inputs = new int[seqs * t];
    }

    /** The teacher's logits [seqs·t, V] for the inputs of the batch {@code tokens[off ..]} (rows of t + 1). */
    public float[] logits(int[] tokens, int off, Parallel par) {
        for (int b = 0; b < seqs; b++) {
            System.arraycopy(tokens, off + b * (t + 1), inputs, b * t, t);
        }
        LlamaBlock.Rows r = new LlamaBlock.Rows(seqs, t, 0);
        LlamaBlock.embed(w, inputs, 0, seqs * t, st.x);
        for (int l = 0; l < ffn.length; l++) {
            LlamaBlock.layer(w, l, ffn[l], st, r, null, invFreq, ActivationTap.NONE, par);
        }
        LlamaBlock.head(w, st, 0, seqs * t, logits, par);
        return logits;
    }
}
