/**
 * {@code sparsa serve}: an OpenAI-compatible HTTP server for any model Sparsa loads, dense or sparse.
 *
 * <p>Layers, outside in: {@link dev.sparsa.cli.serve.ServeCommand} (options) → {@code SparsaServer} (assembly,
 * shutdown) → {@code ApiServer} (Jetty 12 on virtual threads: routing, body limit, JSON errors, SSE writes) →
 * {@code OpenAiApi} (the endpoints: validation, response shapes, streaming; no HTTP library types) →
 * {@code DecodeLoop} / {@code EmbedQueue} (the one thread that computes with the model and owns its
 * {@code Parallel} pool: continuous batching of decode steps through {@code LlamaModel.decodeBatch}, or the FIFO of
 * embedding requests) → the model ({@code ServedModel}: decoder or encoder, its tokenizer, stop ids and
 * {@code ChatTemplate}). Text comes out token by token through {@code Detokenizer} and {@code StopStrings};
 * {@code Metrics} is the Prometheus registry of one server.
 *
 * <p>A package of sparsa-cli rather than a module of its own: the server is one more command over the same model
 * loading (ModelFiles, tokenizers, stop ids) the other commands use, and its HTTP, Jinja and Prometheus
 * dependencies are runtime dependencies of the CLI like picocli's.
 */
package dev.sparsa.cli.serve;
