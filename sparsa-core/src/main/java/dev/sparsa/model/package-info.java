/**
 * What the architectures share: the FFN activation ({@link dev.sparsa.model.Activation}, the one place a
 * {@code hidden_act} name becomes a function), the FFN seam ({@link dev.sparsa.model.FfnKernel} with its weights and
 * the dense reference {@link dev.sparsa.model.DenseFfn}) and the tap on FFN intermediates
 * ({@link dev.sparsa.model.ActivationTap}). The architectures are the sub-packages. See docs/ARCHITECTURE.md §5.
 */
package dev.sparsa.model;
