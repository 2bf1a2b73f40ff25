package dev.sparsa.cli.serve;

import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.bert.BertModel;
import dev.sparsa.tensor.Parallel;

import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The one thread that runs a BERT encoder for {@code /v1/embeddings}: requests queue first come first served
 * (bounded; a 503 past it) and each is embedded in batches of {@link #BATCH} inputs on the model's {@link Parallel}
 * pool. A request whose client went away is removed from the queue.
 */
final class EmbedQueue implements AutoCloseable {
    static final int BATCH = 32;

    private final BertModel model;
    private final Parallel par;
    private final ActivationTap tap;
    private final ThreadPoolExecutor exec;

    /** Runs {@code model} on {@code par} with {@code tap} (the metrics' neuron counts) on every forward. */
    EmbedQueue(BertModel model, Parallel par, int maxWaiting, ActivationTap tap) {
        this.model = model;
        this.par = par;
        this.tap = tap;
        this.exec = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(maxWaiting),
                r -> Thread.ofPlatform().name("sparsa-embed").daemon().unstarted(r));
    }

    /** Queues the embedding of {@code ids} (one sequence each); a 503 when the queue is full or closed. */
    Future<float[][]> submit(List<int[]> ids) {
        try {
            return exec.submit(() -> embed(ids));
        } catch (RejectedExecutionException e) {
            throw ApiError.unavailable(exec.isShutdown() ? "The server is shutting down"
                    : "The server is at capacity (" + exec.getQueue().size() + " queued); retry later");
        }
    }

    /** Drops {@code f} from the queue (or lets the running one finish unread). */
    void cancel(Future<float[][]> f) {
        f.cancel(false);
        exec.purge();
    }

    int waiting() {
        return exec.getQueue().size();
    }

    int running() {
        return exec.getActiveCount();
    }

    private float[][] embed(List<int[]> ids) {
        float[][] out = new float[ids.size()][];
        for (int from = 0; from < ids.size(); from += BATCH) {
            List<int[]> chunk = ids.subList(from, Math.min(ids.size(), from + BATCH));
            BertModel.Batch b = BertModel.Batch.of(chunk);
            float[][] hidden = model.forward(b, tap, par);           // as sentenceEmbeddings, with the tap
            for (int i = 0; i < hidden.length; i++) {
                int[] mask = b.mask() == null ? null : b.mask()[i];
                out[from + i] = BertModel.l2Normalize(BertModel.meanPool(hidden[i], mask, model.config().hiddenSize()));
            }
        }
        return out;
    }

    /** Stops taking requests, cancels the queued ones, lets the running one end, and waits for the thread. */
    @Override
    public void close() {
        for (Runnable r : exec.shutdownNow()) {
            if (r instanceof Future<?> f) {
                f.cancel(false);
            }
        }
        try {
            exec.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
