/**
 * Sparsa: measure, induce and exploit activation sparsity in transformer models, in pure Java. This package holds
 * only {@link dev.sparsa.SparsaException} and its subclasses, the one-line errors every layer throws; the layers are
 * the sub-packages, described in docs/ARCHITECTURE.md §1.
 */
package dev.sparsa;
