package dev.sparsa.spec;

import java.util.List;

/**
 * The FFN activation names a config.json may declare in {@code hidden_act}, and the one name Sparsa uses for each
 * (the single list both the config reader and {@code model.Activation} consult).
 */
public final class HiddenAct {
    /** The canonical names, as written back to config.json. */
    public static final List<String> NAMES = List.of("silu", "gelu", "gelu_new", "relu", "relu2", "fatrelu", "drelu");

    private HiddenAct() {
    }

    /**
     * The canonical name of {@code name} (swish → silu; gelu_pytorch_tanh, gelu_fast → gelu_new), or null when Sparsa
     * does not run it.
     */
    public static String canonical(String name) {
        return switch (name) {
            case "silu", "swish" -> "silu";
            case "gelu" -> "gelu";
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> "gelu_new";
            case "relu", "relu2", "fatrelu", "drelu" -> name;
            default -> null;
        };
    }

    /** The list for an error message: "silu, gelu, ...". */
    public static String supported() {
        return String.join(", ", NAMES);
    }
}
