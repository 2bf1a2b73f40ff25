/**
 * What a model declares, independent of any file format: its hyper-parameters ({@link dev.sparsa.spec.ModelConfig})
 * and how its q/k rows pair up for RoPE ({@link dev.sparsa.spec.RopeStyle}). Below {@code io}, which reads and writes
 * them, and {@code model}, which runs them. Imports nothing else of Sparsa. See docs/ARCHITECTURE.md §5.
 */
package dev.sparsa.spec;
