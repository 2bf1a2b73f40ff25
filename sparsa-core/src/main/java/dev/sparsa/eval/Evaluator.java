package dev.sparsa.eval;

import dev.sparsa.SparsaException;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.model.llama.KvCache;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.tensor.Parallel;

import java.util.Arrays;

/**
 * Runs the protocol over a {@link LlamaModel}: every window is one batched forward from an empty cache (all logits),
 * its next-token losses come from {@link NextTokenLoss}, and a {@link ZeroCountTap} counts the zeros of act(gate).
 * Sums are in window and token order, so the result does not depend on the thread count of {@code par} (which the
 * forward and the loss rows use).
 *
 * <p>Meant to be called repeatedly (training validation): the KV cache and the id and loss buffers are kept between
 * calls with the same context length. Not thread-safe; one evaluator per thread.
 */
public final class Evaluator {

    /** Called after each window with the windows done, their total and the tokens predicted so far. */
    @FunctionalInterface
    public interface Progress {
        void windowDone(int done, int total, long predictedTokens);

        Progress NONE = (done, total, tokens) -> {
        };
    }

    private final LlamaModel model;
    private final Parallel par;
    private KvCache cache;
    private int[] ids;
    private double[] nll;

    public Evaluator(LlamaModel model, Parallel par) {
        this.model = model;
        this.par = par;
    }

    public EvalResult evaluate(EvalWindows windows) {
        return evaluate(windows, Progress.NONE);
    }

    /**
     * @throws SparsaException.UsageException when a token id is outside the model's vocabulary, the context length
     *         exceeds the model's max positions, or the model gives non-finite logits
     */
    public EvalResult evaluate(EvalWindows windows, Progress progress) {
        long t0 = System.nanoTime();
        ModelConfig cfg = model.config();
        int vocab = cfg.vocabSize();
        int ctx = windows.contextLength();
        TokenStream stream = windows.stream();
        int maxId = stream.maxId();
        if (maxId >= vocab) {
            throw new SparsaException.UsageException(stream.name() + ": token id " + maxId
                    + " is outside the model's vocabulary [0, " + vocab + ") (tokenizer and model do not match)");
        }
        if (cache == null || cache.capacity() != ctx) {
            cache = model.newCache(ctx);
            ids = new int[ctx];
            nll = new double[ctx];
        }
        ZeroCountTap tap = new ZeroCountTap(cfg.numLayers(), cfg.intermediateSize());
        int count = windows.count();
        double[] windowNats = new double[count];
        double nats = 0;
        long tokens = 0;
        long bytes = 0;
        for (int w = 0; w < count; w++) {
            int len = windows.length(w);
            int[] x = len == ctx ? ids : new int[len];
            stream.copyIds(windows.start(w), len, x);
            cache.clear();
            float[] logits = model.forward(cache, x, true, tap, par);
            NextTokenLoss.nll(logits, vocab, x, len, nll, par);
            double wn = 0;
            for (int t = 0; t + 1 < len; t++) {
                wn += nll[t];
            }
            if (!Double.isFinite(wn)) {
                throw new SparsaException.UsageException("the model gives non-finite logits in window " + w
                        + " (tokens " + windows.start(w) + ".." + (windows.start(w) + len - 1) + ")");
            }
            windowNats[w] = wn;
            nats += wn;
            tokens += len - 1;
            bytes += windows.predictedBytes(w);
            progress.windowDone(w + 1, count, tokens);
        }
        int layers = cfg.numLayers();
        double[] perLayer = new double[layers];
        double[] skippedPerLayer = new double[layers];
        long zeros = 0;
        long hZeros = 0;
        long values = 0;
        for (int l = 0; l < layers; l++) {
            perLayer[l] = tap.values[l] == 0 ? 0 : (double) tap.zeros[l] / tap.values[l];
            skippedPerLayer[l] = tap.values[l] == 0 ? 0 : (double) tap.hZeros[l] / tap.values[l];
            zeros += tap.zeros[l];
            hZeros += tap.hZeros[l];
            values += tap.values[l];
        }
        double ce = tokens == 0 ? Double.NaN : nats / tokens;
        return new EvalResult(ctx, count, stream.size(), tokens, bytes, nats, ce, Math.exp(ce),
                bytes == 0 ? Double.NaN : nats / Math.log(2) / bytes, values == 0 ? 0 : (double) zeros / values,
                perLayer, Arrays.copyOf(tap.zeros, layers), windowNats, (System.nanoTime() - t0) / 1e9,
                values == 0 ? 0 : (double) hZeros / values, skippedPerLayer);
    }
}
