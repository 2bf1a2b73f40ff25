package dev.sparsa.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sparsa.SparsaException.FormatException;
import dev.sparsa.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A checkpoint split over several safetensors files, described by {@code model.safetensors.index.json}:
 * {@code {"metadata": {"total_size": ...}, "weight_map": {"tensor name": "model-00001-of-00002.safetensors"}}}.
 * Shard names are resolved beside the index; each shard is opened (and validated) once, and every tensor the
 * weight map names must exist in its shard. Tensors a shard holds but the map does not name are not exposed.
 */
public final class ShardedSafetensors extends IndexedWeights<SafetensorsFile> {

    private final Map<String, SafetensorsFile> shards;
    private final Map<String, Object> metadata;

    private ShardedSafetensors(Path index, Map<String, SafetensorsFile> byTensor, Map<String, SafetensorsFile> shards,
                               Map<String, Object> metadata) {
        super(index, byTensor);
        this.shards = shards;
        this.metadata = metadata;
    }

    /** Opens the index and all the shards it names. */
    public static ShardedSafetensors open(Path indexJson) {
        JsonNode root = JsonFiles.readObject(indexJson, 256L << 20);
        JsonNode wm = root.get("weight_map");
        if (wm == null || !wm.isObject()) {
            throw FormatException.of(indexJson, "missing or non-object field weight_map");
        }
        Map<String, Object> meta = new LinkedHashMap<>();
        JsonNode md = root.get("metadata");
        if (md != null && md.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = md.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                JsonNode v = e.getValue();
                meta.put(e.getKey(), v.isIntegralNumber() ? (Object) v.longValue()
                        : v.isNumber() ? (Object) v.doubleValue() : v.isTextual() ? v.textValue() : v.toString());
            }
        }
        Path dir = indexJson.toAbsolutePath().getParent();
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
        try {
            for (Iterator<Map.Entry<String, JsonNode>> it = wm.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String tensor = e.getKey();
                if (!e.getValue().isTextual()) {
                    throw FormatException.of(indexJson, "weight_map." + tensor + " is not a file name");
                }
                String shard = e.getValue().textValue();
                Path rel = Path.of(shard);
                if (shard.isEmpty() || rel.isAbsolute() || rel.normalize().startsWith("..")) {
                    throw FormatException.of(indexJson, "weight_map." + tensor + ": shard '" + shard
                            + "' is not a file beside the index");
                }
                SafetensorsFile f = shards.get(shard);
                if (f == null) {
                    Path p = dir.resolve(rel);
                    if (!Files.isRegularFile(p)) {
                        throw FormatException.of(indexJson, "shard '" + shard + "' (holding " + tensor
                                + ") does not exist");
                    }
                    f = SafetensorsFile.open(p);
                    shards.put(shard, f);
                }
                if (!f.contains(tensor)) {
                    throw FormatException.of(indexJson, "tensor " + tensor + " is mapped to shard '" + shard
                            + "' which does not contain it");
                }
                byTensor.put(tensor, f);
            }
        } catch (RuntimeException ex) {
            shards.values().forEach(SafetensorsFile::close);
            throw ex;
        }
        return new ShardedSafetensors(indexJson, Collections.unmodifiableMap(byTensor),
                Collections.unmodifiableMap(shards), Collections.unmodifiableMap(meta));
    }

    /** The shard files, by the name the index gives them. */
    public Map<String, SafetensorsFile> shards() {
        return shards;
    }

    /** The shard holding {@code name}, or null. */
    public SafetensorsFile shardOf(String name) {
        return indexed(name);
    }

    @Override
    protected Tensor tensor(String name, SafetensorsFile shard) {
        return shard.tensor(name);
    }

    /** The index's {@code metadata} object (e.g. total_size), numbers as Long/Double. */
    @Override
    public Map<String, Object> metadata() {
        return metadata;
    }

    @Override
    public void close() {
        for (SafetensorsFile f : shards.values()) {
            f.close();
        }
    }
}
