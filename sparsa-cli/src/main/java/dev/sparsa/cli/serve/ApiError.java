package dev.sparsa.cli.serve;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * An error answered as OpenAI answers it: HTTP {@code status} and
 * {@code {"error": {"message", "type", "param", "code"}}}, {@code param} naming the request field at fault.
 * Every failure a client can cause is one of these (4xx); nothing else reaches a client but a generic 500 without
 * a stack trace.
 */
final class ApiError extends RuntimeException {
    final int status;
    final String type;
    final String param;
    final String code;

    ApiError(int status, String type, String param, String code, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400: a field of the request is wrong ({@code param} names it, null for the body as a whole). */
    static ApiError invalid(String param, String message) {
        return new ApiError(400, "invalid_request_error", param, null, message);
    }

    /** 404: no such model (the served one is named in the message). */
    static ApiError modelNotFound(String model, String served) {
        return new ApiError(404, "invalid_request_error", "model", "model_not_found",
                "The model '" + model + "' does not exist; this server serves '" + served + "'");
    }

    /** 404: no such endpoint. */
    static ApiError notFound(String method, String path) {
        return new ApiError(404, "invalid_request_error", null, "unknown_url",
                "Invalid URL (" + method + " " + path + ")");
    }

    /** 405: the endpoint exists for another method. */
    static ApiError methodNotAllowed(String method, String path, String allowed) {
        return new ApiError(405, "invalid_request_error", null, "method_not_allowed",
                "Method " + method + " is not allowed for " + path + "; use " + allowed);
    }

    /** 413: the body is over the limit. */
    static ApiError tooLarge(long limit) {
        return new ApiError(413, "invalid_request_error", null, "request_too_large",
                "Request body exceeds the limit of " + limit + " bytes");
    }

    /** 503: every slot and the queue are full, or the server is stopping. */
    static ApiError unavailable(String message) {
        return new ApiError(503, "server_error", null, "overloaded", message);
    }

    /** 500: a bug; the message says nothing of the internals. */
    static ApiError internal() {
        return new ApiError(500, "server_error", null, null, "Internal server error");
    }

    /** The response body. */
    ObjectNode body() {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        ObjectNode e = root.putObject("error");
        e.put("message", getMessage());
        e.put("type", type);
        e.put("param", param);
        e.put("code", code);
        return root;
    }
}
