/**
 * The Llama-family decoder (Llama 2/3, Mistral, Qwen2: {@link dev.sparsa.model.llama.LlamaModel}), its KV cache and
 * RoPE in both row layouts; batched prefill and one-token decode, one pluggable FFN kernel per layer. See
 * docs/ARCHITECTURE.md §2 and §5.
 */
package dev.sparsa.model.llama;
