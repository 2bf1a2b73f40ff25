/**
 * Profiling activation sparsity: {@link dev.sparsa.profile.Profiler} runs a {@link dev.sparsa.profile.ProfiledModel}
 * over token {@link dev.sparsa.profile.Windows} in four passes (calibration, measurement, predictivity, quality vs
 * sparsity), with taps on the FFNs, into {@link dev.sparsa.profile.ProfileResults} (the schema of results.json).
 * Metrics are in {@code profile.metric}, model adapters in {@code profile.adapter}. See docs/ARCHITECTURE.md §6.
 */
package dev.sparsa.profile;
