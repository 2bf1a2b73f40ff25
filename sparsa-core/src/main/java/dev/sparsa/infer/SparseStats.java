package dev.sparsa.infer;

import java.util.concurrent.atomic.LongAdder;

/**
 * What sparse kernels measured while they ran, for reports ({@code sparsa eval --sparse MODE}): the share of each
 * projection's inputs a TEAL kernel kept, and a predictor's recall and precision against the neurons that are really
 * active (which costs the dense gate on top: kernels measure only when given a {@code SparseStats}). Counters are
 * {@link LongAdder}s, so kernels of concurrent sequences may share one; the counts do not depend on the thread count.
 */
public final class SparseStats {

    /** An input site of a projection: the inputs of q, k, v (xn), o (att), gate and up (the FFN input), down (h). */
    public enum Site {
        Q, K, V, O, GATE, UP, DOWN;

        /** The lower-case name used in files and JSON ({@code q}, ..., {@code down}). */
        public String key() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final int layers;
    private final LongAdder[][] kept;
    private final LongAdder[][] seen;
    private final LongAdder[] candidates;
    private final LongAdder[] active;
    private final LongAdder[] hits;
    private final LongAdder[] neurons;

    public SparseStats(int layers) {
        this.layers = layers;
        int s = Site.values().length;
        kept = adders(layers, s);
        seen = adders(layers, s);
        candidates = adders(1, layers)[0];
        active = adders(1, layers)[0];
        hits = adders(1, layers)[0];
        neurons = adders(1, layers)[0];
    }

    private static LongAdder[][] adders(int a, int b) {
        LongAdder[][] r = new LongAdder[a][b];
        for (LongAdder[] row : r) {
            for (int j = 0; j < b; j++) {
                row[j] = new LongAdder();
            }
        }
        return r;
    }

    public int layers() {
        return layers;
    }

    /** {@code keptInputs} of {@code total} inputs of {@code site} in layer ℓ were non-zero after thresholding. */
    public void input(int layer, Site site, long keptInputs, long total) {
        kept[layer][site.ordinal()].add(keptInputs);
        seen[layer][site.ordinal()].add(total);
    }

    /**
     * A predictor chose {@code cand} candidates among {@code f} neurons, {@code act} neurons are really active and
     * {@code hit} of them were among the candidates.
     */
    public void predicted(int layer, long cand, long act, long hit, long f) {
        candidates[layer].add(cand);
        active[layer].add(act);
        hits[layer].add(hit);
        neurons[layer].add(f);
    }

    /** Share of the inputs of {@code site} in layer ℓ that were zeroed (NaN when none was seen). */
    public double inputSparsity(int layer, Site site) {
        long n = seen[layer][site.ordinal()].sum();
        return n == 0 ? Double.NaN : 1 - (double) kept[layer][site.ordinal()].sum() / n;
    }

    /** Share of the inputs of {@code site} zeroed over all layers (NaN when none was seen). */
    public double inputSparsity(Site site) {
        long k = 0;
        long n = 0;
        for (int l = 0; l < layers; l++) {
            k += kept[l][site.ordinal()].sum();
            n += seen[l][site.ordinal()].sum();
        }
        return n == 0 ? Double.NaN : 1 - (double) k / n;
    }

    /** Whether any input site was counted (a TEAL model). */
    public boolean hasInputs() {
        for (LongAdder[] row : seen) {
            for (LongAdder a : row) {
                if (a.sum() > 0) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Whether a predictor was measured. */
    public boolean hasPredictor() {
        for (LongAdder a : neurons) {
            if (a.sum() > 0) {
                return true;
            }
        }
        return false;
    }

    /** |C ∩ A| / |A| in layer ℓ (1 when nothing was active), or over all layers for ℓ = -1. */
    public double recall(int layer) {
        long a = sum(active, layer);
        return a == 0 ? 1 : (double) sum(hits, layer) / a;
    }

    /** |C ∩ A| / |C| in layer ℓ (1 when there was no candidate), or over all layers for ℓ = -1. */
    public double precision(int layer) {
        long c = sum(candidates, layer);
        return c == 0 ? 1 : (double) sum(hits, layer) / c;
    }

    /** |C| / F in layer ℓ, or over all layers for ℓ = -1 (NaN when nothing was measured). */
    public double candidateShare(int layer) {
        long f = sum(neurons, layer);
        return f == 0 ? Double.NaN : (double) sum(candidates, layer) / f;
    }

    private long sum(LongAdder[] a, int layer) {
        if (layer >= 0) {
            return a[layer].sum();
        }
        long s = 0;
        for (LongAdder x : a) {
            s += x.sum();
        }
        return s;
    }
}
