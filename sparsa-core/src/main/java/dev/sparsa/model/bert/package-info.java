/**
 * The BERT encoder ({@link dev.sparsa.model.bert.BertModel}, post-LayerNorm, e.g. all-MiniLM-L6-v2) and its two
 * loaders: an ONNX graph mapped by its data flow ({@code BertOnnx}) and a Hugging Face checkpoint
 * ({@link dev.sparsa.model.bert.BertHf}). See docs/ARCHITECTURE.md §5.
 */
package dev.sparsa.model.bert;
