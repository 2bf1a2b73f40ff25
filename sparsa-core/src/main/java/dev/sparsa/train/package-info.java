/**
 * Training, llm.c style: {@link dev.sparsa.train.LlamaParams} (fp32 master weights and their gradients, with a
 * {@link dev.sparsa.model.llama.LlamaWeights} view so the forward is the inference forward,
 * {@link dev.sparsa.model.llama.LlamaBlock}), {@link dev.sparsa.train.Backprop} (one micro-batch: forward, loss, and
 * the backward that walks the same ops in reverse through the backward kernels of {@code tensor}),
 * {@link dev.sparsa.train.AdamW}, {@link dev.sparsa.train.Schedule}, {@link dev.sparsa.train.TrainData},
 * {@link dev.sparsa.train.Trainer} (the loop: accumulation, clipping, validation with the evaluation protocol of
 * {@code eval}, atomic {@link dev.sparsa.train.Checkpoint}s, exact resume), {@link dev.sparsa.train.HfExport} and the
 * {@link dev.sparsa.train.Method} seam that sparsification methods implement ({@code train.method}).
 * See docs/ARCHITECTURE.md §2 (Training).
 */
package dev.sparsa.train;
