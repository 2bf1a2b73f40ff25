package dev.sparsa.train.method;

import dev.sparsa.spec.ModelConfig;
import dev.sparsa.train.Method;

/** Plain language-model training with the model's own activation (pretraining, fine-tuning): no sparsity term. */
public final class Dense implements Method {
    @Override
    public String name() {
        return "dense";
    }

    @Override
    public ModelConfig studentConfig(ModelConfig start) {
        return start;
    }
}
