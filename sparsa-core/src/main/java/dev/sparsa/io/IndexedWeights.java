package dev.sparsa.io;

import dev.sparsa.SparsaException.FormatException;
import dev.sparsa.tensor.Tensor;

import java.util.Collection;
import java.util.Map;

/**
 * A {@link WeightSource} over an index of entries by tensor name (safetensors header entries, GGUF tensor infos,
 * shards, ...): the names, lookups and the "missing tensor" error come from the index; a subclass only turns an
 * entry into a {@link Tensor}.
 *
 * @param <E> what the index holds per tensor
 */
public abstract class IndexedWeights<E> implements WeightSource {
    private final Object file;
    private final Map<String, E> index;

    /**
     * @param file  the file or directory the weights come from, named in messages
     * @param index tensor name → entry, in file order; held, not copied
     */
    protected IndexedWeights(Object file, Map<String, E> index) {
        this.file = file;
        this.index = index;
    }

    /** The tensor of {@code entry}, known to be in the index under {@code name}. */
    protected abstract Tensor tensor(String name, E entry);

    /** The entry of {@code name}, or null. */
    protected final E indexed(String name) {
        return index.get(name);
    }

    /** All entries, in index order. */
    protected final Collection<E> indexedValues() {
        return index.values();
    }

    @Override
    public final String location() {
        return file.toString();
    }

    @Override
    public final Collection<String> names() {
        return index.keySet();
    }

    @Override
    public final boolean contains(String name) {
        return index.containsKey(name);
    }

    /** The tensor; a FormatException "file: missing tensor NAME" when the index has no such name. */
    @Override
    public final Tensor tensor(String name) {
        E e = index.get(name);
        if (e == null) {
            throw FormatException.of(file, "missing tensor " + name);
        }
        return tensor(name, e);
    }
}
