/**
 * The evaluation protocol shared by {@code sparsa eval}, {@code sparsa profile} (decoders) and training validation
 * (docs/eval-protocol.md): each corpus line is a document followed by the model's EOS token
 * ({@link dev.sparsa.eval.TokenStream}, which also records the UTF-8 bytes each token stands for); the stream is cut
 * into non-overlapping windows of the context length from token 0, the last partial window kept
 * ({@link dev.sparsa.eval.EvalWindows}); each window predicts its tokens 1..n-1 from itself; bits/byte = total nats /
 * ln 2 / bytes of the predicted tokens, EOS counted as one byte ({@link dev.sparsa.eval.Evaluator},
 * {@link dev.sparsa.eval.EvalResult}).
 *
 * <p>Depends on {@code io} (corpus, tokenizer), {@code model} and {@code tensor} only.
 */
package dev.sparsa.eval;
