package dev.sparsa.profile.metric;

/**
 * One sparsity metric of one layer: fed every window of activations in order, then asked for its result record.
 * Implementations keep their own state and are used by one thread at a time.
 *
 * @param <R> the result record written into results.json
 */
public interface LayerMetric<R> {

    void accept(LayerWindow w);

    R result();
}
