package dev.sparsa.cli.serve;

import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.llama.KvCache;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaState;
import dev.sparsa.tensor.Parallel;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The one thread that runs a decoder model for every request (continuous batching). It owns the model's
 * {@link Parallel} pool, which runs one job at a time; requests only enqueue {@link Generation}s and read their
 * events. Each turn of the loop:
 * <ol>
 *   <li>admits waiting sequences, first come first served, while fewer than {@code maxRunning} run, each with its
 *       own KV cache;</li>
 *   <li>prefills prompts in chunks of {@link LlamaModel#PREFILL_CHUNK} tokens (the chunks
 *       {@link LlamaModel#prefill} makes), round robin over the prompts not yet in, about one chunk's worth of
 *       tokens per turn: a long prompt holds the running streams up for one chunk at a time rather than for its
 *       whole length, and does not hold up a short prompt admitted after it; a prompt's last chunk samples its first
 *       token;</li>
 *   <li>advances every running sequence by one token in one forward: {@link LlamaModel#decodeBatch} over all of
 *       them (each row at its own position, over its own cache; weights read once per step for the whole batch),
 *       or, with batching off, one {@link LlamaModel#decode} per sequence in turn (round robin);</li>
 *   <li>samples each row with its request's sampler, streams the new text, and retires sequences that hit EOS, a
 *       stop string or {@code max_tokens}, or whose client went away ({@link #cancel}: freed before the next
 *       step).</li>
 * </ol>
 * A single running sequence takes {@code decode}, the computation {@code sparsa generate} does, so its tokens are
 * generate's; batched rows equal one-by-one decode within float rounding (DecodeBatchTest).
 */
final class DecodeLoop implements AutoCloseable {
    private final LlamaModel model;
    private final int[] stopIds;
    private final Parallel par;
    private final int maxRunning;
    private final int maxWaiting;
    private final boolean batch;
    private final Metrics metrics;
    private final ActivationTap tap;
    private final LlamaState batchState;
    private final int vocab;
    private final Thread thread;
    private final int prefillChunk;
    private int prefillCursor;                                           // loop thread only

    private final Object lock = new Object();
    private final ArrayDeque<Generation> waiting = new ArrayDeque<>();   // guarded by lock
    private boolean closed;                                              // guarded by lock
    private final List<Generation> running = new ArrayList<>();        // loop thread only
    private volatile int runningCount;
    private volatile long kvBytes;

    DecodeLoop(LlamaModel model, int[] stopIds, Parallel par, int maxRunning, int maxWaiting, boolean batch,
               Metrics metrics) {
        this(model, stopIds, par, maxRunning, maxWaiting, batch, metrics, LlamaModel.PREFILL_CHUNK);
    }

    /** With prompt chunks of {@code prefillChunk} tokens (tests use small ones to interleave short prompts). */
    DecodeLoop(LlamaModel model, int[] stopIds, Parallel par, int maxRunning, int maxWaiting, boolean batch,
               Metrics metrics, int prefillChunk) {
        if (prefillChunk < 1) {
            throw new IllegalArgumentException("prefill chunk " + prefillChunk);
        }
        this.prefillChunk = prefillChunk;
        this.model = model;
        this.stopIds = stopIds.clone();
        this.par = par;
        this.maxRunning = maxRunning;
        this.maxWaiting = maxWaiting;
        this.batch = batch;
        this.metrics = metrics;
        this.tap = metrics.tap();
        this.batchState = batch && maxRunning > 1 ? model.newBatchState(maxRunning) : null;
        this.vocab = model.config().vocabSize();
        this.thread = Thread.ofPlatform().name("sparsa-decode").daemon().unstarted(this::run);
        thread.start();
    }

    /** Queues {@code g}; a 503 when the queue is full or the loop is closed. */
    void submit(Generation g) {
        synchronized (lock) {
            if (closed) {
                throw ApiError.unavailable("The server is shutting down");
            }
            // room: the free slots (admitted at the loop's next turn) plus the queue proper
            if (waiting.size() >= maxWaiting + Math.max(0, maxRunning - runningCount)) {
                throw ApiError.unavailable("The server is at capacity (" + maxRunning + " running, " + waiting.size()
                        + " queued); retry later");
            }
            waiting.add(g);
            lock.notifyAll();
        }
    }

    /** The client of {@code g} went away: drop it from the queue now, or from the batch before the next step. */
    void cancel(Generation g) {
        g.cancelled = true;
        synchronized (lock) {
            waiting.remove(g);
            lock.notifyAll();
        }
    }

    int running() {
        return runningCount;
    }

    int waiting() {
        synchronized (lock) {
            return waiting.size();
        }
    }

    /** Bytes of KV cache held by running sequences (0 when idle: nothing is kept between requests). */
    long kvCacheBytes() {
        return kvBytes;
    }

    private void run() {
        while (true) {
            List<Generation> admit = new ArrayList<>();
            synchronized (lock) {
                while (!closed && waiting.isEmpty() && running.isEmpty()) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        closed = true;
                    }
                }
                if (closed) {
                    break;
                }
                while (running.size() + admit.size() < maxRunning && !waiting.isEmpty()) {
                    admit.add(waiting.poll());
                }
            }
            try {
                for (Generation g : admit) {
                    admit(g);
                }
                prefill();
                retire();
                if (!running.isEmpty()) {
                    step();
                }
                retire();
            } catch (RuntimeException | OutOfMemoryError e) {   // a bug (or no memory): drop what ran, keep serving
                System.err.println("sparsa serve: decode loop error: " + e);
                e.printStackTrace();
                for (Generation g : running) {
                    g.emit(new Generation.Failed(ApiError.internal()));
                    g.finished = true;
                }
                retire();
            }
        }
        List<Generation> left = new ArrayList<>(running);
        synchronized (lock) {
            left.addAll(waiting);
            waiting.clear();
        }
        for (Generation g : left) {
            g.emit(new Generation.Failed(ApiError.unavailable("The server is shutting down")));
        }
        running.clear();
        runningCount = 0;
        kvBytes = 0;
    }

    /** A fresh cache for {@code g}, which joins the running sequences (its prompt not yet fed). */
    private void admit(Generation g) {
        if (g.cancelled) {
            return;
        }
        // the last sampled token is never forwarded: prompt + max_tokens - 1 positions (as Generator sizes it)
        int capacity = Math.max(g.prompt.length, g.prompt.length + g.params.maxTokens() - 1);
        try {
            g.cache = model.newCache(capacity);
        } catch (dev.sparsa.SparsaException e) {
            g.emit(new Generation.Failed(ApiError.invalid(null, e.getMessage())));
            return;
        }
        kvBytes += cacheBytes(g.cache);
        running.add(g);
        runningCount = running.size();
    }

    /**
     * Feeds prompt chunks round robin over the sequences still prefilling (one chunk each, starting after the one
     * served last turn) until about one chunk's worth of tokens went in this turn, so a short prompt is not held up
     * by a long one admitted before it; a sequence whose prompt is complete samples its first token. The chunk
     * boundaries are those of {@link LlamaModel#prefill} (0, C, 2C, ...), so the logits are {@code generate}'s. A
     * failure fails that sequence only.
     */
    private void prefill() {
        int size = running.size();
        int budget = prefillChunk;
        for (int k = 0; k < size && budget > 0; k++) {
            int i = (prefillCursor + k) % size;
            Generation g = running.get(i);
            if (g.fed == g.prompt.length || g.finished || g.cancelled) {
                continue;
            }
            int n = Math.min(prefillChunk, g.prompt.length - g.fed);
            try {
                float[] logits = model.forward(g.cache, Arrays.copyOfRange(g.prompt, g.fed, g.fed + n), false, tap,
                        par);
                g.fed += n;
                budget -= n;
                metrics.prompt(n);
                if (g.fed == g.prompt.length) {
                    accept(g, g.sampler.sample(logits));
                }
            } catch (dev.sparsa.SparsaException e) {
                g.emit(new Generation.Failed(ApiError.invalid(null, e.getMessage())));
                g.finished = true;
            }
            prefillCursor = i + 1;
        }
    }

    /** One token for every running sequence whose prompt is in (the others are still prefilling). */
    private void step() {
        List<Generation> decoding = new ArrayList<>(running.size());
        for (Generation g : running) {
            if (g.fed == g.prompt.length && !g.finished && !g.cancelled) {
                decoding.add(g);
            }
        }
        int n = decoding.size();
        if (n == 0) {
            return;
        }
        if (n == 1 || !batch) {
            for (Generation g : decoding) {
                float[] logits = model.decode(g.cache, g.last, tap, par);
                metrics.decodeStep(1);
                accept(g, g.sampler.sample(logits));
            }
            return;
        }
        KvCache[] caches = new KvCache[n];
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            caches[i] = decoding.get(i).cache;
            ids[i] = decoding.get(i).last;
        }
        float[] logits = model.decodeBatch(caches, ids, batchState, tap, par);
        metrics.decodeStep(n);
        for (int i = 0; i < n; i++) {
            Generation g = decoding.get(i);
            accept(g, g.sampler.sample(Arrays.copyOfRange(logits, i * vocab, (i + 1) * vocab)));
        }
    }

    /** Token {@code id} of {@code g}: its text, and the end when it is EOS, completes a stop string or the limit. */
    private void accept(Generation g, int id) {
        g.add(id);
        metrics.generated(1);
        String text = g.stops.push(g.detok.push(id));
        Generation.Finish finish = null;
        if (g.stops.stopped()) {
            finish = Generation.Finish.STOP;
        } else if (contains(stopIds, id) || g.generated >= g.params.maxTokens()) {
            text += g.stops.push(g.detok.flush());
            text += g.stops.flush();
            finish = g.stops.stopped() || contains(stopIds, id) ? Generation.Finish.STOP : Generation.Finish.LENGTH;
        }
        if (!text.isEmpty()) {
            g.emit(new Generation.Text(text));
        }
        if (finish != null) {
            g.emit(new Generation.Done(finish, g.prompt.length, g.generated));
            g.finished = true;
        }
    }

    /** Drops finished and cancelled sequences (their caches become garbage). */
    private void retire() {
        for (int i = running.size() - 1; i >= 0; i--) {
            Generation g = running.get(i);
            if (g.finished || g.cancelled) {
                running.remove(i);
                kvBytes -= cacheBytes(g.cache);
                g.cache = null;
            }
        }
        runningCount = running.size();
    }

    private long cacheBytes(KvCache c) {
        var cfg = model.config();
        return 2L * cfg.numLayers() * c.capacity() * cfg.numKvHeads() * cfg.headDim() * Float.BYTES;
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }

    /** Stops the loop: waiting and running requests get a 503; returns once the thread has ended. */
    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
        }
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
