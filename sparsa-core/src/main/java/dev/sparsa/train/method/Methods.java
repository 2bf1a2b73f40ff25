package dev.sparsa.train.method;

import dev.sparsa.SparsaException;
import dev.sparsa.train.Method;

import java.util.List;

/** The sparsification methods by name ({@code sparsa sparsify --method NAME}); ProSparse and LTE need their options. */
public final class Methods {
    private Methods() {
    }

    /** Every name {@code sparsify} accepts. */
    public static final List<String> NAMES = List.of("prosparse", "relu", "relu2", "relufy", "drelu", "lte");

    /** A method without options of its own; prosparse and lte are built by the caller from their options. */
    public static Method simple(String name) {
        return switch (name) {
            case "relu" -> ActivationSwap.relu();
            case "relu2" -> ActivationSwap.relu2();
            case "drelu" -> ActivationSwap.drelu();
            case "relufy" -> new Relufy();
            case "prosparse", "lte" -> throw new IllegalArgumentException(name + " needs its options: build it "
                    + "directly");
            default -> throw unknown(name);
        };
    }

    public static SparsaException.UsageException unknown(String name) {
        return new SparsaException.UsageException("--method: unknown method '" + name + "' (" + String.join(", ", NAMES)
                + ")");
    }
}
