package dev.sparsa;

/**
 * Root of every error Sparsa reports to a user. The message is one line that names the file or field and the
 * problem; the CLI prints it as is and exits non-zero, without a stack trace.
 */
public class SparsaException extends RuntimeException {
    public SparsaException(String message) {
        super(message);
    }

    public SparsaException(String message, Throwable cause) {
        super(message, cause);
    }

    /** A model, weight, tokenizer or corpus file that is missing, truncated, malformed or unsupported. */
    public static class FormatException extends SparsaException {
        public FormatException(String message) {
            super(message);
        }

        public FormatException(String message, Throwable cause) {
            super(message, cause);
        }

        /** "file: problem" — the one shape every format error takes. */
        public static FormatException of(Object file, String problem) {
            return new FormatException(file + ": " + problem);
        }
    }

    /** A configuration that is well-formed but names something Sparsa does not support (architecture, act...). */
    public static class UnsupportedException extends SparsaException {
        public UnsupportedException(String message) {
            super(message);
        }
    }

    /** Bad arguments: wrong shapes passed to an API, or bad CLI option values. */
    public static class UsageException extends SparsaException {
        public UsageException(String message) {
            super(message);
        }
    }
}
