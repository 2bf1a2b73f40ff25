package dev.sparsa.train.method;

import dev.sparsa.SparsaException;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.train.Method;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * ProSparse (Song et al. 2024, "ProSparse: Introducing and Enhancing Intrinsic Activation Sparsity within Large
 * Language Models"), its three steps:
 * <ol>
 *   <li>ReLU substitution: the FFN activation becomes ReLU, a = ReLU(x W_gate);</li>
 *   <li>progressive sparsity regularization: loss = CE + λ(t) · (1/L) Σ_ℓ mean|a_ℓ|, λ rising in stages: at step s
 *   (1-based) of stage k (S steps each), {@code λ = λ_{k−1} + (λ_k − λ_{k−1}) · sin(π/2 · s/S)}, λ_0 = 0 (the
 *   paper's sine schedule, eq. 3);</li>
 *   <li>activation threshold shifting: ReLU becomes FATReLU_T(x) = x·[x ≥ T] with T given, or ({@code auto}) the
 *   largest T of a grid whose validation bits/byte rise over T = 0 stays within the tolerance.</li>
 * </ol>
 * The grid for {@code auto} is placed on the trained model's own activations: the 5th, 10th, 20th, … 70th
 * percentiles of the positive values of act(gate) on validation tokens, tried in increasing order until the
 * tolerance is exceeded.
 */
public final class ProSparse implements Method {
    private static final double[] GRID_QUANTILES = {0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7};

    private final int stageSteps;
    private final float[] lambdas;
    private final Float threshold;      // null: auto
    private final double tolerance;
    private final Map<String, Object> summary = new LinkedHashMap<>();

    /**
     * @param threshold FATReLU T, or null for {@code auto}
     * @param tolerance largest relative bits/byte rise {@code auto} accepts (0.01 = 1%)
     */
    public ProSparse(int stageSteps, float[] lambdas, Float threshold, double tolerance) {
        if (stageSteps < 1) {
            throw new SparsaException.UsageException("--stage-steps must be >= 1, got " + stageSteps);
        }
        if (lambdas.length == 0) {
            throw new SparsaException.UsageException("--lambdas needs at least one value");
        }
        for (float l : lambdas) {
            if (!(l >= 0) || !Float.isFinite(l)) {
                throw new SparsaException.UsageException("--lambdas: every λ must be a finite number >= 0, got "
                        + Arrays.toString(lambdas));
            }
        }
        if (threshold != null && !(threshold >= 0 && Float.isFinite(threshold))) {
            throw new SparsaException.UsageException("--fatrelu-threshold must be >= 0 or auto, got " + threshold);
        }
        if (!(tolerance >= 0) || !Double.isFinite(tolerance)) {
            throw new SparsaException.UsageException("--tolerance must be >= 0, got " + tolerance);
        }
        this.stageSteps = stageSteps;
        this.lambdas = lambdas.clone();
        this.threshold = threshold;
        this.tolerance = tolerance;
    }

    @Override
    public String name() {
        return "prosparse";
    }

    @Override
    public ModelConfig studentConfig(ModelConfig start) {
        return start.withActivation("relu", 0f);                     // step 1: ReLU substitution
    }

    /** Stages × stage steps; an explicit --steps must agree. */
    @Override
    public int steps(Integer requested) {
        int total = Math.multiplyExact(stageSteps, lambdas.length);
        if (requested != null && requested != total) {
            throw new SparsaException.UsageException("prosparse runs " + lambdas.length + " stages of --stage-steps "
                    + stageSteps + " = " + total + " steps; --steps " + requested + " disagrees (leave it out)");
        }
        return total;
    }

    /** λ(s) = λ_{k−1} + (λ_k − λ_{k−1})·sin(π/2 · s_k/S) in stage k, s_k the step within it (ProSparse eq. 3). */
    @Override
    public float l1(int step) {
        int k = Math.min(lambdas.length - 1, (step - 1) / stageSteps);
        int s = step - k * stageSteps;
        double prev = k == 0 ? 0 : lambdas[k - 1];
        return (float) (prev + (lambdas[k] - prev) * Math.sin(Math.PI / 2 * s / stageSteps));
    }

    /** Step 3: FATReLU with the given T, or the largest T of the grid within the tolerance. */
    @Override
    public ModelConfig finish(Finish ctx) {
        ModelConfig relu = ctx.config();
        if (threshold != null) {
            summary.put("fatreluThreshold", threshold);
            summary.put("thresholdChosen", "given");
            return threshold == 0f ? relu : relu.withActivation("fatrelu", threshold);
        }
        return autoThreshold(ctx, tolerance, summary);
    }

    /**
     * Activation threshold shifting with {@code auto} on any ReLU model {@code ctx.config()} (ProSparse's step 3,
     * also usable after another method): tries the grid of the class doc in increasing order and returns the config
     * with the largest T whose validation bits/byte rise over T = 0 stays within {@code tolerance} ({@code ctx.config()}
     * itself when none does). Puts {@code fatreluThreshold}, {@code thresholdChosen}, {@code tolerance} and
     * {@code thresholdGrid} (every T tried, with its bits/byte and rise) into {@code summary}.
     */
    public static ModelConfig autoThreshold(Finish ctx, double tolerance, Map<String, Object> summary) {
        ModelConfig relu = ctx.config();
        double base = ctx.bitsPerByte(relu);
        float[] pos = ctx.positiveActivations(relu);
        Arrays.sort(pos);
        List<Map<String, Object>> tried = new ArrayList<>();
        tried.add(Map.of("threshold", 0.0, "bitsPerByte", base, "rise", 0.0));
        float best = 0f;
        for (double q : GRID_QUANTILES) {
            if (pos.length == 0) {
                break;
            }
            float t = pos[(int) Math.min(pos.length - 1, Math.floor(q * pos.length))];
            if (!(t > best)) {
                continue;
            }
            double bpb = ctx.bitsPerByte(relu.withActivation("fatrelu", t));
            double rise = bpb / base - 1;
            tried.add(Map.of("threshold", (double) t, "quantile", q, "bitsPerByte", bpb, "rise", rise));
            ctx.say(String.format(Locale.ROOT, "FATReLU T = %.4g (q%.0f of positive activations): "
                    + "bits/byte %.4f (%+.2f%%)", t, q * 100, bpb, rise * 100));
            if (rise > tolerance) {
                break;
            }
            best = t;
        }
        summary.put("fatreluThreshold", best);
        summary.put("thresholdChosen", "auto");
        summary.put("tolerance", tolerance);
        summary.put("thresholdGrid", tried);
        return best == 0f ? relu : relu.withActivation("fatrelu", best);
    }

    @Override
    public Map<String, String> options() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("stageSteps", Integer.toString(stageSteps));
        m.put("lambdas", Arrays.toString(lambdas));
        return m;
    }

    @Override
    public Map<String, Object> summary() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("stageSteps", stageSteps);
        m.put("lambdas", lambdas);
        m.putAll(summary);
        return m;
    }
}
