package dev.sparsa.cli.report;

import dev.sparsa.profile.ProfileResults;
import dev.sparsa.profile.metric.CettMetric;

import java.util.Locale;

/** The terminal summary of a profile: one row per layer plus the headline numbers. */
public final class SummaryTable {
    private SummaryTable() {
    }

    public static String render(ProfileResults r) {
        StringBuilder s = new StringBuilder();
        ProfileResults.Run run = r.run();
        s.append(String.format(Locale.ROOT, "%s (%s, %s) on %s: %d tokens, %d layers, F = %d%n", run.model(),
                run.kind(), run.activation(), run.corpus(), run.tokens(), run.numLayers(), run.intermediateSize()));
        s.append(String.format(Locale.ROOT, "%5s %7s", "layer", "zero"));
        for (CettMetric.Target t : r.layers().getFirst().cett().targets()) {
            s.append(String.format(Locale.ROOT, " %13s", "CETT" + t.c() + " tok/cal"));
        }
        s.append(String.format(Locale.ROOT, " %7s %7s %6s %7s %7s %7s%n", "dead", "never", "PQ", "reuse1",
                "recall", "prec"));
        for (ProfileResults.Layer l : r.layers()) {
            s.append(String.format(Locale.ROOT, "%5d %7s", l.layer(), pct(l.zeroSparsity().mean())));
            for (CettMetric.Target t : l.cett().targets()) {
                s.append(String.format(Locale.ROOT, " %13s", pct(t.perToken().mean()) + "/" + pct(t.calibrated().mean())));
            }
            var p = l.predictor();
            s.append(String.format(Locale.ROOT, " %7s %7d %6.3f %7s %7s %7s%n", pct(l.deadNeurons().rate().mean()),
                    l.deadNeurons().neverActive(), l.pqIndex().mean(), pct(l.affinity().reuse().getFirst().reuse()),
                    p == null ? "-" : pct(p.recall()), p == null ? "-" : pct(p.precision())));
        }
        if (r.dense() != null) {
            s.append(String.format(Locale.ROOT, "dense perplexity %.3f, %.4f bits/byte%n", r.dense().ppl(),
                    r.dense().bitsPerByte()));
        }
        ProfileResults.QualitySparsity q = r.qualitySparsity();
        s.append(String.format(Locale.ROOT, "quality vs sparsity on %d tokens, dense %s %.4f%n", q.evalTokens(),
                q.metric().equals("ppl") ? "PPL" : "cosine", q.dense()));
        for (ProfileResults.Target t : q.targets()) {
            s.append(String.format(Locale.ROOT, "%s-%s%%: sparsity %s at shared CETT %.4f (%s %.4f)%s%n",
                    q.metric().equals("ppl") ? "PPL" : "cosine", ReportFmt.num(t.p()), pct(t.point().sparsity()),
                    t.point().c(), q.metric().equals("ppl") ? "PPL" : "cosine", t.point().quality(),
                    t.reached() ? "" : " [target not bracketed]"));
        }
        if (r.predictivity() != null) {
            s.append(String.format(Locale.ROOT, "predicted-only FFN: %s of neurons computed, %s %.4f (dense %.4f)%n",
                    pct(r.predictivity().computedFraction()), r.predictivity().metric(), r.predictivity().predicted(),
                    r.predictivity().dense()));
        }
        return s.toString();
    }

    public static String pct(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f%%", v * 100);
    }

    /** Small number formatting shared by the terminal output. */
    public static final class ReportFmt {
        public static String num(double v) {
            return v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f", v) : Double.toString(v);
        }
    }
}
