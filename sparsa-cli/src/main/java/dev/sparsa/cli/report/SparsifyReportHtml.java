package dev.sparsa.cli.report;

import dev.sparsa.experiment.SparsifyResults;
import dev.sparsa.experiment.SparsifyResults.Run;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static dev.sparsa.cli.report.Svg.esc;

/**
 * The report of {@code sparsa experiment sparsify}, from its results alone: the table of methods, the
 * sparsity–quality scatter with the ProSparse λ curve, and each run's training curves (CE, sparsity, λ vs step).
 * Self-contained like the profile's report (inline CSS and SVG, no scripts).
 */
public final class SparsifyReportHtml {
    private SparsifyReportHtml() {
    }

    /** Goal of the trainer issue: prosparse + distill at ≥ 95% sparsity within +1% bits/byte. */
    static final double GOAL_SPARSITY = 0.95;
    static final double GOAL_DELTA = 0.01;

    public static String render(SparsifyResults r) {
        SparsifyResults.Setup s = r.setup();
        StringBuilder h = new StringBuilder();
        h.append("<h1>Sparsification methods on ").append(esc(s.model())).append(s.quick() ? " (quick)" : "")
                .append("</h1>");
        h.append("<p class='sub'>").append(esc(setupLine(r))).append("</p>");
        kpis(h, r);
        h.append("<h2>Methods</h2><p class='expl'>Each run starts from the dense model and trains with the same ")
                .append("batches. <b>Sparsity</b>: zero fraction of act(gate) on the validation windows, at T = 0 ")
                .append("and at the chosen FATReLU threshold T (prosparse: its own step 3; relu, relufy: the same ")
                .append("search after training; dense SiLU, relu2, drelu: none). <b>Δ</b>: bits/byte relative to the ")
                .append("dense starting model.</p>");
        h.append(table(r));
        h.append("<h2>Sparsity vs quality</h2><p class='expl'>Each method at its chosen T (filled) and the ProSparse ")
                .append("λ sweep (the λ schedule scaled by each factor) at T = 0 (dashed) and at the chosen T. ")
                .append("Goal: ≥ ").append(pct(GOAL_SPARSITY)).append(" sparsity within +")
                .append(pct(GOAL_DELTA)).append(" bits/byte.</p>");
        h.append("<div class='grid'><div class='card'>").append(scatter(r)).append("</div></div>");
        h.append(sweepTable(r));
        h.append("<h2>Training curves</h2><p class='expl'>Per optimizer step, on the training batch: ")
                .append("cross-entropy (nats), zero fraction of act(gate) (mean of layers) and λ of the L1 term.</p>");
        List<Run> methods = r.runs().stream().filter(x -> x.group().equals("method")).toList();
        List<Run> sweep = r.runs().stream().filter(x -> x.lambdaScale() != null && x.distill() == 0)
                .sorted(Comparator.comparingDouble(Run::lambdaScale)).toList();
        h.append("<div class='grid'><div class='card'>").append(curveChart(r, "Training CE, methods", methods,
                "ce")).append("</div><div class='card'>").append(curveChart(r, "Training sparsity, methods", methods,
                "sparsity")).append("</div>");
        if (!sweep.isEmpty()) {
            h.append("<div class='card'>").append(curveChart(r, "Training sparsity, λ sweep", sweep, "sparsity"))
                    .append("</div><div class='card'>").append(curveChart(r, "λ schedule, λ sweep", sweep, "lambda"))
                    .append("</div>");
        }
        h.append("</div>");
        h.append(thresholdTables(r));
        ReportHtml.notes(h, r.notes(), r.schema());
        return ReportHtml.page("Sparsa experiment: sparsify " + s.model(), h.toString());
    }

    static String setupLine(SparsifyResults r) {
        SparsifyResults.Setup s = r.setup();
        return String.format(Locale.ROOT, "%s (%s, %s, %d layers, D = %d, F = %d, %,d parameters; %s) · train %s "
                        + "(%,d tokens), batch %d × %d tokens, lr %s constant after %d warm-up steps · validation %s: "
                        + "%,d tokens (%,d bytes) in windows of %d · %d steps per method, ProSparse %d × %d steps · "
                        + "%d thread(s), %s wall", s.model(), s.architecture(), s.activation(), s.numLayers(),
                s.hiddenSize(), s.intermediateSize(), s.parameters(), s.modelSource(), s.trainCorpus(),
                s.trainTokens(), s.batch(), s.seq(), Svg.fmt(s.lr(), false), s.warmup(), s.validCorpus(),
                s.validTokens(), s.validBytes(), s.contextLength(), s.steps(), s.lambdas().length, s.stageSteps(),
                s.threads(), clock(r.seconds()));
    }

    private static void kpis(StringBuilder h, SparsifyResults r) {
        h.append("<div class='kpis'>");
        ReportHtml.kpi(h, String.format(Locale.ROOT, "%.4f", r.dense().bitsPerByte()), "dense bits/byte");
        Run goal = r.run("prosparse+distill");
        if (goal != null) {
            ReportHtml.kpi(h, pct(goal.chosen().sparsity()) + " at " + delta(goal.chosen().delta()),
                    "prosparse+distill: sparsity at T = " + Svg.fmt(goal.chosen().threshold(), false) + ", Δ bits/byte");
            ReportHtml.kpi(h, goalMet(goal) ? "met" : "not met", "goal ≥ " + pct(GOAL_SPARSITY) + " within +"
                    + pct(GOAL_DELTA));
        }
        Run best = bestWithin(r, GOAL_DELTA);
        if (best != null) {
            ReportHtml.kpi(h, pct(best.chosen().sparsity()) + " (" + best.id() + ")", "highest sparsity within +"
                    + pct(GOAL_DELTA) + " bits/byte");
        }
        h.append("</div>");
    }

    static boolean goalMet(Run run) {
        return run.chosen().sparsity() >= GOAL_SPARSITY && run.chosen().delta() <= GOAL_DELTA;
    }

    /** The run with the highest sparsity at its chosen T among those within {@code delta}; null when none. */
    static Run bestWithin(SparsifyResults r, double delta) {
        Run best = null;
        for (Run x : r.runs()) {
            if (x.chosen().delta() <= delta && (best == null || x.chosen().sparsity() > best.chosen().sparsity())) {
                best = x;
            }
        }
        return best;
    }

    private static String table(SparsifyResults r) {
        StringBuilder h = new StringBuilder("<table><tr><th class='l'>run</th><th>steps</th><th class='l'>activation"
                + "</th><th>sparsity<br>T = 0</th><th>bits/byte<br>T = 0</th><th>Δ<br>T = 0</th><th>T</th>"
                + "<th class='l'>T rule</th><th>sparsity<br>at T</th><th>bits/byte<br>at T</th><th>Δ<br>at T</th>"
                + "<th>train s</th><th>wall s</th></tr>");
        SparsifyResults.Eval d = r.dense();
        h.append(String.format(Locale.ROOT, "<tr><td class='l'>dense (start)</td><td>0</td><td class='l'>%s</td>"
                        + "<td>%s</td><td>%.4f</td><td>–</td><td>–</td><td class='l'>–</td><td>–</td><td>–</td>"
                        + "<td>–</td><td>–</td><td>%.0f</td></tr>", esc(r.setup().activation()), pct(d.sparsity()),
                d.bitsPerByte(), d.seconds()));
        for (Run x : r.runs()) {
            boolean shifted = !x.thresholdRule().equals("none");
            h.append(String.format(Locale.ROOT, "<tr><td class='l'>%s</td><td>%d</td><td class='l'>%s</td>"
                            + "<td>%s</td><td>%.4f</td><td>%s</td><td>%s</td><td class='l'>%s</td><td>%s</td>"
                            + "<td>%s</td><td>%s</td><td>%.0f</td><td>%.0f</td></tr>", esc(x.id()), x.steps(),
                    esc(x.activation()), pct(x.atZero().sparsity()), x.atZero().bitsPerByte(),
                    delta(x.atZero().delta()), shifted ? Svg.fmt(x.chosen().threshold(), false) : "–",
                    esc(x.thresholdRule()), shifted ? pct(x.chosen().sparsity()) : "–",
                    shifted ? String.format(Locale.ROOT, "%.4f", x.chosen().bitsPerByte()) : "–",
                    shifted ? delta(x.chosen().delta()) : "–", x.trainSeconds(), x.seconds()));
        }
        return h.append("</table>").toString();
    }

    private static String sweepTable(SparsifyResults r) {
        List<Run> sweep = sweep(r);
        if (sweep.isEmpty()) {
            return "";
        }
        StringBuilder h = new StringBuilder("<table><tr><th>λ scale</th><th class='l'>λ per stage</th>"
                + "<th>sparsity<br>T = 0</th><th>Δ<br>T = 0</th><th>T</th><th>sparsity<br>at T</th><th>bits/byte<br>"
                + "at T</th><th>Δ<br>at T</th></tr>");
        for (Run x : sweep) {
            h.append(String.format(Locale.ROOT, "<tr><td>%s</td><td class='l'>%s</td><td>%s</td><td>%s</td><td>%s"
                            + "</td><td>%s</td><td>%.4f</td><td>%s</td></tr>", Svg.fmt(x.lambdaScale(), false),
                    esc(lambdas(x.lambdas())), pct(x.atZero().sparsity()), delta(x.atZero().delta()),
                    Svg.fmt(x.chosen().threshold(), false), pct(x.chosen().sparsity()), x.chosen().bitsPerByte(),
                    delta(x.chosen().delta())));
        }
        return h.append("</table>").toString();
    }

    /** The ProSparse runs without distillation, by λ scale (the sweep, scale 1 included). */
    static List<Run> sweep(SparsifyResults r) {
        return r.runs().stream().filter(x -> x.method().equals("prosparse") && x.distill() == 0
                && x.lambdaScale() != null).sorted(Comparator.comparingDouble(Run::lambdaScale)).toList();
    }

    static String lambdas(float[] l) {
        List<String> s = new ArrayList<>();
        for (float v : l) {
            s.add(Svg.fmt(v, false));
        }
        return String.join(", ", s);
    }

    private static String scatter(SparsifyResults r) {
        List<Svg.Series> series = new ArrayList<>();
        List<Svg.Label> labels = new ArrayList<>();
        double lo = 0;
        double hi = GOAL_DELTA * 2;
        List<Run> sweep = sweep(r);
        if (sweep.size() > 1) {
            List<Svg.Point> z = new ArrayList<>();
            List<Svg.Point> c = new ArrayList<>();
            for (Run x : sweep) {
                z.add(new Svg.Point(x.atZero().sparsity(), x.atZero().delta()));
                c.add(new Svg.Point(x.chosen().sparsity(), x.chosen().delta()));
                labels.add(new Svg.Label(x.chosen().sparsity(), x.chosen().delta(), "λ×" + Svg.fmt(x.lambdaScale(),
                        false), "#666666"));
            }
            series.add(new Svg.Series("λ sweep, T = 0", "#999999", z, true, true));
            series.add(new Svg.Series("λ sweep, chosen T", "#555555", c));
        }
        series.add(Svg.Series.scatter("dense (start)", "#222222", List.of(new Svg.Point(r.dense().sparsity(), 0))));
        for (Run x : r.runs()) {
            if (x.group().equals("method")) {            // told apart by the legend's colours: labels would collide
                series.add(Svg.Series.scatter(x.id(), color(r, x), List.of(new Svg.Point(x.chosen().sparsity(),
                        x.chosen().delta()))));
            }
        }
        for (Run x : r.runs()) {
            for (SparsifyResults.Eval e : List.of(x.atZero(), x.chosen())) {
                if (Double.isFinite(e.delta())) {
                    lo = Math.min(lo, e.delta());
                    hi = Math.max(hi, e.delta());
                }
            }
        }
        double pad = (hi - lo) * 0.08;
        return Svg.lineChart("Sparsity vs Δ bits/byte", Svg.Axis.pct("zero sparsity (validation)", 0, 1),
                Svg.Axis.pct("Δ bits/byte vs dense", lo - pad, hi + pad), series,
                List.of(new Svg.Rule(false, GOAL_DELTA, "+" + pct(GOAL_DELTA), "#c0392b"),
                        new Svg.Rule(true, GOAL_SPARSITY, pct(GOAL_SPARSITY), "#c0392b")), labels);
    }

    /** One colour per run, the same in every chart. */
    private static String color(SparsifyResults r, Run x) {
        return Svg.color(r.runs().indexOf(x));
    }

    private static String curveChart(SparsifyResults r, String title, List<Run> runs, String what) {
        List<Svg.Series> series = new ArrayList<>();
        double lo = Double.MAX_VALUE;
        double hi = -Double.MAX_VALUE;
        int maxStep = 1;
        for (Run x : runs) {
            SparsifyResults.Curve c = x.curve();
            double[] v = switch (what) {
                case "ce" -> c.ce();
                case "sparsity" -> c.sparsity();
                default -> c.lambda();
            };
            List<Svg.Point> pts = new ArrayList<>();
            for (int k = 0; k < c.step().length; k++) {
                pts.add(new Svg.Point(c.step()[k], v[k]));
                if (Double.isFinite(v[k])) {
                    lo = Math.min(lo, v[k]);
                    hi = Math.max(hi, v[k]);
                }
                maxStep = Math.max(maxStep, c.step()[k]);
            }
            series.add(new Svg.Series(x.id(), color(r, x), pts, false, false));
        }
        if (lo > hi) {
            lo = 0;
            hi = 1;
        }
        Svg.Axis y = switch (what) {
            case "ce" -> Svg.Axis.linear("cross-entropy (nats)", lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05);
            case "sparsity" -> Svg.Axis.pct("zero sparsity (training batch)", 0, 1);
            default -> Svg.Axis.linear("λ", 0, Math.max(hi, 1e-9) * 1.05);
        };
        return Svg.lineChart(title, Svg.Axis.integers("step", 0, maxStep), y, series, List.of());
    }

    private static String thresholdTables(SparsifyResults r) {
        StringBuilder h = new StringBuilder();
        boolean any = false;
        for (Run x : r.runs()) {
            Object g = x.methodSummary() == null ? null : x.methodSummary().get("thresholdGrid");
            if (!(g instanceof List<?> grid) || grid.isEmpty()) {
                continue;
            }
            if (!any) {
                h.append("<h2>Threshold search</h2><p class='expl'>The FATReLU thresholds tried (percentiles of the ")
                        .append("trained model's positive activations on validation tokens, in increasing order until ")
                        .append("the bits/byte rise exceeds the tolerance ").append(pct(r.setup().tolerance()))
                        .append(").</p><div class='grid'>");
                any = true;
            }
            h.append("<div class='card'>").append(gridTable(x.id(), grid)).append("</div>");
        }
        if (any) {
            h.append("</div>");
        }
        return h.toString();
    }

    /** A threshold search's grid (method summary {@code thresholdGrid}): T, percentile, bits/byte, rise. */
    static String gridTable(String title, List<?> grid) {
        StringBuilder h = new StringBuilder("<table>");
        if (title != null) {
            h.append("<tr><th class='l' colspan='4'>").append(esc(title)).append("</th></tr>");
        }
        h.append("<tr><th>T</th><th>percentile</th><th>bits/byte</th><th>rise</th></tr>");
        for (Object o : grid) {
            if (o instanceof Map<?, ?> m) {
                Object q = m.get("quantile");
                h.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%s</td><td>%.4f</td><td>%s</td></tr>",
                        Svg.fmt(num(m.get("threshold")), false), q == null ? "–" : pct(num(q)),
                        num(m.get("bitsPerByte")), delta(num(m.get("rise")))));
            }
        }
        return h.append("</table>").toString();
    }

    private static double num(Object o) {
        return o instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    static String pct(double v) {
        return ReportHtml.pct(v);
    }

    static String delta(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%+.2f%%", v * 100) : "–";
    }

    static String clock(double s) {
        long t = Math.round(s);
        return t >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60)
                : String.format(Locale.ROOT, "%d:%02d", t / 60, t % 60);
    }
}
