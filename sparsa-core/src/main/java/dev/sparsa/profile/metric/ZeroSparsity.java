package dev.sparsa.profile.metric;


/** Zero sparsity (docs/ARCHITECTURE.md §6): per token, the fraction of i with h_i = 0 exactly. */
public final class ZeroSparsity implements LayerMetric<Dist> {
    private final Dist.Acc acc = Dist.Acc.unit();

    @Override
    public void accept(LayerWindow w) {
        for (int t = 0; t < w.tokens(); t++) {
            acc.add(fraction(w.h(), t * w.f(), w.f()));
        }
    }

    /** Fraction of exact zeros in {@code h[off .. off+f)}. */
    public static double fraction(float[] h, int off, int f) {
        int z = 0;
        for (int i = 0; i < f; i++) {
            if (h[off + i] == 0f) {
                z++;
            }
        }
        return (double) z / f;
    }

    @Override
    public Dist result() {
        return acc.build();
    }
}
