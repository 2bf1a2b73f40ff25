package dev.sparsa.cli.report;

import dev.sparsa.experiment.DemoResults;
import dev.sparsa.experiment.ProSparseDemo;
import dev.sparsa.experiment.SparsifyResults;
import dev.sparsa.perf.BenchRow;
import dev.sparsa.profile.ProfileResults;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static dev.sparsa.cli.report.Svg.esc;

/**
 * The demo's one page, from its results alone: the MiniLM profile (the profile report's sections) and the Llama
 * story (pretraining, ProSparse, the profile before / after, decode speed, bits/byte).
 */
public final class DemoReportHtml {
    private DemoReportHtml() {
    }

    /** The demo's Markdown section: a heading and the terminal summary (MiniLM's profile, then Llama's) in code. */
    public static String markdown(DemoResults r) {
        return "### Demo\n\n```\n" + SummaryTable.render(r.minilm()) + "\n" + llamaSummary(r) + "```\n";
    }

    public static String render(DemoResults r) {
        StringBuilder h = new StringBuilder();
        ProSparseDemo.Results l = r.llama();
        h.append("<h1>Sparsa demo: activation sparsity, measured and induced</h1>");
        h.append("<p class='sub'>").append(esc(String.format(Locale.ROOT, "%s wall (%.0f s CPU), %d thread(s)",
                SparsifyReportHtml.clock(r.seconds()), r.cpuSeconds(), r.threads()))).append(" · ");
        List<String> parts = new ArrayList<>();
        for (Map.Entry<String, Double> e : r.stageSeconds().entrySet()) {
            parts.add(e.getKey() + " " + SparsifyReportHtml.clock(e.getValue()));
        }
        h.append(esc(String.join(", ", parts))).append("</p>");
        h.append("<ol><li><a href='#minilm'>all-MiniLM-L6-v2 (GELU encoder): how sparse is it?</a></li>")
                .append("<li><a href='#llama'>A small Llama: dense → ProSparse</a></li></ol>");
        h.append("<h2 id='minilm'>1. Activation sparsity of ").append(esc(r.minilm().run().model())).append("</h2>");
        h.append(ReportHtml.body(r.minilm(), true));
        h.append("<h2 id='llama'>2. A small Llama: dense → ProSparse</h2>");
        h.append(llama(l));
        ReportHtml.notes(h, r.notes(), r.schema());
        return ReportHtml.page("Sparsa demo", h.toString());
    }

    private static String llama(ProSparseDemo.Results l) {
        StringBuilder h = new StringBuilder();
        ProSparseDemo.Model d = l.dense();
        ProSparseDemo.Model s = l.sparse();
        Map<String, Object> pre = l.pretrain();
        h.append("<p class='expl'>").append(esc(pretrainLine(l))).append(" Then ProSparse: ReLU in place of SiLU, ")
                .append(esc(String.format(Locale.ROOT, "%d stages of %d steps with L1 on the activations, λ rising "
                                + "(sine) to %s, then FATReLU threshold shifting: T = %s (the largest tried whose "
                                + "bits/byte rise stays within the tolerance), %.0f s.", l.lambdas().length,
                        l.stageSteps(), SparsifyReportHtml.lambdas(l.lambdas()), Svg.fmt(s.threshold(), false),
                        l.trainSeconds())))
                .append(" Bits/byte and zero sparsity on ").append(esc(l.validCorpus())).append(": ")
                .append(l.validTokens()).append(" predicted tokens in windows of ").append(l.contextLength())
                .append(".</p>");
        h.append("<div class='kpis'>");
        ReportHtml.kpi(h, pct(d.sparsity()) + " → " + pct(s.sparsity()), "zero sparsity, dense → ProSparse");
        ReportHtml.kpi(h, String.format(Locale.ROOT, "%.4f → %.4f", d.bitsPerByte(), s.bitsPerByte()),
                "bits/byte (" + SparsifyReportHtml.delta(s.bitsPerByte() / d.bitsPerByte() - 1) + ")");
        BenchRow dd = bench(l, "dense", "dense");
        BenchRow se = bench(l, "prosparse", "exact-sparse");
        BenchRow sd = bench(l, "prosparse", "dense");
        if (dd != null && se != null) {
            ReportHtml.kpi(h, String.format(Locale.ROOT, "%.0f → %.0f", dd.decode().median(), se.decode().median()),
                    "decode tok/s, dense model → ProSparse exact-sparse");
        }
        if (sd != null && se != null) {
            ReportHtml.kpi(h, String.format(Locale.ROOT, "%.2fx", se.decode().median() / sd.decode().median()),
                    "exact-sparse vs dense FFN, same ProSparse model");
        }
        h.append("</div>");
        h.append(compareTable(l));
        h.append("<h3>Training</h3><div class='grid'>");
        if (pre.get("curve") instanceof Map<?, ?> c) {
            h.append("<div class='card'>").append(pretrainChart(c)).append("</div>");
        }
        SparsifyResults.Curve c = l.curve();
        h.append("<div class='card'>").append(series("ProSparse: training CE", c.step(), c.ce(), "cross-entropy "
                + "(nats)", false)).append("</div>");
        h.append("<div class='card'>").append(sparsityChart(c)).append("</div></div>");
        h.append("<h3>Profile before / after</h3><p class='expl'>The same profiler on both models, on the first ")
                .append(d.profile().run().tokens()).append(" tokens of ").append(esc(d.profile().run().corpus()))
                .append(": zero sparsity and CETT sparsity per layer, and PPL-p% (perplexity when every layer is ")
                .append("thresholded at a shared CETT target).</p>");
        h.append("<div class='grid'><div class='card'>").append(perLayer(d.profile(), s.profile()))
                .append("</div><div class='card'>").append(pplCurves(d.profile(), s.profile())).append("</div></div>");
        h.append("<h3>Decode speed</h3><p class='expl'>Greedy decoding after a ").append(l.bench().isEmpty() ? 0
                        : l.bench().getFirst().promptTokens()).append("-token prompt, median [min–max] over ")
                .append("interleaved rounds (each round times every row once, so a change of the machine's load hits ")
                .append("every row alike). The exact-sparse kernel computes the gate densely and the up and down ")
                .append("projections only for the neurons whose activation is not zero (SiLU gives no exact zeros, ")
                .append("so it applies to the ProSparse model only). The LM head and attention stay dense, which ")
                .append("bounds the gain (ideal speedup: bytes read per token dense / sparse).</p>");
        h.append(benchTable(l.bench()));
        if (l.method() != null && l.method().get("thresholdGrid") instanceof List<?> grid) {
            h.append("<h3>Threshold search</h3>").append(SparsifyReportHtml.gridTable(null, grid));
        }
        return h.toString();
    }

    /** One sentence on how the dense model was made. */
    static String pretrainLine(ProSparseDemo.Results l) {
        Map<String, Object> pre = l.pretrain();
        Map<?, ?> spec = pre.get("spec") instanceof Map<?, ?> m ? m : Map.of();
        return String.format(Locale.ROOT, "The dense model: %s, %,d parameters (hidden %s, %s layers, FFN %s, %s), "
                        + "pretrained by Sparsa on %s for %s steps of %s × %s tokens (%,d tokens seen) in %.0f s%s.",
                pre.get("name"), (long) num(pre.get("parameters")), spec.get("hiddenSize"), spec.get("numLayers"),
                spec.get("intermediateSize"), spec.get("activation"), pre.get("trainCorpus"), spec.get("steps"),
                spec.get("batch"), spec.get("seq"), (long) num(pre.get("tokensSeen")), num(pre.get("seconds")),
                l.pretrainCached() ? " (an earlier run; taken from Sparsa's cache this time)" : "");
    }

    /** The bench row of {@code model} (dense or prosparse) with the {@code ffn} kernel; null when absent. */
    public static BenchRow bench(ProSparseDemo.Results l, String model, String ffn) {
        for (BenchRow b : l.bench()) {
            if (b.note() != null && b.note().equals(model) && b.ffn().equals(ffn)) {
                return b;
            }
        }
        return null;
    }

    private static String compareTable(ProSparseDemo.Results l) {
        ProfileResults dp = l.dense().profile();
        ProfileResults sp = l.sparse().profile();
        StringBuilder h = new StringBuilder("<table><tr><th class='l'></th><th>dense</th><th>ProSparse</th></tr>");
        row(h, "activation", l.dense().activation(), l.sparse().activation() + (l.sparse().threshold() > 0
                ? " T = " + Svg.fmt(l.sparse().threshold(), false) : ""));
        row(h, "bits/byte (validation)", String.format(Locale.ROOT, "%.4f", l.dense().bitsPerByte()),
                String.format(Locale.ROOT, "%.4f (%s)", l.sparse().bitsPerByte(),
                        SparsifyReportHtml.delta(l.sparse().bitsPerByte() / l.dense().bitsPerByte() - 1)));
        row(h, "zero sparsity (validation)", pct(l.dense().sparsity()), pct(l.sparse().sparsity()));
        row(h, "zero sparsity at T = 0 (plain ReLU)", "–", pct(l.sparseAtZero().sparsity()) + String.format(
                Locale.ROOT, ", bits/byte %.4f", l.sparseAtZero().bitsPerByte()));
        for (int i = 0; i < dp.overall().cett().size(); i++) {
            ProfileResults.CettOverall a = dp.overall().cett().get(i);
            ProfileResults.CettOverall b = sp.overall().cett().get(i);
            row(h, "CETT " + Svg.fmt(a.c(), false) + " sparsity (per-token, profile)", pct(a.perToken()),
                    pct(b.perToken()));
        }
        for (int i = 0; i < dp.qualitySparsity().targets().size(); i++) {
            ProfileResults.Target a = dp.qualitySparsity().targets().get(i);
            ProfileResults.Target b = sp.qualitySparsity().targets().get(i);
            row(h, "PPL-" + Svg.fmt(a.p(), false) + "% sparsity (profile)", pct(a.point().sparsity()),
                    pct(b.point().sparsity()));
        }
        row(h, "dead-neuron rate / never-active neurons", pct(dp.overall().deadRate()) + " / "
                + dp.overall().neverActive(), pct(sp.overall().deadRate()) + " / " + sp.overall().neverActive());
        row(h, "active-set reuse, consecutive tokens", pct(dp.overall().reuseLag1()), pct(sp.overall().reuseLag1()));
        row(h, "predictor recall / precision", pct(dp.overall().predictorRecall()) + " / "
                + pct(dp.overall().predictorPrecision()), pct(sp.overall().predictorRecall()) + " / "
                + pct(sp.overall().predictorPrecision()));
        for (String ffn : List.of("dense", "exact-sparse")) {
            BenchRow a = bench(l, "dense", ffn);
            BenchRow b = bench(l, "prosparse", ffn);
            row(h, "decode tok/s, " + ffn + " FFN", a == null ? "–" : tps(a.decode()),
                    b == null ? "–" : tps(b.decode()));
        }
        return h.append("</table>").toString();
    }

    private static void row(StringBuilder h, String name, String a, String b) {
        h.append("<tr><td class='l'>").append(esc(name)).append("</td><td>").append(esc(a)).append("</td><td>")
                .append(esc(b)).append("</td></tr>");
    }

    private static String pretrainChart(Map<?, ?> c) {
        List<?> steps = c.get("step") instanceof List<?> s ? s : List.of();
        List<?> ce = c.get("ce") instanceof List<?> v ? v : List.of();
        int n = Math.min(steps.size(), ce.size());
        int[] st = new int[n];
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            st[i] = (int) num(steps.get(i));
            y[i] = num(ce.get(i));
        }
        return series("Pretraining: training CE", st, y, "cross-entropy (nats)", false);
    }

    private static String series(String title, int[] step, double[] v, String label, boolean percent) {
        List<Svg.Point> pts = new ArrayList<>();
        double lo = Double.MAX_VALUE;
        double hi = -Double.MAX_VALUE;
        for (int i = 0; i < step.length; i++) {
            pts.add(new Svg.Point(step[i], v[i]));
            if (Double.isFinite(v[i])) {
                lo = Math.min(lo, v[i]);
                hi = Math.max(hi, v[i]);
            }
        }
        if (lo > hi) {
            lo = 0;
            hi = 1;
        }
        double pad = Math.max((hi - lo) * 0.05, 1e-6);
        Svg.Axis y = percent ? Svg.Axis.pct(label, 0, 1) : Svg.Axis.linear(label, lo - pad, hi + pad);
        return Svg.lineChart(title, Svg.Axis.linear("step", 0, Math.max(1, step.length == 0 ? 1
                : step[step.length - 1])), y, List.of(new Svg.Series("training batch", Svg.color(0), pts, false,
                false)), List.of());
    }

    private static String sparsityChart(SparsifyResults.Curve c) {
        List<Svg.Point> sp = new ArrayList<>();
        List<Svg.Point> lam = new ArrayList<>();
        double maxLambda = 0;
        for (double v : c.lambda()) {
            maxLambda = Math.max(maxLambda, v);
        }
        for (int i = 0; i < c.step().length; i++) {
            sp.add(new Svg.Point(c.step()[i], c.sparsity()[i]));
            lam.add(new Svg.Point(c.step()[i], maxLambda > 0 ? c.lambda()[i] / maxLambda : 0));
        }
        int last = c.step().length == 0 ? 1 : c.step()[c.step().length - 1];
        return Svg.lineChart("ProSparse: sparsity and λ", Svg.Axis.linear("step", 0, last),
                Svg.Axis.pct("zero sparsity (training batch)", 0, 1), List.of(new Svg.Series("sparsity",
                        Svg.color(1), sp, false, false), new Svg.Series("λ / " + Svg.fmt(maxLambda, false),
                        "#999999", lam, true, false)), List.of());
    }

    private static String perLayer(ProfileResults d, ProfileResults s) {
        List<Svg.Series> series = new ArrayList<>();
        int mid = 0;
        List<Double> cs = new ArrayList<>();
        for (var t : d.layers().getFirst().cett().targets()) {
            cs.add(t.c());
        }
        for (int i = 0; i < cs.size(); i++) {
            if (Math.abs(cs.get(i) - 0.2) < Math.abs(cs.get(mid) - 0.2)) {
                mid = i;
            }
        }
        int k = 0;
        for (ProfileResults p : List.of(d, s)) {
            String who = k == 0 ? "dense" : "ProSparse";
            List<Svg.Point> zero = new ArrayList<>();
            List<Svg.Point> cett = new ArrayList<>();
            for (ProfileResults.Layer l : p.layers()) {
                zero.add(new Svg.Point(l.layer(), l.zeroSparsity().mean()));
                cett.add(new Svg.Point(l.layer(), l.cett().targets().get(mid).perToken().mean()));
            }
            series.add(new Svg.Series(who + ": zero", Svg.color(2 * k), zero));
            series.add(new Svg.Series(who + ": CETT " + Svg.fmt(cs.get(mid), false), Svg.color(2 * k), cett, true,
                    true));
            k++;
        }
        return Svg.lineChart("Sparsity per layer, before / after", Svg.Axis.integers("layer", -0.3,
                d.layers().size() - 0.7), Svg.Axis.pct("sparsity (share of F neurons)", 0, 1), series, List.of());
    }

    private static String pplCurves(ProfileResults d, ProfileResults s) {
        List<Svg.Series> series = new ArrayList<>();
        double top = 0;
        double bottom = Double.MAX_VALUE;
        int k = 0;
        for (ProfileResults p : List.of(d, s)) {
            ProfileResults.QualitySparsity q = p.qualitySparsity();
            List<Svg.Point> pts = new ArrayList<>();
            double dense = q.dense();                     // PPL on the same evaluation tokens as the points
            pts.add(new Svg.Point(p.overall().zeroSparsity(), dense));
            bottom = Math.min(bottom, dense);
            for (ProfileResults.Point pt : q.points()) {
                pts.add(new Svg.Point(pt.sparsity(), pt.quality()));
                if (Double.isFinite(pt.quality())) {
                    bottom = Math.min(bottom, pt.quality());
                }
            }
            pts.sort((a, b) -> Double.compare(a.x(), b.x()));
            series.add(new Svg.Series(k == 0 ? "dense" : "ProSparse", Svg.color(2 * k), pts));
            top = Math.max(top, dense * 1.15);            // the interesting range: up to +15%
            k++;
        }
        return Svg.lineChart("Perplexity vs sparsity (shared CETT target)", Svg.Axis.pct("sparsity (all layers)",
                0, 1), Svg.Axis.linear("perplexity (" + d.qualitySparsity().evalTokens() + " tokens)", bottom * 0.99, top),
                series, List.of());
    }

    private static String benchTable(List<BenchRow> rows) {
        StringBuilder h = new StringBuilder("<table><tr><th class='l'>model</th><th class='l'>FFN kernel</th>"
                + "<th>decode tok/s</th><th>prefill tok/s</th><th>active neurons</th><th>MB / token</th>"
                + "<th>ideal speedup</th><th>threads</th></tr>");
        for (BenchRow b : rows) {
            h.append(String.format(Locale.ROOT, "<tr><td class='l'>%s</td><td class='l'>%s</td><td>%s</td>"
                            + "<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%d</td></tr>", esc(b.note()),
                    esc(b.ffn()), tps(b.decode()), tps(b.prefill()),
                    b.activeFraction() == null ? "–" : pct(b.activeFraction()),
                    b.bytesPerToken() == null ? "–" : String.format(Locale.ROOT, "%.2f", b.bytesPerToken() / 1e6),
                    b.idealSpeedup() == null ? "–" : String.format(Locale.ROOT, "%.2fx", b.idealSpeedup()),
                    b.threads()));
        }
        return h.append("</table>").toString();
    }

    /** Median [min–max] tokens/s. */
    static String tps(dev.sparsa.perf.Stats s) {
        return s == null ? "–" : String.format(Locale.ROOT, "%.0f [%.0f–%.0f]", s.median(), s.min(), s.max());
    }

    private static double num(Object o) {
        return o instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    private static String pct(double v) {
        return ReportHtml.pct(v);
    }

    /** The Llama part of the summary, from the results. */
    public static String llamaSummary(DemoResults r) {
        ProSparseDemo.Results l = r.llama();
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "Llama: dense → ProSparse (%s, %s)%n", l.dense().name(),
                l.pretrainCached() ? "dense model from the cache" : "dense model pretrained by this run"));
        s.append(String.format(Locale.ROOT, "%-34s %16s %22s%n", "", "dense", "ProSparse"));
        s.append(String.format(Locale.ROOT, "%-34s %16s %22s%n", "activation", l.dense().activation(),
                l.sparse().activation() + (l.sparse().threshold() > 0 ? String.format(Locale.ROOT, " T=%.3g",
                        l.sparse().threshold()) : "")));
        s.append(String.format(Locale.ROOT, "%-34s %16.4f %22s%n", "bits/byte (" + l.validTokens() + " tokens)",
                l.dense().bitsPerByte(), String.format(Locale.ROOT, "%.4f (%+.2f%%)", l.sparse().bitsPerByte(),
                        100 * (l.sparse().bitsPerByte() / l.dense().bitsPerByte() - 1))));
        s.append(String.format(Locale.ROOT, "%-34s %16s %22s%n", "zero sparsity", SummaryTable.pct(l.dense()
                .sparsity()), SummaryTable.pct(l.sparse().sparsity())));
        var dq = l.dense().profile().qualitySparsity().targets();
        var sq = l.sparse().profile().qualitySparsity().targets();
        for (int i = 0; i < dq.size(); i++) {
            s.append(String.format(Locale.ROOT, "%-34s %16s %22s%n", "PPL-" + SummaryTable.ReportFmt.num(dq.get(i)
                    .p()) + "% sparsity (profile)", SummaryTable.pct(dq.get(i).point().sparsity()),
                    SummaryTable.pct(sq.get(i).point().sparsity())));
        }
        for (String ffn : List.of("dense", "exact-sparse")) {
            BenchRow a = bench(l, "dense", ffn);
            BenchRow b = bench(l, "prosparse", ffn);
            s.append(String.format(Locale.ROOT, "%-34s %16s %22s%n", "decode tok/s, " + ffn + " FFN",
                    a == null ? "-" : String.format(Locale.ROOT, "%.0f", a.decode().median()),
                    b == null ? "-" : String.format(Locale.ROOT, "%.0f", b.decode().median())));
        }
        s.append(String.format(Locale.ROOT, "demo wall time %s (%.0f s CPU, %d thread(s)): ",
                SparsifyReportHtml.clock(r.seconds()), r.cpuSeconds(), r.threads()));
        List<String> parts = new java.util.ArrayList<>();
        r.stageSeconds().forEach((k, v) -> parts.add(k + " " + SparsifyReportHtml.clock(v)));
        s.append(String.join(", ", parts)).append(System.lineSeparator());
        return s.toString();
    }
}
