/**
 * The real architectures as {@link dev.sparsa.profile.ProfiledModel}s: a Llama-family decoder (per-token NLL) and a
 * BERT encoder (sentence embedding), sharing name, shape, context and tokenizer accessors. See docs/ARCHITECTURE.md §6.
 */
package dev.sparsa.profile.adapter;
