/**
 * Benchmark figures: prefill/decode timing ({@link dev.sparsa.perf.Bench}, {@link dev.sparsa.perf.Stats}), bytes per
 * decoded token ({@link dev.sparsa.perf.DecodeBytes}, from measured activity), the memory bandwidth probe
 * ({@link dev.sparsa.perf.Bandwidth}), the table/JSON row ({@link dev.sparsa.perf.BenchRow}), the results of
 * {@code bench --modes} ({@link dev.sparsa.perf.ModesResults}) and random-weight models
 * at real shapes ({@link dev.sparsa.perf.Synth}). Used by {@code sparsa bench}, {@code synth} and the sparsa-bench
 * module; speed claims live here and in JMH, never in tests. See docs/ARCHITECTURE.md §2.
 */
package dev.sparsa.perf;
