package dev.sparsa.model.llama;

import dev.sparsa.SparsaException;
import dev.sparsa.io.WeightSource;
import dev.sparsa.tensor.Tensor;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/** An in-memory {@link WeightSource} for tests. */
public final class MapWeightSource implements WeightSource {
    private final String location;
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    public MapWeightSource(String location) {
        this.location = location;
    }

    public MapWeightSource put(Tensor t) {
        tensors.put(t.name(), t);
        return this;
    }

    public MapWeightSource remove(String name) {
        tensors.remove(name);
        return this;
    }

    public Map<String, Tensor> asMap() {
        return tensors;
    }

    @Override
    public String location() {
        return location;
    }

    @Override
    public Collection<String> names() {
        return tensors.keySet();
    }

    @Override
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    @Override
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw SparsaException.FormatException.of(location, "no tensor " + name);
        }
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
