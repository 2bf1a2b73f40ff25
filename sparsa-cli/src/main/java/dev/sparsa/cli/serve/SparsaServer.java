package dev.sparsa.cli.serve;

import dev.sparsa.tensor.Parallel;

/**
 * A running {@code sparsa serve}: the served model, the one thread that computes with it (and its
 * {@link Parallel} pool), the metrics and the HTTP server. {@link #close()} stops them in order (HTTP first, so no
 * new work comes; then the loop, whose waiting requests get a 503) and leaves no thread behind.
 */
final class SparsaServer implements AutoCloseable {
    /**
     * @param maxRunning sequences decoded together (batch rows); more wait in the queue
     * @param maxWaiting requests queued beyond them before a 503
     * @param batch      one batched forward per step (else one decode per sequence, round robin)
     * @param maxBody    largest request body, bytes
     * @param keepAliveMs          a waiting request writes a keep-alive after this long without writing
     * @param jsonKeepAliveAfterMs a plain (JSON) response starts its keep-alives only after this long
     */
    record Options(String host, int port, int maxRunning, int maxWaiting, boolean batch, long maxBody, int threads,
                   long keepAliveMs, long jsonKeepAliveAfterMs) {
        /** With the keep-alive timing of {@link OpenAiApi} (every second; plain responses after 5 s). */
        Options(String host, int port, int maxRunning, int maxWaiting, boolean batch, long maxBody, int threads) {
            this(host, port, maxRunning, maxWaiting, batch, maxBody, threads, OpenAiApi.KEEP_ALIVE_MS,
                    OpenAiApi.JSON_KEEP_ALIVE_AFTER_MS);
        }
    }

    private final ServedModel model;
    private final Parallel par;
    private final DecodeLoop loop;
    private final EmbedQueue embed;
    private final Metrics metrics;
    private final ApiServer http;

    private SparsaServer(ServedModel model, Options o) throws Exception {
        this.model = model;
        this.par = new Parallel(o.threads());
        DecodeLoop l = null;
        EmbedQueue e = null;
        Metrics m;
        try {
            if (model instanceof ServedModel.Decoder d) {
                DecodeLoop[] self = new DecodeLoop[1];
                m = new Metrics(d.id(), d.sparse(), d.model().numLayers(), d.model().config().intermediateSize(),
                        () -> self[0] == null ? 0 : self[0].running(), () -> self[0] == null ? 0 : self[0].waiting());
                l = new DecodeLoop(d.model(), d.stopIds(), par, o.maxRunning(), o.maxWaiting(), o.batch(), m);
                self[0] = l;
            } else {
                ServedModel.Encoder enc = (ServedModel.Encoder) model;
                EmbedQueue[] self = new EmbedQueue[1];
                m = new Metrics(enc.id(), "dense", enc.model().config().numLayers(),
                        enc.model().config().intermediateSize(),
                        () -> self[0] == null ? 0 : self[0].running(), () -> self[0] == null ? 0 : self[0].waiting());
                e = new EmbedQueue(enc.model(), par, o.maxWaiting(), m.tap());
                self[0] = e;
            }
            this.loop = l;
            this.embed = e;
            this.metrics = m;
            this.http = new ApiServer(new OpenAiApi(model, l, e, m, o.keepAliveMs(), o.jsonKeepAliveAfterMs()), m, o.host(), o.port(), o.maxBody());
            http.start();
        } catch (Exception | Error ex) {
            if (l != null) {
                l.close();
            }
            if (e != null) {
                e.close();
            }
            par.close();
            throw ex;
        }
    }

    /** Starts serving {@code model} (which the server then owns and closes). */
    static SparsaServer start(ServedModel model, Options o) throws Exception {
        return new SparsaServer(model, o);
    }

    int port() {
        return http.port();
    }

    /** {@code http://host:port} (the base of {@code /v1}). */
    String url() {
        String h = http.host();
        return "http://" + (h.contains(":") ? "[" + h + "]" : h) + ":" + port();
    }

    ServedModel model() {
        return model;
    }

    Metrics metrics() {
        return metrics;
    }

    /** The decode loop (null for an encoder). */
    DecodeLoop loop() {
        return loop;
    }

    @Override
    public void close() {
        try {
            http.close();
        } finally {
            if (loop != null) {
                loop.close();
            }
            if (embed != null) {
                embed.close();
            }
            par.close();
            model.close();
        }
    }
}
