package dev.sparsa.io;

import dev.sparsa.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An in-memory {@link WeightSource}: tensors by name, in insertion order (random weights, {@link RandomWeights};
 * tensors built by tests). Missing names fail like a file's ("LOCATION: missing tensor NAME"); closing releases
 * nothing (the tensors' memory belongs to whoever allocated it).
 */
public final class MapWeights extends IndexedWeights<Tensor> {
    private final Map<String, Tensor> tensors;

    /** @param location what the weights are, named in messages (e.g. "random llama weights") */
    public MapWeights(String location) {
        this(location, new LinkedHashMap<>());
    }

    private MapWeights(String location, Map<String, Tensor> tensors) {
        super(location, tensors);
        this.tensors = tensors;
    }

    /** Adds (or replaces) {@code t} under its name. */
    public MapWeights put(Tensor t) {
        tensors.put(t.name(), t);
        return this;
    }

    public MapWeights remove(String name) {
        tensors.remove(name);
        return this;
    }

    /** The tensors by name, in insertion order (live, not a copy). */
    public Map<String, Tensor> asMap() {
        return tensors;
    }

    @Override
    protected Tensor tensor(String name, Tensor t) {
        return t;
    }

    @Override
    public Map<String, Object> metadata() {
        return Map.of();
    }

    @Override
    public void close() {
    }
}
