package dev.sparsa.perf;

import dev.sparsa.infer.Sampler;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.llama.KvCache;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.tensor.Parallel;

/** Counts active (act ≠ 0) neurons per layer over the tokens it sees: the activity a sparse kernel's bytes follow. */
public final class ActivityTap implements ActivationTap {
    private final long[] active;
    private final long[] tokens;
    private final int f;

    /** For {@code layers} layers of FFN width {@code f}. */
    public ActivityTap(int layers, int f) {
        active = new long[layers];
        tokens = new long[layers];
        this.f = f;
    }

    /** Runs prompt + {@code decode} greedy tokens untimed and counts the activity of the decoded tokens. */
    public static ActivityTap record(LlamaModel model, int[] prompt, int decode, Parallel par) {
        ActivityTap tap = new ActivityTap(model.numLayers(), model.config().intermediateSize());
        KvCache cache = model.newCache(prompt.length + decode);
        int next = Sampler.argmax(model.forward(cache, prompt, false, ActivationTap.NONE, par));
        for (int i = 1; i < decode; i++) {
            next = Sampler.argmax(model.decode(cache, next, tap, par));
        }
        return tap;
    }

    @Override
    public void onFfn(int layer, int position, float[] x, int xOff, float[] gate, float[] act, float[] h, int off) {
        long n = 0;
        for (int i = off; i < off + f; i++) {
            if (act[i] != 0f) {
                n++;
            }
        }
        active[layer] += n;
        tokens[layer]++;
    }

    /** Mean active neurons per token in a layer. */
    public double meanActive(int layer) {
        return tokens[layer] == 0 ? 0 : (double) active[layer] / tokens[layer];
    }

    /** Mean fraction of active neurons over the layers of {@code m}. */
    public double activeFraction(LlamaModel m) {
        double s = 0;
        for (int l = 0; l < m.numLayers(); l++) {
            s += meanActive(l) / m.config().intermediateSize();
        }
        return s / m.numLayers();
    }
}
