package dev.sparsa.train.method;

import dev.sparsa.spec.ModelConfig;
import dev.sparsa.train.Method;

/**
 * Continued training after swapping the FFN activation: {@code relu} (the control: ReLU substitution alone, as in
 * ProSparse's step 1), {@code relu2} (ReLU², "ReLU² Wins", Zhang et al. 2024: a = max(0, x)²) and {@code drelu}
 * (TurboSparse, Song et al. 2024: h = ReLU(x W_gate) ⊙ ReLU(x W_up)). The loss is the plain LM loss.
 */
public final class ActivationSwap implements Method {
    private final String name;
    private final String act;

    private ActivationSwap(String name, String act) {
        this.name = name;
        this.act = act;
    }

    public static ActivationSwap relu() {
        return new ActivationSwap("relu", "relu");
    }

    public static ActivationSwap relu2() {
        return new ActivationSwap("relu2", "relu2");
    }

    public static ActivationSwap drelu() {
        return new ActivationSwap("drelu", "drelu");
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public ModelConfig studentConfig(ModelConfig start) {
        return start.withActivation(act, 0f);
    }
}
