/**
 * Benchmarks, the only module that depends on other engines: JMH kernel benchmarks (matvec per dtype, matmul,
 * sparse FFN kernels, the thread pool, memory bandwidth) and {@code ./sparsa bench-e2e}
 * ({@link dev.sparsa.bench.EndToEnd}), Sparsa side by side with llama.cpp and Jlama on the same synthetic models.
 * See docs/ARCHITECTURE.md §2 and BENCHMARKS.md.
 */
package dev.sparsa.bench;
