/**
 * Text ↔ token ids, equal to Hugging Face tokenizers: the tokenizer.json pipeline ({@link
 * dev.sparsa.io.tokenizer.TokenizerJson} → {@link dev.sparsa.io.tokenizer.PipelineTokenizer}: added tokens,
 * normalizer, pre-tokenizer, BPE or WordPiece model, post-processor, decoder, each a sealed hierarchy), GGUF
 * vocabularies encoded as llama.cpp does ({@link dev.sparsa.io.tokenizer.GgufTokenizer}), and the generated tokenizer
 * of random-weight models ({@link dev.sparsa.io.tokenizer.SyntheticTokenizer}). See docs/ARCHITECTURE.md §3.
 */
package dev.sparsa.io.tokenizer;
