/**
 * Running models for their output: generation ({@link dev.sparsa.infer.Generator}, {@link dev.sparsa.infer.Sampler})
 * and the FFN kernels that exploit sparsity ({@link dev.sparsa.infer.ExactSparseFfn},
 * {@link dev.sparsa.infer.PredictedSparseFfn}), found by name through {@link dev.sparsa.infer.FfnKernels}. See
 * docs/ARCHITECTURE.md §7.
 */
package dev.sparsa.infer;
