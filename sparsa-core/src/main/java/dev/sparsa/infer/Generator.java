package dev.sparsa.infer;

import dev.sparsa.SparsaException;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.llama.KvCache;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.tensor.Parallel;

import java.util.Arrays;

/**
 * Autoregressive generation: one batched prefill over the prompt, then one decode step per new token, streaming each
 * token to a listener as soon as it is sampled. Stops at a stop id (EOS), after {@code maxTokens}, or when the
 * model's context is full. Prefill and decode are timed separately.
 */
public final class Generator {

    /** Receives each generated token as soon as it is sampled. */
    @FunctionalInterface
    public interface TokenListener {
        void onToken(int id);
    }

    /**
     * @param maxTokens   most tokens to generate
     * @param temperature 0 = greedy
     * @param topP        nucleus mass, 1 = off
     * @param seed        sampling seed
     * @param stopIds     ids that end generation (EOS); they are included in the output
     * @param tap         FFN tap for the whole run ({@link ActivationTap#NONE} for none)
     */
    public record Options(int maxTokens, float temperature, float topP, long seed, int[] stopIds, ActivationTap tap) {
        public Options {
            if (maxTokens < 0) {
                throw new SparsaException.UsageException("--max-tokens must be >= 0, got " + maxTokens);
            }
            stopIds = stopIds == null ? new int[0] : stopIds.clone();
            tap = tap == null ? ActivationTap.NONE : tap;
        }

        public static Options greedy(int maxTokens, int... stopIds) {
            return new Options(maxTokens, 0f, 1f, 0L, stopIds, ActivationTap.NONE);
        }
    }

    public enum StopReason { EOS, MAX_TOKENS, CONTEXT_FULL }

    /**
     * @param promptTokens    tokens in the prefill
     * @param prefillSeconds  prefill forward + first sample (time to first token)
     * @param decodeTokens    decode steps (tokens forwarded one at a time)
     * @param decodeSeconds   time in decode steps and their sampling
     */
    public record Timing(int promptTokens, double prefillSeconds, int decodeTokens, double decodeSeconds) {
        public double prefillTokensPerSecond() {
            return prefillSeconds > 0 ? promptTokens / prefillSeconds : 0;
        }

        public double decodeTokensPerSecond() {
            return decodeSeconds > 0 ? decodeTokens / decodeSeconds : 0;
        }
    }

    public record Result(int[] promptIds, int[] generatedIds, StopReason stopReason, Timing timing) {
    }

    private final LlamaModel model;
    private final Parallel par;

    public Generator(LlamaModel model, Parallel par) {
        this.model = model;
        this.par = par;
    }

    public Result generate(int[] prompt, Options o, TokenListener listener) {
        if (prompt.length == 0) {
            throw new SparsaException.UsageException("the prompt has no tokens");
        }
        int maxPos = model.config().maxPositions();
        if (prompt.length > maxPos) {
            throw new SparsaException.UsageException("the prompt has " + prompt.length + " tokens, more than the "
                    + "model's max_position_embeddings " + maxPos);
        }
        // the last sampled token is never forwarded, so prompt + maxTokens - 1 positions suffice
        int capacity = (int) Math.min(maxPos, Math.max(prompt.length, (long) prompt.length + o.maxTokens() - 1));
        KvCache cache = model.newCache(capacity);
        Sampler sampler = new Sampler(o.temperature(), o.topP(), o.seed());
        int[] out = new int[o.maxTokens()];
        int n = 0;
        StopReason reason = StopReason.MAX_TOKENS;

        long t0 = System.nanoTime();
        float[] logits = o.maxTokens() > 0
                ? model.prefill(cache, prompt, LlamaModel.PREFILL_CHUNK, o.tap(), par) : null;
        long t1 = System.nanoTime();
        double prefill = (t1 - t0) / 1e9;
        long decodeNanos = 0;
        int steps = 0;
        while (n < o.maxTokens()) {
            long s0 = System.nanoTime();
            int next = sampler.sample(logits);
            out[n++] = next;
            if (n == 1) {
                prefill += (System.nanoTime() - s0) / 1e9;
            } else {
                decodeNanos += System.nanoTime() - s0;
            }
            listener.onToken(next);
            if (contains(o.stopIds(), next)) {
                reason = StopReason.EOS;
                break;
            }
            if (n == o.maxTokens()) {
                break;
            }
            if (cache.length() == cache.capacity()) {
                reason = StopReason.CONTEXT_FULL;
                break;
            }
            long d0 = System.nanoTime();
            logits = model.decode(cache, next, o.tap(), par);
            decodeNanos += System.nanoTime() - d0;
            steps++;
        }
        return new Result(prompt.clone(), Arrays.copyOf(out, n), reason,
                new Timing(prompt.length, prefill, steps, decodeNanos / 1e9));
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }
}
