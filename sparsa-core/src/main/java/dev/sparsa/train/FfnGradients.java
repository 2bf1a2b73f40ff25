package dev.sparsa.train;

import dev.sparsa.SparsaException;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.tensor.Parallel;

import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.Map;

/**
 * The gradient of a language-model loss with respect to every layer's FFN intermediate h = act(gate) ⊙ up, one
 * window at a time, for attribution scores: the trainer's forward and backward ({@link Backprop}) over an F32 copy
 * of the weights, with an {@link Backprop.FfnGradientTap} reading h and ∂L/∂h. L is the mean cross-entropy over the
 * window's predictions (positions 0 .. len−2) against either the model's own greedy predictions ({@link
 * Labels#GREEDY}: the attribution paper's labels, the dense model's output, so no reference text is needed) or the
 * text's next tokens ({@link Labels#NEXT}). The parameters' gradients are computed too (the backward is the
 * trainer's) and discarded.
 */
public final class FfnGradients implements AutoCloseable {

    /** What the loss is measured against. */
    public enum Labels { GREEDY, NEXT }

    /** Receives one layer's h and ∂L/∂h ({@code rows × f}, row = position) of the window; copy what you keep. */
    @FunctionalInterface
    public interface Sink {
        void layer(int layer, float[] h, float[] g, int rows, int f);
    }

    private final Arena arena = Arena.ofShared();      // the backward's worker threads read the weights
    private final LlamaParams p;
    private final Map<Integer, Backprop> engines = new HashMap<>();

    public FfnGradients(LlamaWeights w) {
        this.p = LlamaParams.copyOf(w, w.config(), arena);
    }

    /**
     * Forward and backward of {@code ids[0 .. len)} (len ≥ 2): {@code sink} gets every layer's h and ∂L/∂h for the
     * len − 1 predicting positions. Returns L (mean CE, nats).
     */
    public double run(int[] ids, int len, Labels labels, Parallel par, Sink sink) {
        if (len < 2 || len > ids.length) {
            throw new SparsaException.UsageException("attribution needs windows of at least 2 tokens, got " + len);
        }
        int t = len - 1;
        Backprop bp = engines.computeIfAbsent(t, k -> new Backprop(p, 1, k));
        int[] row = ids.length == len ? ids : java.util.Arrays.copyOf(ids, len);
        p.zeroGrads();
        bp.gradientTap(sink::layer);
        try {
            Backprop.Loss loss;
            if (labels == Labels.NEXT) {
                loss = bp.step(row, 0, 0f, null, 0f, 1f, par);
            } else {
                float[] logits = bp.forward(row, 0, par);
                int v = p.config().vocabSize();
                int[] greedy = new int[t];
                for (int r = 0; r < t; r++) {
                    int best = 0;
                    for (int c = 1; c < v; c++) {
                        if (logits[r * v + c] > logits[r * v + best]) {
                            best = c;
                        }
                    }
                    greedy[r] = best;
                }
                loss = bp.stepToTargets(row, 0, greedy, 0, 1f, par);
            }
            return loss.ce();
        } finally {
            bp.gradientTap(null);
        }
    }

    @Override
    public void close() {
        engines.clear();
        arena.close();
    }
}
