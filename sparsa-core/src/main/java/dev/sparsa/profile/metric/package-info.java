/**
 * The sparsity definitions, one class each, fed every window of one layer ({@link
 * dev.sparsa.profile.metric.LayerMetric} over {@link dev.sparsa.profile.metric.LayerWindow}): zero sparsity, CETT,
 * statistical top-k, dead and dormant neurons, PQ Index, predictivity (a low-rank predictor) and hardware affinity,
 * summarized as {@link dev.sparsa.profile.metric.Dist}ributions. See docs/ARCHITECTURE.md §6.
 */
package dev.sparsa.profile.metric;
