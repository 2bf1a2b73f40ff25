package dev.sparsa.cli.report;

import dev.sparsa.perf.BenchRow;
import dev.sparsa.perf.ModesResults;
import dev.sparsa.perf.ModesResults.Row;
import dev.sparsa.perf.Stats;

import java.util.Locale;

/**
 * The Markdown of {@code sparsa bench --modes}: the table printed on stdout and, under a heading with the command,
 * the section {@code sparsa report} writes (for BENCHMARKS.md), both from {@link ModesResults} alone.
 */
public final class ModesMarkdown {
    private ModesMarkdown() {
    }

    /** The section: a heading, the command when the JSON records it, and {@link #table}. */
    public static String section(ModesResults r, String command) {
        StringBuilder m = new StringBuilder("### Sparse modes: ").append(r.speedModel()).append(", ")
                .append(r.date()).append("\n\n");
        if (command != null) {
            m.append("```\n").append(command).append("\n```\n\n");
        }
        return m.append(table(r)).toString();
    }

    /** The Markdown table of {@code r} (and its reference row). */
    public static String table(ModesResults r) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Speed on %s (%d prompt + %d decoded tokens, %d threads, median of %d); "
                        + "quality on %s (first %d tokens, eval protocol) and greedy agreement with dense.%n%n",
                r.speedModel(), r.promptTokens(), r.decodeTokens(), r.threads(), r.reps(), r.qualityCorpus(),
                r.qualityTokens()));
        sb.append("| mode | speed model | prefill tok/s | decode tok/s | prefill vs dense | decode vs dense | "
                + "sparsity | ideal (bytes) | of ideal | quality model | bits/byte | Δ vs dense | greedy agreement |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Row x : r.rows()) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n",
                    x.mode(), x.speedModel(), stats(x.prefill()), stats(x.decode()), times(x.prefillSpeedup()),
                    times(x.decodeSpeedup()), pct(x.sparsity()), times(x.idealSpeedup()), pct(x.fractionOfIdeal()),
                    x.qualityModel(), num(x.bitsPerByte()), x.bitsPerByteDelta() == null ? "—"
                            : String.format(Locale.ROOT, "%+.2f%%", 100 * x.bitsPerByteDelta()),
                    x.agreement() == null ? "—" : String.format(Locale.ROOT, "%.3f (%d tok)", x.agreement(),
                            x.agreementTokens())));
        }
        if (r.reference() != null) {
            BenchRow ref = r.reference();
            sb.append(String.format(Locale.ROOT, "%nReference in the same run: %s %s %s dense: prefill %s, decode %s "
                    + "tok/s%s", ref.engine(), ref.model(), ref.dtype(), stats(ref.prefill()), stats(ref.decode()),
                    ref.decode() == null ? " (" + ref.note() + ")" : "; decode vs it:"));
            if (ref.decode() != null) {
                for (Row x : r.rows()) {
                    sb.append(String.format(Locale.ROOT, " %s (%s) %.2fx;", x.mode(), x.speedModel(),
                            x.decode().median() / ref.decode().median()));
                }
            }
            sb.append('\n');
        }
        sb.append(String.format(Locale.ROOT, "%nSpeed rows: %s.%n", r.rows().getFirst().speedActivations()));
        if (r.bandwidthNote() != null) {
            sb.append("Bandwidth: ").append(r.bandwidthNote()).append(".\n");
        }
        for (Row x : r.rows()) {
            for (String n : x.notes()) {
                sb.append("- ").append(x.mode()).append(": ").append(n).append('\n');
            }
        }
        return sb.toString();
    }

    private static String stats(Stats s) {
        return s == null ? "—" : String.format(Locale.ROOT, "%.1f [%.1f–%.1f]", s.median(), s.min(), s.max());
    }

    private static String times(Double v) {
        return v == null ? "—" : String.format(Locale.ROOT, "%.2fx", v);
    }

    private static String pct(Double v) {
        return v == null || v.isNaN() ? "—" : String.format(Locale.ROOT, "%.1f%%", 100 * v);
    }

    private static String num(Double v) {
        return v == null ? "—" : String.format(Locale.ROOT, "%.4f", v);
    }
}
