package dev.sparsa.cli.report;

import dev.sparsa.profile.metric.Dist;
import dev.sparsa.profile.ProfileResults;
import dev.sparsa.profile.metric.Affinity;
import dev.sparsa.profile.metric.CettMetric;
import dev.sparsa.profile.metric.Dormant;
import dev.sparsa.profile.metric.StatTopK;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static dev.sparsa.cli.report.Svg.esc;

/**
 * Renders {@code report.html} from the results alone: one self-contained page (inline CSS and SVG, no scripts, no
 * external resources) readable offline.
 */
public final class ReportHtml {
    private ReportHtml() {
    }

    static final String CSS = """
            body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;max-width:1320px;
            color:#222;padding:0 16px}
            h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:30px 0 6px;border-bottom:1px solid #ddd;
            padding-bottom:4px}h3{font-size:16px;margin:22px 0 6px}p.sub{color:#555;margin:0 0 14px}
            table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}
            th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}th{background:#f4f6f8;font-weight:600}
            td.l,th.l{text-align:left}
            .grid{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #e3e3e3;border-radius:6px;padding:4px}
            .kpis{display:flex;flex-wrap:wrap;gap:12px;margin:10px 0}.kpi{background:#f4f6f8;border-radius:6px;
            padding:8px 14px;min-width:150px}.kpi b{display:block;font-size:20px}.kpi span{color:#555;font-size:12px}
            ul.notes li{margin:3px 0;color:#444}.expl{color:#555;max-width:1000px}
            svg text{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
            svg .t{font-size:15px;font-weight:600;fill:#222}svg .ts{font-size:12px;font-weight:600;fill:#222}
            svg .tk{font-size:11px;fill:#444}svg .al{font-size:12.5px;fill:#222}svg .lg{font-size:12px;fill:#222}
            svg .g{stroke:#e8e8e8;stroke-width:1}svg .frame{fill:none;stroke:#999;stroke-width:1}
            """;

    /** The profile's page. */
    public static String render(ProfileResults r) {
        return page("Sparsa profile: " + r.run().model(), "<h1>Activation sparsity of " + esc(r.run().model())
                + "</h1>" + body(r, false));
    }

    /** The profile's Markdown section: a heading and the terminal summary ({@link SummaryTable}) as a code block. */
    public static String markdown(ProfileResults r) {
        return "### Profile: " + r.run().model() + " on " + r.run().corpus() + "\n\n```\n" + SummaryTable.render(r)
                + "```\n";
    }

    /** A self-contained page: the shared style sheet and {@code content} (HTML). */
    static String page(String title, String content) {
        return "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>" + esc(title) + "</title><style>"
                + CSS + "</style></head><body>" + content + "</body></html>\n";
    }

    /**
     * Everything of the profile's page below its title; {@code nested}: the sections are {@code h3} (the profile is
     * one part of a larger page, the demo's).
     */
    static String body(ProfileResults r, boolean nested) {
        String b = content(r);
        return nested ? b.replace("<h2>", "<h3>").replace("</h2>", "</h3>") : b;
    }

    private static String content(ProfileResults r) {
        ProfileResults.Run run = r.run();
        StringBuilder h = new StringBuilder();
        h.append("<p class='sub'>").append(esc(run.kind())).append(", ").append(run.numLayers()).append(" layers, D = ")
                .append(run.hiddenSize()).append(", F = ").append(run.intermediateSize()).append(", activation ")
                .append(esc(run.activation())).append(" · corpus ").append(esc(run.corpus())).append(": ")
                .append(run.tokens()).append(" tokens (").append(run.bytes()).append(" bytes) in ").append(run.windows())
                .append(" windows of ").append(run.contextLength()).append(" · ")
                .append(String.format(Locale.ROOT, "%.1f s, %.0f tokens/s profiling, %d thread(s), seed %d",
                        run.seconds(), run.profileTokensPerSecond(), run.threads(), run.seed()))
                .append("</p>");
        kpis(h, r);
        h.append("<h2>Sparsity per layer</h2>");
        h.append("<p class='expl'>Mean over tokens. <b>Zero</b>: exact zeros of h. <b>CETT c</b>: per-token search ")
                .append("(largest threshold whose truncation error ‖Σ<sub>m<ε</sub> h<sub>i</sub>d<sub>i</sub>‖/‖Σ ")
                .append("h<sub>i</sub>d<sub>i</sub>‖ ≤ c); <b>calibrated</b>: one ε per layer.</p>");
        h.append("<div class='grid'><div class='card'>").append(perLayerChart(r)).append("</div><div class='card'>")
                .append(cettCurveChart(r)).append("</div></div>");
        h.append(layerTable(r));
        h.append("<h2>Per-token distributions</h2><p class='expl'>Histograms over tokens of the per-token CETT-")
                .append(fmt(midTarget(r))).append(" sparsity and of the PQ Index (p = 0.5, q = 1; 0 = dense, → 1 = ")
                .append("sparse). Share of tokens per bin.</p>");
        h.append("<div class='grid'>");
        for (ProfileResults.Layer l : r.layers()) {
            CettMetric.Target t = l.cett().targets().get(midIndex(r));
            Dist.Histogram hi = t.perToken().histogram();
            h.append("<div class='card'>").append(Svg.histogram("Layer " + l.layer() + ": CETT-" + fmt(t.c())
                            + " sparsity", "sparsity per token", hi.lo(), hi.hi(), hi.counts(), Svg.color(l.layer()), true))
                    .append("</div>");
        }
        h.append("</div><div class='grid'>");
        for (ProfileResults.Layer l : r.layers()) {
            Dist.Histogram hi = l.pqIndex().histogram();
            h.append("<div class='card'>").append(Svg.histogram("Layer " + l.layer() + ": PQ Index", "PQ Index per token",
                    hi.lo(), hi.hi(), hi.counts(), Svg.color(l.layer()), false)).append("</div>");
        }
        h.append("</div>");
        h.append(quantileTable(r));
        h.append(qualitySection(r));
        h.append("<h2>Hardware affinity</h2><p class='expl'>").append(esc(run.activeDefinition()))
                .append(". Reuse at lag L: share of token t's active neurons also active at t − L (same window); ")
                .append("dashed: a random set of the same density. Coverage: share of all activations that fall in ")
                .append("a fixed set of the most frequently active neurons.</p>");
        h.append("<div class='grid'><div class='card'>").append(reuseChart(r)).append("</div><div class='card'>")
                .append(coverageChart(r)).append("</div></div>");
        h.append(neuronTable(r));
        h.append(predictorSection(r));
        notes(h, r.notes(), r.schema());
        return h.toString();
    }

    private static int midIndex(ProfileResults r) {
        List<CettMetric.Target> ts = r.layers().getFirst().cett().targets();
        int best = 0;
        for (int i = 0; i < ts.size(); i++) {
            if (Math.abs(ts.get(i).c() - 0.2) < Math.abs(ts.get(best).c() - 0.2)) {
                best = i;
            }
        }
        return best;
    }

    private static double midTarget(ProfileResults r) {
        return r.layers().getFirst().cett().targets().get(midIndex(r)).c();
    }

    private static void kpis(StringBuilder h, ProfileResults r) {
        ProfileResults.Overall o = r.overall();
        h.append("<div class='kpis'>");
        kpi(h, pct(o.zeroSparsity()), "zero sparsity (mean of layers)");
        for (ProfileResults.CettOverall c : o.cett()) {
            kpi(h, pct(c.perToken()) + " / " + pct(c.calibrated()), "CETT " + fmt(c.c()) + " sparsity: per-token / "
                    + "calibrated");
        }
        if (r.dense() != null) {
            kpi(h, String.format(Locale.ROOT, "%.3f", r.dense().ppl()), "dense perplexity");
            kpi(h, String.format(Locale.ROOT, "%.3f", r.dense().bitsPerByte()), "bits per byte");
        }
        for (ProfileResults.Target t : r.qualitySparsity().targets()) {
            kpi(h, pct(t.point().sparsity()), (r.qualitySparsity().metric().equals("ppl") ? "PPL-" : "cosine-")
                    + fmt(t.p()) + "% sparsity" + (t.reached() ? "" : " (not bracketed)"));
        }
        kpi(h, pct(o.reuseLag1()), "reuse, consecutive tokens");
        h.append("</div>");
    }

    /** The closing notes of a page, with the schema its numbers come from. */
    static void notes(StringBuilder h, List<String> notes, String schema) {
        h.append("<h2>Notes</h2><ul class='notes'>");
        for (String n : notes) {
            h.append("<li>").append(esc(n)).append("</li>");
        }
        h.append("<li>Schema ").append(esc(schema)).append("; every number on this page comes from results.json.</li>");
        h.append("</ul>");
    }

    static void kpi(StringBuilder h, String v, String label) {
        h.append("<div class='kpi'><b>").append(esc(v)).append("</b><span>").append(esc(label)).append("</span></div>");
    }

    private static String perLayerChart(ProfileResults r) {
        List<Svg.Series> s = new ArrayList<>();
        List<Svg.Point> zero = new ArrayList<>();
        for (ProfileResults.Layer l : r.layers()) {
            zero.add(new Svg.Point(l.layer(), l.zeroSparsity().mean()));
        }
        s.add(new Svg.Series("zero", "#555555", zero));
        int nt = r.layers().getFirst().cett().targets().size();
        for (int i = 0; i < nt; i++) {
            List<Svg.Point> per = new ArrayList<>();
            List<Svg.Point> cal = new ArrayList<>();
            for (ProfileResults.Layer l : r.layers()) {
                per.add(new Svg.Point(l.layer(), l.cett().targets().get(i).perToken().mean()));
                cal.add(new Svg.Point(l.layer(), l.cett().targets().get(i).calibrated().mean()));
            }
            double c = r.layers().getFirst().cett().targets().get(i).c();
            s.add(new Svg.Series("CETT " + fmt(c), Svg.color(i), per));
            s.add(new Svg.Series("CETT " + fmt(c) + " calib.", Svg.color(i), cal, true, false));
        }
        return Svg.lineChart("Sparsity per layer", Svg.Axis.integers("layer", -0.3, r.layers().size() - 0.7),
                Svg.Axis.pct("sparsity (share of F neurons)", 0, 1), s, List.of());
    }

    private static String cettCurveChart(ProfileResults r) {
        List<Svg.Series> s = new ArrayList<>();
        double maxC = 0;
        for (ProfileResults.Layer l : r.layers()) {
            List<Svg.Point> pts = new ArrayList<>();
            for (CettMetric.CurvePoint p : l.cett().curve()) {
                pts.add(new Svg.Point(p.c(), p.sparsity()));
                maxC = Math.max(maxC, p.c());
            }
            s.add(new Svg.Series("layer " + l.layer(), Svg.color(l.layer()), pts));
        }
        return Svg.lineChart("CETT–sparsity curve (per-token search)", Svg.Axis.linear("CETT target c", 0, maxC),
                Svg.Axis.pct("mean sparsity", 0, 1), s, List.of());
    }

    private static String qualitySection(ProfileResults r) {
        ProfileResults.QualitySparsity q = r.qualitySparsity();
        boolean ppl = q.metric().equals("ppl");
        StringBuilder h = new StringBuilder();
        h.append("<h2>").append(ppl ? "PPL-p% sparsity" : "Cosine-p% sparsity (encoder analogue of PPL-p%)")
                .append("</h2><p class='expl'>All layers thresholded at ε<sub>ℓ</sub>(c) for one shared CETT target c; ")
                .append("bisection on c for the point where ")
                .append(ppl ? "perplexity rises by p% over dense" : "the mean cosine similarity of sentence embeddings "
                        + "to the dense ones drops by p%")
                .append(". Evaluated on ").append(q.evalTokens()).append(" tokens.</p>");
        List<Svg.Point> pts = new ArrayList<>();
        pts.add(new Svg.Point(0, q.dense())); // dense: no neuron removed
        double maxY = 0;
        double minY = Double.MAX_VALUE;
        for (ProfileResults.Point p : q.points()) {
            double y = p.quality();
            pts.add(new Svg.Point(p.sparsity(), y));
            if (Double.isFinite(y)) {
                maxY = Math.max(maxY, y);
                minY = Math.min(minY, y);
            }
        }
        List<Svg.Rule> rules = new ArrayList<>();
        int i = 0;
        for (ProfileResults.Target t : q.targets()) {
            double goal = ppl ? q.dense() * (1 + t.p() / 100) : 1 - t.p() / 100;
            rules.add(new Svg.Rule(false, goal, (ppl ? "PPL +" : "cos −") + fmt(t.p()) + "%", Svg.color(i + 1)));
            i++;
        }
        minY = Math.min(minY, ppl ? q.dense() : 1);
        maxY = Math.max(maxY, ppl ? q.dense() : 1);
        // Focus on the interesting range: up to twice the largest target.
        double top = ppl ? Math.min(maxY, q.dense() * 1.25) : 1.0;
        double bottom = ppl ? q.dense() * 0.98 : Math.max(minY, 0.75);
        List<Svg.Series> s = List.of(new Svg.Series(ppl ? "perplexity" : "mean cosine", Svg.color(0), pts));
        h.append("<div class='grid'><div class='card'>").append(Svg.lineChart(ppl ? "Perplexity vs sparsity"
                        : "Embedding similarity vs sparsity", Svg.Axis.pct("sparsity (all layers)", 0, 1),
                Svg.Axis.linear(ppl ? "perplexity" : "cosine similarity to dense", bottom, top), s, rules))
                .append("</div></div>");
        h.append("<table><tr><th>p</th><th>bracketed</th><th>shared CETT c</th><th>sparsity</th><th>")
                .append(ppl ? "PPL (dense " + String.format(Locale.ROOT, "%.3f", q.dense()) + ")" : "mean cosine")
                .append("</th><th>degradation</th><th>bisection steps</th></tr>");
        for (ProfileResults.Target t : q.targets()) {
            h.append(String.format(Locale.ROOT, "<tr><td>%s%%</td><td>%s</td><td>%.4f</td><td>%s</td><td>%.4f</td>"
                            + "<td>%.2f%%</td><td>%d</td></tr>", fmt(t.p()), t.reached() ? "yes" : "no", t.point().c(),
                    pct(t.point().sparsity()), t.point().quality(), t.point().degradation() * 100, t.iterations()));
        }
        h.append("</table>");
        return h.toString();
    }

    private static String reuseChart(ProfileResults r) {
        List<Svg.Series> s = new ArrayList<>();
        int maxLag = 1;
        for (ProfileResults.Layer l : r.layers()) {
            List<Svg.Point> pts = new ArrayList<>();
            List<Svg.Point> base = new ArrayList<>();
            for (Affinity.ReusePoint p : l.affinity().reuse()) {
                if (p.pairs() > 0) {
                    pts.add(new Svg.Point(p.lag(), p.reuse()));
                    base.add(new Svg.Point(p.lag(), l.affinity().density()));
                    maxLag = Math.max(maxLag, p.lag());
                }
            }
            s.add(new Svg.Series("layer " + l.layer(), Svg.color(l.layer()), pts));
            s.add(new Svg.Series("random, layer " + l.layer(), Svg.color(l.layer()), base, true, false));
        }
        return Svg.lineChart("Active-set reuse vs token distance", Svg.Axis.log2("lag L (tokens, log scale)", 1,
                Math.max(2, maxLag)), Svg.Axis.pct("reuse", 0, 1), s, List.of());
    }

    private static String coverageChart(ProfileResults r) {
        List<Svg.Series> s = new ArrayList<>();
        for (ProfileResults.Layer l : r.layers()) {
            List<Svg.Point> pts = new ArrayList<>();
            pts.add(new Svg.Point(0, 0));
            for (Affinity.CoveragePoint p : l.affinity().coverage()) {
                pts.add(new Svg.Point(p.hotFraction(), p.coverage()));
            }
            s.add(new Svg.Series("layer " + l.layer(), Svg.color(l.layer()), pts));
        }
        s.add(new Svg.Series("uniform", "#999999", List.of(new Svg.Point(0, 0), new Svg.Point(1, 1)), true, false));
        return Svg.lineChart("Hot-neuron coverage", Svg.Axis.pct("hot set (share of F, most active first)", 0, 1),
                Svg.Axis.pct("share of activations covered", 0, 1), s, List.of());
    }

    private static String layerTable(ProfileResults r) {
        StringBuilder h = new StringBuilder("<table><tr><th>layer</th><th>zero</th>");
        List<CettMetric.Target> t0 = r.layers().getFirst().cett().targets();
        for (CettMetric.Target t : t0) {
            h.append("<th>CETT ").append(fmt(t.c())).append("<br>per-token</th><th>CETT ").append(fmt(t.c()))
                    .append("<br>calibrated (ε)</th>");
        }
        h.append("<th>stat. top-k<br>agreement (k=10%)</th><th>PQ Index</th></tr>");
        for (ProfileResults.Layer l : r.layers()) {
            h.append("<tr><td>").append(l.layer()).append("</td><td>").append(pct(l.zeroSparsity().mean()))
                    .append("</td>");
            for (CettMetric.Target t : l.cett().targets()) {
                h.append("<td>").append(pct(t.perToken().mean())).append("</td><td>").append(pct(t.calibrated().mean()))
                        .append(String.format(Locale.ROOT, " (%.3g)", t.epsilon())).append("</td>");
            }
            double agree = Double.NaN;
            for (StatTopK.Result s : l.statTopK()) {
                if (s.kFraction() == 0.1) {
                    agree = s.agreement().mean();
                }
            }
            h.append("<td>").append(pct(agree)).append("</td><td>")
                    .append(String.format(Locale.ROOT, "%.3f", l.pqIndex().mean())).append("</td></tr>");
        }
        return h.append("</table>").toString();
    }

    private static String quantileTable(ProfileResults r) {
        StringBuilder h = new StringBuilder("<table><tr><th>layer</th><th class='l'>per-token quantity</th>");
        for (double q : Dist.QUANTILE_LEVELS) {
            h.append("<th>p").append(String.format(Locale.ROOT, "%.0f", q * 100)).append("</th>");
        }
        h.append("<th>mean</th><th>std</th></tr>");
        for (ProfileResults.Layer l : r.layers()) {
            CettMetric.Target t = l.cett().targets().get(midIndex(r));
            qrow(h, l.layer(), "zero sparsity", l.zeroSparsity(), true);
            qrow(h, l.layer(), "CETT-" + fmt(t.c()) + " sparsity (per-token)", t.perToken(), true);
            qrow(h, l.layer(), "CETT at calibrated ε", t.calibratedCett(), false);
            qrow(h, l.layer(), "dead-neuron rate", l.deadNeurons().rate(), true);
            qrow(h, l.layer(), "PQ Index", l.pqIndex(), false);
        }
        return h.append("</table>").toString();
    }

    private static void qrow(StringBuilder h, int layer, String name, Dist d, boolean percent) {
        h.append("<tr><td>").append(layer).append("</td><td class='l'>").append(esc(name)).append("</td>");
        for (double q : d.quantiles()) {
            h.append("<td>").append(percent ? pct(q) : String.format(Locale.ROOT, "%.3f", q)).append("</td>");
        }
        h.append("<td>").append(percent ? pct(d.mean()) : String.format(Locale.ROOT, "%.3f", d.mean()))
                .append("</td><td>").append(String.format(Locale.ROOT, "%.3f", d.std())).append("</td></tr>");
    }

    private static String neuronTable(ProfileResults r) {
        StringBuilder h = new StringBuilder("<table><tr><th>layer</th><th>active ε</th><th>density</th>"
                + "<th>dead-neuron rate</th><th>never active</th>");
        for (Dormant.Result d : r.layers().getFirst().dormant()) {
            h.append("<th>τ-dormant<br>τ = ").append(fmt(d.tau())).append("</th>");
        }
        h.append("<th>reuse lag 1</th><th>top-10% coverage</th></tr>");
        for (ProfileResults.Layer l : r.layers()) {
            h.append(String.format(Locale.ROOT, "<tr><td>%d</td><td>%.3g</td><td>%s</td><td>%s</td><td>%d (%s)</td>",
                    l.layer(), l.activeEpsilon(), pct(l.affinity().density()), pct(l.deadNeurons().rate().mean()),
                    l.deadNeurons().neverActive(), pct(l.deadNeurons().neverActiveFraction())));
            for (Dormant.Result d : l.dormant()) {
                h.append("<td>").append(pct(d.ratio())).append("</td>");
            }
            double cov = Double.NaN;
            for (Affinity.CoveragePoint c : l.affinity().coverage()) {
                if (c.hotFraction() == 0.1) {
                    cov = c.coverage();
                }
            }
            h.append("<td>").append(pct(l.affinity().reuse().getFirst().reuse())).append("</td><td>").append(pct(cov))
                    .append("</td></tr>");
        }
        return h.append("</table>").toString();
    }

    private static String predictorSection(ProfileResults r) {
        StringBuilder h = new StringBuilder("<h2>Predictivity</h2>");
        h.append("<p class='expl'>Per layer, a rank-r predictor x → active set (logistic loss, Adam) trained on the ")
                .append("tokens of even windows and scored on odd windows.</p>");
        h.append("<table><tr><th>layer</th><th>rank</th><th>train / held-out tokens</th><th>held-out loss</th>")
                .append("<th>recall</th><th>precision</th><th>actual density</th><th>predicted density</th></tr>");
        for (ProfileResults.Layer l : r.layers()) {
            var p = l.predictor();
            if (p == null) {
                h.append("<tr><td>").append(l.layer()).append("</td><td colspan='7' class='l'>skipped</td></tr>");
                continue;
            }
            h.append(String.format(Locale.ROOT, "<tr><td>%d</td><td>%d</td><td>%d / %d</td><td>%.4f</td><td>%s</td>"
                            + "<td>%s</td><td>%s</td><td>%s</td></tr>", l.layer(), p.rank(), p.trainTokens(),
                    p.evalTokens(), p.evalLoss(), pct(p.recall()), pct(p.precision()), pct(p.actualDensity()),
                    pct(p.predictedDensity())));
        }
        h.append("</table>");
        ProfileResults.Predictivity q = r.predictivity();
        if (q != null) {
            boolean ppl = q.metric().equals("ppl");
            h.append("<p>Computing only the predicted neurons in every layer (").append(pct(q.computedFraction()))
                    .append(" of them) on ").append(q.evalTokens()).append(" held-out tokens: ")
                    .append(ppl ? String.format(Locale.ROOT, "perplexity %.3f vs %.3f dense.", q.predicted(), q.dense())
                            : String.format(Locale.ROOT, "mean cosine similarity to the dense embeddings %.4f.",
                            q.predicted()))
                    .append("</p>");
        }
        return h.toString();
    }

    static String pct(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.1f%%", v * 100);
    }

    static String fmt(double v) {
        return v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%s", v);
    }
}
