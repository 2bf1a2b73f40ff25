/**
 * The {@code sparsa} command line (picocli): one class per command, registered in {@link dev.sparsa.cli.Main},
 * which turns every {@link dev.sparsa.SparsaException} into one line on stderr and a non-zero exit. Commands parse
 * and check options, call sparsa-core and print; the work is done below. See docs/ARCHITECTURE.md §2.
 */
package dev.sparsa.cli;
