package dev.sparsa.infer;

/**
 * How a sparse gated FFN stores the weights of its neurons (docs/ARCHITECTURE.md §7).
 *
 * <ul>
 *   <li>{@link #SPLIT}: W_up as stored (mmap'd) and a transposed copy of W_down, [F, D]: an active neuron reads its
 *   up row and its down row from two places. Extra memory: |W_down^T|.</li>
 *   <li>{@link #BUNDLED} (PowerInfer-style neuron bundles, {@link dev.sparsa.tensor.NeuronBundles}): one record per
 *   neuron, [up row | down column], plus the gate row first when the kernel does not read the gate densely
 *   (predicted mode: gate, up and down of a candidate are one contiguous read). Gate-first modes (exact, CATS,
 *   top-k) need the gate of every neuron, so W_gate stays row-major as stored and streams densely. Extra memory:
 *   |W_up| + |W_down^T| (+ |W_gate| when bundled), a copy at load; the originals stay mmap'd and are not read on the
 *   hot path (page cache only).</li>
 * </ul>
 */
public enum FfnLayout {
    SPLIT,
    BUNDLED
}
