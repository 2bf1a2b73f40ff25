package dev.sparsa.profile.metric;


/**
 * Dynamic dead-neuron rate (AP; docs/ARCHITECTURE.md §6): per token, the fraction of neurons that are not active; and the
 * neurons never active on the whole corpus. "Active" is {@link LayerWindow#active()}.
 *
 * @see LayerContext for the definition of active
 */
public final class DeadNeurons implements LayerMetric<DeadNeurons.Result> {

    /**
     * @param rate             per-token dead-neuron rate
     * @param neverActive      neurons never active on any token
     * @param neverActiveFraction neverActive / F
     * @param tokens           tokens seen
     */
    public record Result(Dist rate, int neverActive, double neverActiveFraction, long tokens) {
    }

    private final Dist.Acc rate = Dist.Acc.unit();
    private long[] counts;
    private long tokens;

    @Override
    public void accept(LayerWindow w) {
        int f = w.f();
        if (counts == null) {
            counts = new long[f];
        }
        boolean[] a = w.active();
        for (int t = 0; t < w.tokens(); t++) {
            int on = 0;
            for (int i = 0; i < f; i++) {
                if (a[t * f + i]) {
                    on++;
                    counts[i]++;
                }
            }
            rate.add(1 - (double) on / f);
            tokens++;
        }
    }

    @Override
    public Result result() {
        int never = 0;
        if (counts != null) {
            for (long c : counts) {
                if (c == 0) {
                    never++;
                }
            }
        }
        return new Result(rate.build(), never, counts == null ? 0 : (double) never / counts.length, tokens);
    }
}
