package dev.sparsa.cli.serve;

import dev.sparsa.SparsaException.UsageException;
import dev.sparsa.infer.FfnKernels;
import dev.sparsa.model.FfnKernel;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code --sparse} modes of {@code sparsa serve}, each the FFN kernel it runs ({@link FfnKernels} name):
 * {@code dense} every neuron, {@code exact} the exact-sparse kernel (skips neurons whose ReLU-family activation is
 * 0; same output as dense up to float rounding). A new mode is one entry here; issue #9 adds the calibrated ones
 * (cats, teal, topk, predicted).
 */
final class SparseModes {
    /** Mode → FFN kernel name, in the order help texts list them. */
    static final Map<String, String> KERNELS = modes();

    private SparseModes() {
    }

    private static Map<String, String> modes() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("dense", "dense");
        m.put("exact", "exact-sparse");
        return java.util.Collections.unmodifiableMap(m);
    }

    /** The kernel factory of {@code mode}; a usage error naming the modes for anything else. */
    static FfnKernel.Factory factory(String mode) {
        String kernel = KERNELS.get(mode);
        if (kernel == null) {
            throw new UsageException("--sparse must be one of " + String.join(", ", KERNELS.keySet()) + ", got "
                    + mode);
        }
        return FfnKernels.byName(kernel);
    }
}
