package dev.sparsa.cli.serve;

import dev.sparsa.infer.Sampler;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.model.llama.KvCache;

import java.util.List;
import java.util.concurrent.BlockingQueue;

/**
 * One sequence being generated for a request: what the request asked for, the state the decode loop keeps for it
 * (its KV cache, sampler, text) and where its {@link Event}s go (the queue its request's HTTP thread reads). The
 * decode loop owns every field but {@link #cancelled}.
 */
final class Generation {
    /** What to generate: at most {@code maxTokens} tokens, sampled at {@code temperature} / {@code topP}. */
    record Params(int maxTokens, float temperature, float topP, long seed, List<String> stop) {
        Params {
            stop = List.copyOf(stop);
        }
    }

    /** Why a sequence ended, as OpenAI names it. */
    enum Finish {
        STOP("stop"), LENGTH("length");

        final String json;

        Finish(String json) {
            this.json = json;
        }
    }

    /** What the decode loop tells the request. */
    sealed interface Event {
    }

    /** New text (one or more tokens' worth). */
    record Text(String text) implements Event {
    }

    /** The end: why, and the token counts for {@code usage}. */
    record Done(Finish finish, int promptTokens, int completionTokens) implements Event {
    }

    /** The sequence was dropped (server stopping, internal error). */
    record Failed(ApiError error) implements Event {
    }

    /** An event of choice {@code index} of a request. */
    record Out(int index, Event event) {
    }

    final int index;
    final int[] prompt;
    final Params params;
    private final BlockingQueue<Out> events;
    volatile boolean cancelled;

    // decode-loop state
    final Sampler sampler;
    final Detokenizer detok;
    final StopStrings stops;
    KvCache cache;
    /** Prompt tokens already in the cache (the prompt is prefilled in chunks; decoding starts when all are). */
    int fed;
    int last;
    int generated;
    boolean finished;
    private int[] tokens = new int[16];

    /** Choice {@code index} of a request, whose events go to {@code events} (shared by its choices). */
    Generation(int index, int[] prompt, Params params, Tokenizer tok, BlockingQueue<Out> events) {
        this.index = index;
        this.events = events;
        this.prompt = prompt.clone();
        this.params = params;
        this.sampler = new Sampler(params.temperature(), params.topP(), params.seed());
        this.detok = new Detokenizer(tok, prompt);
        this.stops = new StopStrings(params.stop());
    }

    /** Records generated token {@code id} (decode loop). */
    void add(int id) {
        if (generated == tokens.length) {
            tokens = java.util.Arrays.copyOf(tokens, 2 * tokens.length);
        }
        tokens[generated++] = id;
        last = id;
    }

    /** The tokens generated; read it after the {@link Done} event (which publishes them). */
    int[] tokens() {
        return java.util.Arrays.copyOf(tokens, generated);
    }

    void emit(Event e) {
        events.add(new Out(index, e));
    }
}
