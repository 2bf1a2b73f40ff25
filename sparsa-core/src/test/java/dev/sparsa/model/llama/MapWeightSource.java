package dev.sparsa.model.llama;

import dev.sparsa.io.IndexedWeights;
import dev.sparsa.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/** An in-memory {@link dev.sparsa.io.WeightSource} for tests. */
public final class MapWeightSource extends IndexedWeights<Tensor> {
    private final Map<String, Tensor> tensors;

    public MapWeightSource(String location) {
        this(location, new LinkedHashMap<>());
    }

    private MapWeightSource(String location, Map<String, Tensor> tensors) {
        super(location, tensors);
        this.tensors = tensors;
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
