/**
 * ONNX models read straight from their protobuf bytes: initializers as zero-copy tensors, the graph's nodes and
 * their attributes ({@link dev.sparsa.io.onnx.OnnxModel}), the wire-format cursor under it, and the real
 * all-MiniLM-L6-v2 fetched from Maven ({@link dev.sparsa.io.onnx.MiniLm}). Mapping a graph onto an architecture is
 * the model's job ({@code dev.sparsa.model.bert}). See docs/ARCHITECTURE.md §3.
 */
package dev.sparsa.io.onnx;
