package dev.sparsa.cli.report;

import dev.sparsa.perf.BenchRow;
import dev.sparsa.perf.ModesResults;
import dev.sparsa.perf.Stats;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static dev.sparsa.cli.report.Svg.esc;

/**
 * The HTML section of {@code sparsa bench --modes} (and {@code bench-e2e --modes}): the modes' speed and quality side
 * by side (one table, as the JSON), and a chart of decode speedup against the bits/byte cost, from
 * {@link ModesResults} alone ({@code sparsa report results.json} re-renders it).
 */
public final class ModesReportHtml {
    private ModesReportHtml() {
    }

    /** The page. */
    public static String render(ModesResults r) {
        return ReportHtml.page("Sparsa sparse modes: " + r.speedModel(), "<h1>Sparse modes: speed beside quality</h1>"
                + section(r));
    }

    /** The section (an {@code h2} and what follows), for a page of its own or a larger report. */
    public static String section(ModesResults r) {
        StringBuilder sb = new StringBuilder();
        sb.append("<h2>Sparse modes side by side</h2>");
        sb.append("<p class='sub'>Speed on ").append(esc(r.speedModel())).append(String.format(Locale.ROOT,
                " (%d prompt + %d decoded tokens, %d threads, median [min–max] of %d runs%s); ", r.promptTokens(),
                r.decodeTokens(), r.threads(), r.reps(), r.bandwidth() == null ? "" : String.format(Locale.ROOT,
                        ", memory bandwidth %.1f GB/s", r.bandwidth())));
        sb.append("quality on ").append(esc(r.qualityCorpus())).append(String.format(Locale.ROOT,
                " (first %d tokens, eval protocol) and greedy agreement with dense. %s at %s.</p>",
                r.qualityTokens(), "Measured", esc(r.date())));
        sb.append("<table><tr><th class='l'>mode</th><th class='l'>speed model</th><th>prefill tok/s</th><th>decode tok/s</th><th>prefill vs "
                + "dense</th><th>decode vs dense</th><th>sparsity</th><th>ideal (bytes)</th><th>of ideal</th>"
                + "<th class='l'>quality model</th><th>bits/byte</th><th>Δ vs dense</th><th>greedy agreement</th>"
                + "</tr>");
        for (ModesResults.Row x : r.rows()) {
            sb.append("<tr><td class='l'>").append(esc(x.mode())).append("</td><td class='l'>")
                    .append(esc(x.speedModel())).append("</td><td>").append(stats(x.prefill()))
                    .append("</td><td>").append(stats(x.decode())).append("</td><td>").append(times(x.prefillSpeedup()))
                    .append("</td><td>").append(times(x.decodeSpeedup())).append("</td><td>").append(pct(x.sparsity()))
                    .append("</td><td>").append(times(x.idealSpeedup())).append("</td><td>")
                    .append(pct(x.fractionOfIdeal())).append("</td><td class='l'>").append(esc(String.valueOf(
                            x.qualityModel()))).append("</td><td>").append(x.bitsPerByte() == null ? "–"
                            : String.format(Locale.ROOT, "%.4f", x.bitsPerByte())).append("</td><td>")
                    .append(x.bitsPerByteDelta() == null ? "–" : String.format(Locale.ROOT, "%+.2f%%",
                            100 * x.bitsPerByteDelta())).append("</td><td>").append(x.agreement() == null ? "–"
                            : String.format(Locale.ROOT, "%.3f", x.agreement())).append("</td></tr>");
        }
        sb.append("</table>");
        BenchRow ref = r.reference();
        if (ref != null) {
            sb.append("<p>Reference in the same run: ").append(esc(ref.engine())).append(' ').append(esc(ref.model()))
                    .append(' ').append(esc(ref.dtype())).append(" dense, prefill ").append(stats(ref.prefill()))
                    .append(", decode ").append(stats(ref.decode())).append(" tok/s");
            if (ref.decode() != null) {
                for (ModesResults.Row x : r.rows()) {
                    sb.append(String.format(Locale.ROOT, "; %s %.2fx", esc(x.mode()), x.decode().median()
                            / ref.decode().median()));
                }
            } else if (ref.note() != null) {
                sb.append(" (").append(esc(ref.note())).append(')');
            }
            sb.append(".</p>");
        }
        sb.append(chart(r));
        sb.append("<ul class='notes'><li>Speed rows: ").append(esc(r.rows().getFirst().speedActivations()))
                .append(".</li><li>sparsity: share of FFN neurons with h = 0 over the decoded tokens (the down "
                        + "columns not read); ideal = dense bytes / the mode's bytes per decoded token; of ideal = "
                        + "measured decode speedup / ideal.</li><li>Δ vs dense: relative bits/byte change on the "
                        + "same quality model; greedy agreement: share of dense's greedy tokens the mode's argmax "
                        + "predicts, fed dense's tokens.</li>");
        if (r.bandwidthNote() != null) {
            sb.append("<li>Bandwidth: ").append(esc(r.bandwidthNote())).append(".</li>");
        }
        for (ModesResults.Row x : r.rows()) {
            for (String n : x.notes()) {
                sb.append("<li>").append(esc(x.mode())).append(": ").append(esc(n)).append("</li>");
            }
        }
        sb.append("</ul>");
        return sb.toString();
    }

    /** Decode speedup (x) against the bits/byte cost (y), one point per mode. */
    private static String chart(ModesResults r) {
        List<Svg.Series> series = new ArrayList<>();
        double xMax = 1;
        double yMin = 0;
        double yMax = 0.01;
        int i = 0;
        for (ModesResults.Row x : r.rows()) {
            double dy = x.bitsPerByteDelta() == null ? 0 : x.bitsPerByteDelta();
            double dx = x.decodeSpeedup() == null ? 1 : x.decodeSpeedup();
            if (!Double.isFinite(dx) || !Double.isFinite(dy)) {
                continue;
            }
            xMax = Math.max(xMax, dx);
            yMin = Math.min(yMin, dy);
            yMax = Math.max(yMax, dy);
            series.add(Svg.Series.scatter(x.mode(), Svg.color(i++), List.of(new Svg.Point(dx, dy))));
        }
        double pad = (yMax - yMin) * 0.1;
        return "<div class='grid'><div class='card'>" + Svg.lineChart("Decode speedup vs quality cost",
                Svg.Axis.linear("decode speedup vs dense (x)", 0, xMax * 1.1),
                Svg.Axis.pct("bits/byte vs dense", yMin - pad, yMax + pad), series,
                List.of(new Svg.Rule(false, 0.01, "+1% bits/byte", "#999"))) + "</div></div>";
    }

    private static String stats(Stats s) {
        return s == null ? "–" : String.format(Locale.ROOT, "%.1f [%.1f–%.1f]", s.median(), s.min(), s.max());
    }

    private static String times(Double v) {
        return v == null ? "–" : String.format(Locale.ROOT, "%.2fx", v);
    }

    private static String pct(Double v) {
        return v == null || v.isNaN() ? "–" : String.format(Locale.ROOT, "%.1f%%", 100 * v);
    }
}
