/**
 * The bottom layer: dtypes ({@link dev.sparsa.tensor.DType}: F32, F16, BF16, Q8_0, Q4_0) over
 * {@link java.lang.foreign.MemorySegment}s ({@link dev.sparsa.tensor.Tensor}), the weight-side kernels
 * ({@link dev.sparsa.tensor.Kernels}, over one package-private row-loop class per dtype), the kernels on activation
 * vectors ({@link dev.sparsa.tensor.VectorOps}), the one quantizer ({@link dev.sparsa.tensor.Quant}), their scalar
 * references ({@link dev.sparsa.tensor.ScalarKernels}) and the thread pool ({@link dev.sparsa.tensor.Parallel}).
 * Imports nothing else of Sparsa. See docs/ARCHITECTURE.md §4.
 */
package dev.sparsa.tensor;
