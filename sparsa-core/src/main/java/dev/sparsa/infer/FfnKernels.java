package dev.sparsa.infer;

import dev.sparsa.SparsaException;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.FfnKernel;

import java.util.List;

/**
 * The FFN kernels by the names the {@code --ffn} options use, one lookup for every command ({@code generate},
 * {@code bench}, {@code bench-e2e}). A new kernel is one more name here.
 */
public final class FfnKernels {
    /** The kernel names, in the order help texts list them. */
    public static final List<String> NAMES = List.of("dense", "exact-sparse", "exact-sparse-split",
            "predicted-sparse");

    private FfnKernels() {
    }

    /**
     * The factory of kernel {@code name}: {@code dense} ({@link DenseFfn}), {@code exact-sparse}
     * ({@link ExactSparseFfn}, neuron bundles), {@code exact-sparse-split} (the same in the {@link FfnLayout#SPLIT}
     * layout: W_up as stored + W_down^T) or {@code predicted-sparse} ({@link PredictedSparseFfn#factory()}, default rank and
     * candidates); a {@link SparsaException.UsageException} naming the option for anything else.
     */
    public static FfnKernel.Factory byName(String name) {
        return switch (name) {
            case "dense" -> DenseFfn::new;
            case "exact-sparse" -> ExactSparseFfn::new;
            case "exact-sparse-split" -> (w, act) -> new ExactSparseFfn(w, act, SparseFfnBase.downTypeFor(w),
                    FfnLayout.SPLIT);
            case "predicted-sparse" -> PredictedSparseFfn.factory();
            default -> throw new SparsaException.UsageException("--ffn must be one of " + String.join(", ", NAMES)
                    + ", got " + name);
        };
    }
}
