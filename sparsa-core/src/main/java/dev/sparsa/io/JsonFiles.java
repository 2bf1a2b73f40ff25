package dev.sparsa.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.SparsaException.FormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads the small JSON files of a model (config, index, tokenizer) with a size limit and one-line errors. */
final class JsonFiles {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private JsonFiles() {
    }

    /** The JSON object in {@code path}; FormatException naming the file if missing, too large, invalid or not an object. */
    static JsonNode readObject(Path path, long maxBytes) {
        JsonNode root;
        try {
            long size = Files.size(path);
            if (size > maxBytes) {
                throw FormatException.of(path, "is " + size + " bytes, more than the " + maxBytes + " accepted");
            }
            root = JSON.readTree(Files.readAllBytes(path));
        } catch (NoSuchFileException e) {
            throw FormatException.of(path, "no such file");
        } catch (JsonProcessingException e) {
            throw FormatException.of(path, "not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw FormatException.of(path, "cannot read: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw FormatException.of(path, "not a JSON object");
        }
        return root;
    }
}
