package dev.sparsa.train;

import dev.sparsa.SparsaException;

import java.util.Locale;

/**
 * Learning rate at step s (1-based) of {@code total}: linear warm-up from lr/warmup to lr over the first
 * {@code warmup} steps, then constant or a half cosine from lr down to {@code minLr} at the last step
 * (Loshchilov &amp; Hutter 2017, SGDR eq. 5 without restarts).
 */
public record Schedule(float lr, int warmup, int total, Kind kind, float minLr) {

    public enum Kind {
        CONSTANT, COSINE;

        /** From an option value: constant or cosine. */
        public static Kind of(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "constant" -> CONSTANT;
                case "cosine" -> COSINE;
                default -> throw new SparsaException.UsageException("--schedule: '" + s + "' is not constant or cosine");
            };
        }
    }

    public Schedule {
        if (!(lr > 0) || !Float.isFinite(lr)) {
            throw new SparsaException.UsageException("--lr must be a positive number, got " + lr);
        }
        if (warmup < 0) {
            throw new SparsaException.UsageException("--warmup must be >= 0, got " + warmup);
        }
        if (total < 1) {
            throw new SparsaException.UsageException("the run must have at least one step, got " + total);
        }
        if (minLr < 0 || minLr > lr) {
            throw new SparsaException.UsageException("--min-lr must be in [0, --lr], got " + minLr);
        }
    }

    public float at(int step) {
        if (step <= warmup) {
            return lr * step / warmup;
        }
        if (kind == Kind.CONSTANT || total <= warmup) {
            return lr;
        }
        double progress = (double) (step - warmup) / (total - warmup);
        return (float) (minLr + (lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
}
