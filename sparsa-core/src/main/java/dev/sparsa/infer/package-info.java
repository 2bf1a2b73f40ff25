/**
 * Running models for their output: generation ({@link dev.sparsa.infer.Generator}, {@link dev.sparsa.infer.Sampler})
 * and the kernels that exploit sparsity: gate-first FFNs by a {@link dev.sparsa.infer.NeuronRule}
 * ({@link dev.sparsa.infer.GateSparseFfn}, {@link dev.sparsa.infer.ExactSparseFfn}), predicted FFNs
 * ({@link dev.sparsa.infer.PredictorFfn}, {@link dev.sparsa.infer.PredictedSparseFfn}) and TEAL's input-sparse
 * projections ({@link dev.sparsa.infer.TealFfn}, {@link dev.sparsa.infer.TealAttention}), LTE's expert-granular FFN
 * ({@link dev.sparsa.infer.LteFfn}, the {@code lte} mode, docs/lte.md); a timing stand-in that replays a trained
 * model's predicted reads on other weights ({@link dev.sparsa.infer.ReplayFfn}); the {@code --ffn} kernels
 * by name through {@link dev.sparsa.infer.FfnKernels}, the {@code --sparse} modes in {@code infer.mode}. See
 * docs/ARCHITECTURE.md §7 and docs/sparse-modes.md.
 */
package dev.sparsa.infer;
