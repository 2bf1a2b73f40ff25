package dev.sparsa.eval;

/**
 * What an evaluation measured (docs/eval-protocol.md).
 *
 * @param contextLength    tokens per window
 * @param windows          windows run (the last may be partial)
 * @param positions        tokens the model ran (the stream, EOS included)
 * @param tokens           tokens predicted: Σ over windows of (length − 1)
 * @param bytes            UTF-8 bytes of the predicted tokens (EOS = 1)
 * @param nats             Σ of the predicted tokens' negative log-likelihood
 * @param ce               nats / tokens
 * @param ppl              exp(ce)
 * @param bitsPerByte      nats / ln 2 / bytes
 * @param sparsity         zero fraction of the FFN activation act(gate) over all layers and positions
 * @param sparsityPerLayer the same per layer
 * @param zerosPerLayer    the zero counts behind it (each layer has positions × F values)
 * @param windowNats       nats of each window
 * @param seconds          wall time
 * @param skipped          share of FFN neurons with h_i = 0 (h = act(gate) ⊙ up' as the kernel left it): the
 *                         neurons whose down column a sparse kernel skips, over all layers and positions
 * @param skippedPerLayer  the same per layer
 */
public record EvalResult(int contextLength, int windows, long positions, long tokens, long bytes, double nats,
                         double ce, double ppl, double bitsPerByte, double sparsity, double[] sparsityPerLayer,
                         long[] zerosPerLayer, double[] windowNats, double seconds, double skipped,
                         double[] skippedPerLayer) {
}
