package dev.sparsa.cli.report;

import dev.sparsa.experiment.SparsifyResults;
import dev.sparsa.experiment.SparsifyResults.Run;

import java.util.List;
import java.util.Locale;

/** The EXPERIMENTS.md section of a {@code sparsa experiment sparsify} run: the command, the setup and the tables. */
public final class SparsifyMarkdown {
    private SparsifyMarkdown() {
    }

    /** @param command the command line as the user would type it */
    public static String section(SparsifyResults r, String command) {
        SparsifyResults.Setup s = r.setup();
        StringBuilder m = new StringBuilder();
        m.append("### Run: ").append(s.quick() ? "--quick" : "full").append(", ").append(s.model()).append("\n\n");
        m.append("```\n").append(command).append("\n```\n\n");
        m.append(SparsifyReportHtml.setupLine(r)).append(".\n\n");
        m.append("| run | steps | activation | sparsity T=0 | bits/byte T=0 | Δ T=0 | T | T rule | sparsity at T "
                + "| bits/byte at T | Δ at T | wall s |\n");
        m.append("|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|\n");
        SparsifyResults.Eval d = r.dense();
        m.append(String.format(Locale.ROOT, "| dense (start) | 0 | %s | %s | %.4f | – | – | – | – | – | – | – |%n",
                s.activation(), pct(d.sparsity()), d.bitsPerByte()));
        for (Run x : r.runs()) {
            if (!x.group().equals("method")) {
                continue;
            }
            m.append(row(x));
        }
        List<Run> sweep = SparsifyReportHtml.sweep(r);
        if (sweep.size() > 1) {
            m.append("\nProSparse λ sweep (no distillation; the λ schedule times the scale):\n\n");
            m.append("| λ scale | λ per stage | sparsity T=0 | Δ T=0 | T | sparsity at T | bits/byte at T | Δ at T "
                    + "| wall s |\n");
            m.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
            for (Run x : sweep) {
                m.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %.4f | %s | %.0f |%n",
                        Svg.fmt(x.lambdaScale(), false), SparsifyReportHtml.lambdas(x.lambdas()),
                        pct(x.atZero().sparsity()), delta(x.atZero().delta()), Svg.fmt(x.chosen().threshold(), false),
                        pct(x.chosen().sparsity()), x.chosen().bitsPerByte(), delta(x.chosen().delta()), x.seconds()));
            }
        }
        Run goal = r.run("prosparse+distill");
        if (goal != null) {
            m.append(String.format(Locale.ROOT, "%nGoal (prosparse + distill ≥ %s sparsity within +%s bits/byte): "
                            + "**%s** (%s at %s).%n", pct(SparsifyReportHtml.GOAL_SPARSITY),
                    pct(SparsifyReportHtml.GOAL_DELTA), SparsifyReportHtml.goalMet(goal) ? "met" : "not met",
                    pct(goal.chosen().sparsity()), delta(goal.chosen().delta())));
        }
        return m.toString();
    }

    private static String row(Run x) {
        boolean shifted = !x.thresholdRule().equals("none");
        return String.format(Locale.ROOT, "| %s | %d | %s | %s | %.4f | %s | %s | %s | %s | %s | %s | %.0f |%n",
                x.id(), x.steps(), x.activation(), pct(x.atZero().sparsity()), x.atZero().bitsPerByte(),
                delta(x.atZero().delta()), shifted ? Svg.fmt(x.chosen().threshold(), false) : "–", x.thresholdRule(),
                shifted ? pct(x.chosen().sparsity()) : "–",
                shifted ? String.format(Locale.ROOT, "%.4f", x.chosen().bitsPerByte()) : "–",
                shifted ? delta(x.chosen().delta()) : "–", x.seconds());
    }

    private static String pct(double v) {
        return SparsifyReportHtml.pct(v);
    }

    private static String delta(double v) {
        return SparsifyReportHtml.delta(v);
    }
}
