package dev.sparsa.cli.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparsa.io.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The OpenAI endpoints over the served model, independent of the HTTP library: each reads a parsed JSON body,
 * validates every field it knows (a 400 {@link ApiError} naming the field for anything wrong or unknown), queues the
 * work on the model's one thread ({@link DecodeLoop}, {@link EmbedQueue}) and answers through a {@link Reply},
 * streamed as server-sent events when the request asks for {@code stream}.
 *
 * <p>While a request waits without writing (queued, or generating without streaming) it writes a keep-alive every
 * {@link #KEEP_ALIVE_MS} ms: an SSE comment on a stream; on a plain response, once it has run for
 * {@link #JSON_KEEP_ALIVE_AFTER_MS} ms, a space before the JSON (JSON allows it; the 200 is committed with the
 * first). On HTTP/1.1 a write is the only way to see that a client went away without reading from its connection;
 * its sequence then leaves the queue or the batch at once.
 */
final class OpenAiApi {
    /** How long a request waits without writing anything. */
    static final long KEEP_ALIVE_MS = 1000;
    /** A plain (JSON) response sends its first keep-alive only after this long: quick answers keep their status. */
    static final long JSON_KEEP_ALIVE_AFTER_MS = 5000;
    /** Most prompts (choices) one completion request may carry, and inputs one embedding request. */
    static final int MAX_PROMPTS = 32;
    static final int MAX_INPUTS = 2048;
    static final int MAX_STOPS = 4;

    /** How a response goes out; implemented over the HTTP library. */
    interface Reply {
        /** The whole response: {@code status} and a JSON body (after {@link #keepAlive}: the body only). */
        void json(int status, JsonNode body) throws IOException;

        /** Commits 200 {@code text/event-stream}. */
        void startEvents() throws IOException;

        /** One event: {@code data: <data>}. */
        void event(String data) throws IOException;

        /** An SSE comment on a stream; a space before a JSON body (committing a 200) otherwise. */
        void keepAlive() throws IOException;
    }

    private final ServedModel served;
    private final DecodeLoop loop;
    private final EmbedQueue embed;
    private final Metrics metrics;
    private final long keepAliveMs;
    private final long jsonKeepAliveAfterMs;
    private final ObjectMapper json = new ObjectMapper();
    private final long created = System.currentTimeMillis() / 1000;

    OpenAiApi(ServedModel served, DecodeLoop loop, EmbedQueue embed, Metrics metrics, long keepAliveMs,
              long jsonKeepAliveAfterMs) {
        this.served = served;
        this.loop = loop;
        this.embed = embed;
        this.metrics = metrics;
        this.keepAliveMs = keepAliveMs;
        this.jsonKeepAliveAfterMs = jsonKeepAliveAfterMs;
    }

    // ---------------------------------------------------------------- GET

    ObjectNode models() {
        ObjectNode root = json.createObjectNode().put("object", "list");
        root.putArray("data").add(modelCard());
        return root;
    }

    ObjectNode model(String id) {
        if (!id.equals(served.id())) {
            throw ApiError.modelNotFound(id, served.id());
        }
        return modelCard();
    }

    private ObjectNode modelCard() {
        ObjectNode m = json.createObjectNode().put("id", served.id()).put("object", "model").put("created", created)
                .put("owned_by", "sparsa");
        if (served instanceof ServedModel.Decoder d) {
            m.put("max_model_len", d.context()).put("sparse", d.sparse());
        }
        return m;
    }

    ObjectNode health() {
        return json.createObjectNode().put("status", "ok");
    }

    // ---------------------------------------------------------------- completions

    /** {@code POST /v1/completions}. */
    void completions(JsonNode body, Reply reply) throws IOException, InterruptedException {
        ServedModel.Decoder d = decoder("/v1/completions");
        Fields f = new Fields(body, "");
        checkModel(f);
        JsonNode p = f.get("prompt");
        if (p == null) {
            throw ApiError.invalid("prompt", "Missing required parameter: 'prompt'");
        }
        List<int[]> prompts = prompts(p, d);
        Request r = sampling(f, d, prompts, "max_tokens", null);
        f.onlyNeutral("echo", v -> v.isBoolean() && !v.asBoolean(), "echo must be false");
        f.onlyNeutral("logprobs", v -> v.isIntegralNumber() && v.asInt() == 0, "no log probabilities");
        f.onlyNeutral("best_of", v -> v.isIntegralNumber() && v.asInt() == 1, "best_of must be 1");
        f.onlyNeutral("suffix", v -> v.isTextual() && v.asText().isEmpty(), "no suffix");
        f.rejectUnknown();
        generate(d, r, false, reply);
    }

    /** {@code prompt}: a string, a list of strings, a list of token ids, or a list of lists of token ids. */
    private List<int[]> prompts(JsonNode p, ServedModel.Decoder d) {
        List<int[]> out = new ArrayList<>();
        if (p.isTextual()) {
            out.add(encode(d.tokenizer(), p.asText(), true, "prompt"));
            return out;
        }
        if (!p.isArray() || p.isEmpty()) {
            throw ApiError.invalid("prompt", "'prompt' must be a string, a non-empty array of strings, of token ids "
                    + "or of arrays of token ids, got " + (p.isArray() ? "an empty array" : Fields.kind(p)));
        }
        if (p.get(0).isIntegralNumber()) {
            out.add(ids(p, "prompt", d.model().config().vocabSize()));
            return out;
        }
        if (p.size() > MAX_PROMPTS) {
            throw ApiError.invalid("prompt", "'prompt' has " + p.size() + " prompts, at most " + MAX_PROMPTS
                    + " are allowed per request");
        }
        for (int i = 0; i < p.size(); i++) {
            JsonNode e = p.get(i);
            String name = "prompt[" + i + "]";
            if (e.isTextual()) {
                out.add(encode(d.tokenizer(), e.asText(), true, name));
            } else if (e.isArray() && !e.isEmpty()) {
                out.add(ids(e, name, d.model().config().vocabSize()));
            } else {
                throw ApiError.invalid(name, "'" + name + "' must be a string or a non-empty array of token ids, got "
                        + (e.isArray() ? "an empty array" : Fields.kind(e)));
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- chat

    /** {@code POST /v1/chat/completions}. */
    void chat(JsonNode body, Reply reply) throws IOException, InterruptedException {
        ServedModel.Decoder d = decoder("/v1/chat/completions");
        Fields f = new Fields(body, "");
        checkModel(f);
        JsonNode ms = f.get("messages");
        if (ms == null) {
            throw ApiError.invalid("messages", "Missing required parameter: 'messages'");
        }
        if (!ms.isArray() || ms.isEmpty()) {
            throw ApiError.invalid("messages", "'messages' must be a non-empty array of messages, got "
                    + (ms.isArray() ? "an empty array" : Fields.kind(ms)));
        }
        List<ChatTemplate.Message> messages = new ArrayList<>();
        for (int i = 0; i < ms.size(); i++) {
            messages.add(message(ms.get(i), "messages[" + i + "]"));
        }
        String text;
        try {
            text = d.chat().render(messages, true);
        } catch (ChatTemplate.TemplateException e) {
            throw ApiError.invalid("messages", e.getMessage());
        }
        List<int[]> prompts = List.of(encode(d.tokenizer(), text, d.chat().addsSpecialTokens(), "messages"));
        Request r = sampling(f, d, prompts, "max_completion_tokens", "max_tokens");
        f.onlyNeutral("logprobs", v -> v.isBoolean() && !v.asBoolean(), "no log probabilities");
        f.onlyNeutral("top_logprobs", v -> v.isIntegralNumber() && v.asInt() == 0, "no log probabilities");
        f.onlyNeutral("response_format", v -> "text".equals(v.path("type").asText()) && v.size() == 1,
                "text responses only");
        f.onlyNeutral("tools", v -> v.isArray() && v.isEmpty(), "no tool calls");
        f.onlyNeutral("tool_choice", v -> "none".equals(v.asText()), "no tool calls");
        f.ignore("parallel_tool_calls", "store", "metadata", "service_tier");
        f.rejectUnknown();
        generate(d, r, true, reply);
    }

    private static final java.util.Set<String> ROLES = java.util.Set.of("system", "developer", "user", "assistant");

    /** One message: role and content (a string, or text parts). {@code developer} is rendered as system. */
    private ChatTemplate.Message message(JsonNode m, String path) {
        Fields f = new Fields(m, path);
        String role = f.requiredString("role");
        if (!ROLES.contains(role)) {
            throw ApiError.invalid(path + ".role", "'" + path + ".role' must be one of system, developer, user, "
                    + "assistant, got '" + role + "'" + (role.equals("tool") || role.equals("function")
                    ? " (tool calls are not supported)" : ""));
        }
        JsonNode c = f.get("content");
        String content;
        if (c == null) {
            throw ApiError.invalid(path + ".content", "Missing required parameter: '" + path + ".content'");
        } else if (c.isTextual()) {
            content = c.asText();
        } else if (c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (int j = 0; j < c.size(); j++) {
                Fields part = new Fields(c.get(j), path + ".content[" + j + "]");
                String type = part.requiredString("type");
                if (!type.equals("text")) {
                    throw ApiError.invalid(part.name("type"), "'" + part.name("type") + "' '" + type
                            + "' is not supported: text parts only");
                }
                sb.append(part.requiredString("text"));
                part.rejectUnknown();
            }
            content = sb.toString();
        } else {
            throw f.wrongType("content", "a string or an array of text parts", c);
        }
        f.ignore("name");
        f.onlyNeutral("tool_calls", v -> v.isArray() && v.isEmpty(), "no tool calls");
        f.onlyNeutral("refusal", v -> false, "no refusals");
        f.rejectUnknown();
        return new ChatTemplate.Message(role.equals("developer") ? "system" : role, content);
    }

    // ---------------------------------------------------------------- generation, shared

    /** A validated generation request: its prompts (one per choice) and how to sample and answer. */
    private record Request(List<int[]> prompts, Generation.Params params, boolean stream, boolean includeUsage) {
    }

    /** The sampling and streaming fields common to completions and chat. */
    private Request sampling(Fields f, ServedModel.Decoder d, List<int[]> prompts, String maxKey, String maxAlias) {
        int ctx = d.context();
        Long n = f.integer("n", 1, Long.MAX_VALUE);
        if (n != null && n != 1) {
            throw ApiError.invalid("n", "'n' must be 1 (one choice per prompt), got " + n);
        }
        Long maxTokens = f.integer(maxKey, 1, Integer.MAX_VALUE);
        String maxName = maxKey;
        if (maxAlias != null) {
            Long alias = f.integer(maxAlias, 1, Integer.MAX_VALUE);
            if (alias != null && maxTokens != null) {
                throw ApiError.invalid(maxAlias, "give one of '" + maxKey + "' and '" + maxAlias + "', not both");
            }
            if (alias != null) {
                maxTokens = alias;
                maxName = maxAlias;
            }
        }
        if (maxTokens != null && maxTokens > ctx) {
            throw ApiError.invalid(maxName, "'" + maxName + "' is " + maxTokens + ", more than the context of " + ctx
                    + " tokens");
        }
        int longest = 0;
        for (int i = 0; i < prompts.size(); i++) {
            int len = prompts.get(i).length;
            longest = Math.max(longest, len);
            String param = maxAlias == null ? "prompt" : "messages";
            if (len >= ctx) {
                throw ApiError.invalid(param, "This model's maximum context length is " + ctx + " tokens, however the "
                        + (maxAlias == null ? "prompt" : "messages") + (prompts.size() > 1 ? " " + i : "") + " take "
                        + len + " tokens (leaving none for the completion)");
            }
        }
        int max;
        if (maxTokens == null) {
            max = maxAlias == null ? Math.min(16, ctx - longest) : ctx - longest;   // OpenAI: 16; chat: the rest
        } else {
            if (longest + maxTokens > ctx) {
                throw ApiError.invalid(maxName, "This model's maximum context length is " + ctx + " tokens, however "
                        + "you requested " + (longest + maxTokens) + " tokens (" + longest + " in the "
                        + (maxAlias == null ? "prompt" : "messages") + ", " + maxTokens + " for the completion); "
                        + "reduce the prompt or '" + maxName + "'");
            }
            max = maxTokens.intValue();
        }
        Double temperature = f.number("temperature", 0, 2);
        Double topP = f.number("top_p", 0, 1);
        if (topP != null && topP == 0) {
            throw ApiError.invalid("top_p", "'top_p' must be in (0, 1], got 0");
        }
        Long seed = f.integer("seed", Long.MIN_VALUE, Long.MAX_VALUE);
        List<String> stop = stops(f);
        boolean stream = Boolean.TRUE.equals(f.bool("stream"));
        boolean includeUsage = false;
        JsonNode so = f.get("stream_options");
        if (so != null) {
            if (!stream) {
                throw ApiError.invalid("stream_options", "'stream_options' is only allowed when 'stream' is true");
            }
            Fields o = new Fields(so, "stream_options");
            includeUsage = Boolean.TRUE.equals(o.bool("include_usage"));
            o.ignore("include_obfuscation");
            o.rejectUnknown();
        }
        f.onlyNeutral("presence_penalty", v -> v.isNumber() && v.asDouble() == 0, "no presence penalty");
        f.onlyNeutral("frequency_penalty", v -> v.isNumber() && v.asDouble() == 0, "no frequency penalty");
        f.onlyNeutral("logit_bias", v -> v.isObject() && v.isEmpty(), "no logit bias");
        f.ignore("user");
        Generation.Params params = new Generation.Params(max, temperature == null ? 1f : temperature.floatValue(),
                topP == null ? 1f : topP.floatValue(), seed != null ? seed : ThreadLocalRandom.current().nextLong(),
                stop);
        return new Request(prompts, params, stream, includeUsage);
    }

    /** {@code stop}: a string or up to four strings, none empty. */
    private static List<String> stops(Fields f) {
        JsonNode s = f.get("stop");
        List<String> out = new ArrayList<>();
        if (s == null) {
            return out;
        }
        if (s.isTextual()) {
            out.add(s.asText());
        } else if (s.isArray()) {
            if (s.size() > MAX_STOPS) {
                throw ApiError.invalid("stop", "'stop' has " + s.size() + " strings, at most " + MAX_STOPS);
            }
            for (int i = 0; i < s.size(); i++) {
                if (!s.get(i).isTextual()) {
                    throw ApiError.invalid("stop", "'stop[" + i + "]' must be a string, got " + Fields.kind(s.get(i)));
                }
                out.add(s.get(i).asText());
            }
        } else {
            throw f.wrongType("stop", "a string or an array of strings", s);
        }
        for (String x : out) {
            if (x.isEmpty()) {
                throw ApiError.invalid("stop", "'stop' strings must not be empty");
            }
        }
        return out;
    }

    /** Queues one sequence per prompt and answers as they produce text (completions or chat shape). */
    private void generate(ServedModel.Decoder d, Request r, boolean chat, Reply reply)
            throws IOException, InterruptedException {
        java.util.concurrent.BlockingQueue<Generation.Out> events = new java.util.concurrent.LinkedBlockingQueue<>();
        List<Generation> gens = new ArrayList<>();
        for (int i = 0; i < r.prompts().size(); i++) {
            gens.add(new Generation(i, r.prompts().get(i), r.params(), d.tokenizer(), events));
        }
        String id = (chat ? "chatcmpl-" : "cmpl-") + HexFormat.of().formatHex(randomBytes());
        long now = System.currentTimeMillis() / 1000;
        boolean ended = false;
        try {
            for (Generation g : gens) {
                loop.submit(g);
            }
            int n = gens.size();
            StringBuilder[] texts = new StringBuilder[n];
            Generation.Finish[] finish = new Generation.Finish[n];
            for (int i = 0; i < n; i++) {
                texts[i] = new StringBuilder();
            }
            if (r.stream()) {
                reply.startEvents();
                if (chat) {
                    for (int i = 0; i < n; i++) {
                        reply.event(chunk(id, now, chat, i, "", null, true).toString());
                    }
                }
            }
            int promptTokens = 0;
            int completionTokens = 0;
            int left = n;
            long started = System.nanoTime();
            long lastWrite = started;
            while (left > 0) {
                Generation.Out o = events.poll(keepAliveMs, TimeUnit.MILLISECONDS);
                long tick = System.nanoTime();
                if (tick - lastWrite > keepAliveMs * 1_000_000
                        && (r.stream() || tick - started > jsonKeepAliveAfterMs * 1_000_000)) {
                    reply.keepAlive();
                    lastWrite = tick;
                }
                if (o == null) {
                    continue;
                }
                switch (o.event()) {
                    case Generation.Text t -> {
                        if (r.stream()) {
                            reply.event(chunk(id, now, chat, o.index(), t.text(), null, false).toString());
                            lastWrite = System.nanoTime();
                        } else {
                            texts[o.index()].append(t.text());
                        }
                    }
                    case Generation.Done done -> {
                        finish[o.index()] = done.finish();
                        promptTokens += done.promptTokens();
                        completionTokens += done.completionTokens();
                        left--;
                        if (r.stream()) {
                            reply.event(chunk(id, now, chat, o.index(), null, done.finish().json, false).toString());
                            lastWrite = System.nanoTime();
                        }
                    }
                    case Generation.Failed failed -> {
                        ended = true;
                        cancelAll(gens);
                        if (r.stream()) {
                            reply.event(failed.error().body().toString());
                        } else {
                            reply.json(failed.error().status, failed.error().body());
                        }
                        return;
                    }
                }
            }
            ended = true;
            ObjectNode usage = usage(promptTokens, completionTokens);
            if (r.stream()) {
                if (r.includeUsage()) {
                    ObjectNode last = head(id, now, chat);
                    if (chat) {
                        last.put("object", "chat.completion.chunk");
                    }
                    last.putArray("choices");
                    last.set("usage", usage);
                    reply.event(last.toString());
                }
                reply.event("[DONE]");
            } else {
                ObjectNode res = head(id, now, chat);
                ArrayNode choices = res.putArray("choices");
                for (int i = 0; i < n; i++) {
                    ObjectNode c = choices.addObject().put("index", i);
                    if (chat) {
                        c.putObject("message").put("role", "assistant").put("content", texts[i].toString())
                                .putNull("refusal");
                    } else {
                        c.put("text", texts[i].toString());
                    }
                    c.putNull("logprobs");
                    c.put("finish_reason", finish[i].json);
                }
                res.set("usage", usage);
                reply.json(200, res);
            }
        } catch (IOException e) {
            metrics.disconnect();
            throw e;
        } finally {
            if (!ended) {
                cancelAll(gens);
            }
        }
    }

    private void cancelAll(List<Generation> gens) {
        for (Generation g : gens) {
            loop.cancel(g);
        }
    }

    private ObjectNode head(String id, long created, boolean chat) {
        return json.createObjectNode().put("id", id)
                .put("object", chat ? "chat.completion" : "text_completion").put("created", created)
                .put("model", served.id()).putNull("system_fingerprint");
    }

    /** One streamed chunk: new text of choice {@code index}, or its end ({@code finish} set, text null). */
    private ObjectNode chunk(String id, long created, boolean chat, int index, String text, String finish,
                             boolean roleOnly) {
        ObjectNode c = head(id, created, chat);
        if (chat) {
            c.put("object", "chat.completion.chunk");
        }
        ObjectNode choice = c.putArray("choices").addObject().put("index", index);
        if (chat) {
            ObjectNode delta = choice.putObject("delta");
            if (roleOnly) {
                delta.put("role", "assistant").put("content", "");
            } else if (text != null) {
                delta.put("content", text);
            }
        } else {
            choice.put("text", text == null ? "" : text);
        }
        choice.putNull("logprobs");
        if (finish == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finish);
        }
        return c;
    }

    private ObjectNode usage(int prompt, int completion) {
        return json.createObjectNode().put("prompt_tokens", prompt).put("completion_tokens", completion)
                .put("total_tokens", prompt + completion);
    }

    // ---------------------------------------------------------------- embeddings

    /** {@code POST /v1/embeddings}. */
    void embeddings(JsonNode body, Reply reply) throws IOException, InterruptedException {
        if (!(served instanceof ServedModel.Encoder e)) {
            throw ApiError.invalid("model", "'" + served.id() + "' is a decoder; /v1/embeddings needs a BERT "
                    + "encoder (serve one with sparsa serve --model ENCODER)");
        }
        Fields f = new Fields(body, "");
        checkModel(f);
        JsonNode in = f.get("input");
        if (in == null) {
            throw ApiError.invalid("input", "Missing required parameter: 'input'");
        }
        List<int[]> ids = new ArrayList<>();
        int vocab = e.model().config().vocabSize();
        if (in.isTextual()) {
            ids.add(encodeInput(e, in.asText(), "input"));
        } else if (in.isArray() && !in.isEmpty()) {
            if (in.get(0).isIntegralNumber()) {
                ids.add(ids(in, "input", vocab));
            } else {
                if (in.size() > MAX_INPUTS) {
                    throw ApiError.invalid("input", "'input' has " + in.size() + " inputs, at most " + MAX_INPUTS);
                }
                for (int i = 0; i < in.size(); i++) {
                    JsonNode x = in.get(i);
                    String name = "input[" + i + "]";
                    if (x.isTextual()) {
                        ids.add(encodeInput(e, x.asText(), name));
                    } else if (x.isArray() && !x.isEmpty()) {
                        ids.add(ids(x, name, vocab));
                    } else {
                        throw ApiError.invalid(name, "'" + name + "' must be a non-empty string or array of token "
                                + "ids, got " + (x.isArray() ? "an empty array" : Fields.kind(x)));
                    }
                }
            }
        } else {
            throw ApiError.invalid("input", "'input' must be a string, a non-empty array of strings, of token ids or "
                    + "of arrays of token ids, got " + (in.isArray() ? "an empty array" : Fields.kind(in)));
        }
        for (int i = 0; i < ids.size(); i++) {
            if (ids.get(i).length > e.maxPositions()) {
                throw ApiError.invalid(ids.size() > 1 ? "input[" + i + "]" : "input", "This model's maximum context "
                        + "length is " + e.maxPositions() + " tokens, however input " + i + " has "
                        + ids.get(i).length + " tokens");
            }
        }
        String format = f.string("encoding_format", "float");
        if (!format.equals("float") && !format.equals("base64")) {
            throw ApiError.invalid("encoding_format", "'encoding_format' must be 'float' or 'base64', got '" + format
                    + "'");
        }
        int dim = e.model().config().hiddenSize();
        Long dims = f.integer("dimensions", 1, Integer.MAX_VALUE);
        if (dims != null && dims != dim) {
            throw ApiError.invalid("dimensions", "'dimensions' must be " + dim + " for this model (no reduced "
                    + "dimensions), got " + dims);
        }
        f.ignore("user");
        f.rejectUnknown();

        Future<float[][]> job = embed.submit(ids);
        float[][] emb;
        long started = System.nanoTime();
        try {
            while (true) {
                try {
                    emb = job.get(keepAliveMs, TimeUnit.MILLISECONDS);
                    break;
                } catch (TimeoutException t) {
                    if (System.nanoTime() - started > jsonKeepAliveAfterMs * 1_000_000) {
                        reply.keepAlive();
                    }
                } catch (java.util.concurrent.CancellationException c) {
                    throw ApiError.unavailable("The server is shutting down");
                } catch (java.util.concurrent.ExecutionException x) {
                    throw x.getCause() instanceof RuntimeException re ? re : new IllegalStateException(x.getCause());
                }
            }
        } catch (IOException io) {
            embed.cancel(job);
            metrics.disconnect();
            throw io;
        }
        int tokens = 0;
        for (int[] x : ids) {
            tokens += x.length;
        }
        metrics.prompt(tokens);
        ObjectNode res = json.createObjectNode().put("object", "list");
        ArrayNode data = res.putArray("data");
        for (int i = 0; i < emb.length; i++) {
            ObjectNode o = data.addObject().put("object", "embedding").put("index", i);
            if (format.equals("base64")) {
                ByteBuffer b = ByteBuffer.allocate(emb[i].length * 4).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(emb[i]);
                o.put("embedding", Base64.getEncoder().encodeToString(b.array()));
            } else {
                ArrayNode a = o.putArray("embedding");
                for (float v : emb[i]) {
                    a.add(v);
                }
            }
        }
        res.put("model", served.id());
        res.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
        reply.json(200, res);
    }

    private int[] encodeInput(ServedModel.Encoder e, String text, String name) {
        if (text.isEmpty()) {
            throw ApiError.invalid(name, "'" + name + "' must not be an empty string");
        }
        return encode(e.tokenizer(), text, true, name);
    }

    // ---------------------------------------------------------------- shared

    private ServedModel.Decoder decoder(String endpoint) {
        if (served instanceof ServedModel.Decoder d) {
            return d;
        }
        throw ApiError.invalid("model", "'" + served.id() + "' is an encoder; " + endpoint + " needs a decoder "
                + "(serve a Llama-family model); it serves /v1/embeddings");
    }

    /** {@code model}, when given, must name the served model. */
    private void checkModel(Fields f) {
        String m = f.string("model", null);
        if (m != null && !m.equals(served.id())) {
            throw ApiError.modelNotFound(m, served.id());
        }
    }

    private static int[] encode(Tokenizer tok, String text, boolean special, String name) {
        int[] ids = tok.encode(text, special);
        if (ids.length == 0) {
            throw ApiError.invalid(name, "'" + name + "' encodes to no tokens");
        }
        return ids;
    }

    /** An array of token ids, each in [0, vocab). */
    private static int[] ids(JsonNode a, String name, int vocab) {
        int[] out = new int[a.size()];
        for (int i = 0; i < a.size(); i++) {
            JsonNode v = a.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0 || v.asInt() >= vocab) {
                throw ApiError.invalid(name, "'" + name + "[" + i + "]' must be a token id in [0, " + vocab
                        + "), got " + (v.isIntegralNumber() ? v.asText() : Fields.kind(v)));
            }
            out[i] = v.asInt();
        }
        return out;
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[12];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }
}
