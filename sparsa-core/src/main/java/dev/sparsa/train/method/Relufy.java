package dev.sparsa.train.method;

import dev.sparsa.SparsaException;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.train.Method;

import java.util.Map;

/**
 * Relufication ("ReLU Strikes Back", Mirzadeh et al. 2023): stage 1 replaces the FFN activation with ReLU and
 * continues training; stage 2 (the second half of the steps, or from {@code stage2From}) also inserts a ReLU after
 * the pre-attention and pre-FFN RMSNorms, so the inputs of q/k/v and of gate/up become sparse too. The saved
 * config.json carries {@code sparsa_relu_after_norm: true}, which only Sparsa reads.
 */
public final class Relufy implements Method {
    private int stage2From;

    @Override
    public String name() {
        return "relufy";
    }

    @Override
    public ModelConfig studentConfig(ModelConfig start) {
        return start.withActivation("relu", 0f);
    }

    @Override
    public int steps(Integer requested) {
        if (requested == null) {
            throw new SparsaException.UsageException("relufy needs --steps");
        }
        if (requested < 2) {
            throw new SparsaException.UsageException("relufy has two stages: --steps must be >= 2, got " + requested);
        }
        stage2From = requested / 2 + 1;
        return requested;
    }

    @Override
    public ModelConfig configAt(int step, ModelConfig current) {
        return step >= stage2From ? current.withReluAfterNorm(true) : current;
    }

    @Override
    public Map<String, Object> summary() {
        return Map.of("stage2From", stage2From);
    }
}
