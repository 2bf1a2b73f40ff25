/**
 * Weights and configs on disk: safetensors (single and sharded), GGUF (read, write, Hugging Face ↔ llama.cpp names
 * and layout), config.json, and the {@link dev.sparsa.io.ModelFiles} entry point that opens any of them as a
 * {@link dev.sparsa.io.WeightSource}; atomic writes, fetching into the cache, and random weights
 * ({@link dev.sparsa.io.RandomWeights}) for benchmarks. Sub-packages: tokenizers, ONNX, corpora. See
 * docs/ARCHITECTURE.md §3.
 */
package dev.sparsa.io;
