package dev.sparsa.cli.serve;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.SparsaException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.VirtualThreadPool;

import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The HTTP side of {@code sparsa serve}: an embedded Jetty 12 server (its core API, no servlets) whose requests run
 * on virtual threads, so a request may block on its generation; routes each path to {@link OpenAiApi}; limits the
 * body; and answers every error, Jetty's own included (bad request line, headers too large), as an OpenAI JSON
 * error object. Binds where told ({@code 127.0.0.1} by default, in {@link ServeCommand}).
 */
final class ApiServer implements AutoCloseable {
    /** Idle connections are closed after this long; a request being served is never timed out (it writes). */
    static final long IDLE_TIMEOUT_MS = 60_000;

    private final OpenAiApi api;
    private final Metrics metrics;
    private final long maxBody;
    private final Server server;
    private final ServerConnector connector;
    private final ObjectMapper json = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** Routes: path → method. */
    private static final Map<String, String> ROUTES = Map.of("/health", "GET", "/metrics", "GET", "/v1/models", "GET",
            "/v1/completions", "POST", "/v1/chat/completions", "POST", "/v1/embeddings", "POST");

    ApiServer(OpenAiApi api, Metrics metrics, String host, int port, long maxBody) {
        this.api = api;
        this.metrics = metrics;
        this.maxBody = maxBody;
        QueuedThreadPool pool = new QueuedThreadPool();
        pool.setName("sparsa-http");
        pool.setDaemon(true);
        VirtualThreadPool virtual = new VirtualThreadPool();
        virtual.setName("sparsa-request");
        pool.setVirtualThreadsExecutor(virtual);
        server = new Server(pool);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        connector = new ServerConnector(server, new HttpConnectionFactory(http));
        connector.setHost(host);
        connector.setPort(port);
        connector.setIdleTimeout(IDLE_TIMEOUT_MS);
        server.addConnector(connector);
        server.setHandler(new Routes());
        server.setErrorHandler(new JsonErrors());
        server.setStopTimeout(5_000);
    }

    void start() throws Exception {
        server.start();
    }

    /** The port bound (the one chosen when 0 was asked). */
    int port() {
        return connector.getLocalPort();
    }

    String host() {
        return connector.getHost();
    }

    @Override
    public void close() {
        try {
            server.stop();
        } catch (Exception e) {
            throw new IllegalStateException("stopping the HTTP server: " + e, e);
        }
    }

    /** The whole routing table: each path one method, else 404 / 405. */
    private final class Routes extends Handler.Abstract {
        @Override
        public boolean handle(Request req, Response res, Callback cb) {
            String path = Request.getPathInContext(req);
            String method = req.getMethod();
            JettyReply reply = new JettyReply(res);
            req.addIdleTimeoutListener(t -> false);   // computing is not idle; a gone client shows on the next write
            String route = ROUTES.containsKey(path) ? path : path.startsWith("/v1/models/") ? "/v1/models/{id}"
                    : "other";
            try {
                String allowed = route.equals("/v1/models/{id}") ? "GET" : ROUTES.get(path);
                if (allowed == null) {
                    throw ApiError.notFound(method, path);
                }
                if (!allowed.equals(method)) {
                    res.getHeaders().put(HttpHeader.ALLOW, allowed);
                    throw ApiError.methodNotAllowed(method, path, allowed);
                }
                switch (route) {
                    case "/health" -> reply.json(200, api.health());
                    case "/metrics" -> reply.bytes(200, metrics.contentType(), metrics.scrape());
                    case "/v1/models" -> reply.json(200, api.models());
                    case "/v1/models/{id}" -> reply.json(200, api.model(URLDecoder.decode(
                            path.substring("/v1/models/".length()), StandardCharsets.UTF_8)));
                    case "/v1/completions" -> api.completions(body(req), reply);
                    case "/v1/chat/completions" -> api.chat(body(req), reply);
                    case "/v1/embeddings" -> api.embeddings(body(req), reply);
                    default -> throw ApiError.notFound(method, path);
                }
            } catch (ApiError e) {
                reply.error(e);
            } catch (SparsaException e) {
                reply.error(ApiError.invalid(null, e.getMessage()));
            } catch (IOException e) {
                reply.gone(e);                                // the client went away; nothing to answer
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                reply.error(ApiError.unavailable("The server is shutting down"));
            } catch (RuntimeException e) {
                System.err.println("sparsa serve: internal error on " + method + " " + path + ": " + e);
                e.printStackTrace();
                reply.error(ApiError.internal());
            }
            reply.complete(cb);
            metrics.request(route, reply.status);
            return true;
        }
    }

    /** The body as one JSON value: at most {@code maxBody} bytes, well-formed, no trailing data or duplicate keys. */
    private JsonNode body(Request req) throws IOException {
        long declared = req.getLength();
        if (declared > maxBody) {
            throw ApiError.tooLarge(maxBody);
        }
        byte[] b;
        try (InputStream in = Content.Source.asInputStream(req)) {
            b = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBody + 1));
        }
        if (b.length > maxBody) {
            throw ApiError.tooLarge(maxBody);
        }
        if (b.length == 0) {
            throw ApiError.invalid(null, "The request body is empty; send a JSON object");
        }
        try {
            return json.readTree(b);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column "
                    + e.getLocation().getColumnNr();
            throw ApiError.invalid(null, "We could not parse the JSON body of your request: "
                    + e.getOriginalMessage().lines().findFirst().orElse("").strip() + where);
        }
    }

    /** {@link OpenAiApi.Reply} over a Jetty response, with blocking writes (on a virtual thread). */
    private final class JettyReply implements OpenAiApi.Reply {
        private final Response res;
        private State state = State.NONE;
        int status = 200;

        private enum State { NONE, JSON_STARTED, EVENTS, DONE, GONE }

        JettyReply(Response res) {
            this.res = res;
        }

        @Override
        public void json(int status, JsonNode body) throws IOException {
            byte[] b = json.writeValueAsBytes(body);
            if (state == State.JSON_STARTED) {                         // 200 already sent with the keep-alives
                write(true, b);
                state = State.DONE;
                return;
            }
            bytes(status, "application/json", b);
        }

        void bytes(int status, String type, byte[] b) throws IOException {
            this.status = status;
            res.setStatus(status);
            res.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
            res.getHeaders().put(HttpHeader.CONTENT_LENGTH, b.length);
            write(true, b);
            state = State.DONE;
        }

        @Override
        public void startEvents() throws IOException {
            res.setStatus(200);
            res.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
            res.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
            state = State.EVENTS;
            write(false, new byte[0]);
        }

        @Override
        public void event(String data) throws IOException {
            write(false, ("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public void keepAlive() throws IOException {
            switch (state) {
                case EVENTS -> write(false, ": keep-alive\n\n".getBytes(StandardCharsets.US_ASCII));
                case NONE -> {
                    res.setStatus(200);
                    res.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
                    state = State.JSON_STARTED;
                    write(false, new byte[] {' '});
                }
                case JSON_STARTED -> write(false, new byte[] {' '});
                default -> {
                }
            }
        }

        /** Answers {@code e} in whatever form the response is already in. */
        void error(ApiError e) {
            try {
                switch (state) {
                    case NONE -> json(e.status, e.body());
                    case JSON_STARTED -> {
                        status = e.status;
                        json(e.status, e.body());
                    }
                    case EVENTS -> {
                        status = e.status;
                        event(e.body().toString());
                    }
                    default -> {
                    }
                }
            } catch (IOException io) {
                gone(io);
            }
        }

        void gone(IOException e) {
            state = State.GONE;
            status = 499;                                              // nginx's "client closed request"
        }

        private void write(boolean last, byte[] b) throws IOException {
            try {
                Content.Sink.write(res, last, ByteBuffer.wrap(b));
            } catch (IOException e) {
                state = State.GONE;
                throw e;
            }
        }

        /** Ends the exchange: the last (empty) chunk of a stream, and the handler's callback. */
        void complete(Callback cb) {
            try {
                if (state == State.EVENTS || state == State.JSON_STARTED) {
                    write(true, new byte[0]);
                    state = State.DONE;
                }
                if (state == State.GONE) {
                    cb.failed(new IOException("client went away"));
                } else {
                    cb.succeeded();
                }
            } catch (IOException e) {
                cb.failed(e);
            }
        }
    }

    /** Jetty's own errors (malformed HTTP, headers too large, ...) as OpenAI error objects. */
    private final class JsonErrors extends ErrorHandler {
        @Override
        protected void generateResponse(Request request, Response response, int code, String message,
                                        Throwable cause, Callback callback) throws IOException {
            String type = code >= 500 ? "server_error" : "invalid_request_error";
            ApiError e = new ApiError(code, type, null, null, message == null || message.isBlank()
                    ? "HTTP " + code : message);
            byte[] b = json.writeValueAsBytes(e.body());
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            response.getHeaders().put(HttpHeader.CONTENT_LENGTH, b.length);
            response.write(true, ByteBuffer.wrap(b), callback);
        }
    }
}
