/**
 * A tiny synthetic {@link dev.sparsa.profile.ProfiledModel} with random weights ({@code toy-relu}, {@code toy-gelu})
 * for tests and smoke runs of the profiler; not a language model. See docs/ARCHITECTURE.md §6.
 */
package dev.sparsa.profile.toy;
