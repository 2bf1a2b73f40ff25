package dev.sparsa.cli.report;

import dev.sparsa.experiment.cl.ClMetrics;
import dev.sparsa.experiment.cl.ClResults;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static dev.sparsa.cli.report.NeuronReport.Page;
import static dev.sparsa.cli.report.NeuronReport.Section;
import static dev.sparsa.cli.report.NeuronReport.Table;
import static dev.sparsa.cli.report.NeuronReport.f4;
import static dev.sparsa.cli.report.Svg.esc;

/**
 * The page model of {@code sparsa experiment clnp|sparcl} ({@link ClResults}) for {@link NeuronReport}: the summary
 * (average final bits/byte, forgetting, BWT, FWT, counted multiply-adds against replay), each run's accuracy matrix as
 * a heat map (one colour scale for all) and a table, the training curves, and the method's per-task diagnostics.
 */
final class ClReport {
    private ClReport() {
    }

    /** The label of a run's evaluation without the task's identity. */
    static final String AGNOSTIC = "task-agnostic";

    static Page page(ClResults r) {
        ClResults.Setup s = r.setup();
        String setup = String.format(Locale.ROOT, "%s shape (%s, %d layers, hidden %d, FFN %d, %,d parameters), "
                        + "fresh N(0, %s²) weights%s; tasks %s; %d epochs of ≤ %d windows, batch %d × %d (replay +%d "
                        + "rows, buffer %d windows per task), lr %s; %s wall", s.model(), s.activation(),
                s.numLayers(), s.hiddenSize(), s.intermediateSize(), s.parameters(), Svg.fmt(s.initStd(), false),
                s.quick() ? " (--quick)" : "", tasks(s), s.epochs(), max(s.trainWindows()), s.batch(), s.seq(),
                s.replayRows(), s.bufferPerTask(), Svg.fmt(s.lr(), false), NeuronReport.clock(r.seconds()));
        List<Section> sec = new ArrayList<>();
        long replay = r.runs().stream().filter(x -> x.id().equals("replay")).mapToLong(ClResults.Run::flops)
                .findFirst().orElse(0);
        List<List<String>> rows = new ArrayList<>();
        for (ClResults.Run x : r.runs()) {
            rows.add(List.of(x.id(), f4(x.metrics().averageFinal()), opt(x.metrics().averageForgetting()),
                    opt(x.metrics().bwt()), opt(x.metrics().fwt()), String.format(Locale.ROOT, "%.4g",
                            (double) x.flops()), replay > 0 ? String.format(Locale.ROOT, "%.3f", (double) x.flops()
                            / replay) : "–", Integer.toString(x.steps())));
            if (x.agnosticMetrics() != null) {                               // the same run without the task's id
                ClMetrics a = x.agnosticMetrics();
                rows.add(List.of(x.id() + " " + AGNOSTIC, f4(a.averageFinal()), opt(a.averageForgetting()),
                        opt(a.bwt()), opt(a.fwt()), "″", "″", "″"));
            }
        }
        sec.add(new Section("Summary", "Average final bits/byte over the tasks (lower is better); forgetting: mean "
                + "over earlier tasks of final − best bits/byte (≥ 0 forgot); BWT: mean R[j][j] − R[T−1][j] (< 0 "
                + "forgetting); FWT: mean b_j − R[j−1][j]; training multiply-adds counted (non-zero weights × "
                + "tokens), and their ratio to replay's. A method with a network per task (CLNP) is evaluated twice: "
                + "task-aware (task j with its own network, as the task is known) and " + AGNOSTIC + " (every task "
                + "with all the neurons any task uses: the same run, so the same multiply-adds).", List.of(),
                List.of(new Table(List.of("run", "avg final bits/byte", "avg forgetting", "BWT", "FWT",
                        "multiply-adds", "× replay", "steps"), rows))));
        double lo = Double.MAX_VALUE;
        double hi = -Double.MAX_VALUE;
        for (ClResults.Run x : r.runs()) {
            double[][][] both = x.agnosticBitsPerByte() == null ? new double[][][]{x.bitsPerByte()}
                    : new double[][][]{x.bitsPerByte(), x.agnosticBitsPerByte()};
            for (double[][] m : both) {
                for (double[] row : m) {
                    for (double v : row) {
                        lo = Math.min(lo, v);
                        hi = Math.max(hi, v);
                    }
                }
            }
        }
        List<String> heat = new ArrayList<>();
        List<List<String>> mrows = new ArrayList<>();
        for (ClResults.Run x : r.runs()) {
            boolean two = x.agnosticBitsPerByte() != null;
            heat.add(heatMap(x.id() + (two ? " task-aware" : "") + ": bits/byte R[stage][task]", x.stages(),
                    s.tasks(), x.bitsPerByte(), lo, hi));
            if (two) {
                heat.add(heatMap(x.id() + " " + AGNOSTIC + ": bits/byte R[stage][task]", x.stages(), s.tasks(),
                        x.agnosticBitsPerByte(), lo, hi));
            }
            for (int i = 0; i < x.stages().size(); i++) {
                List<String> row = new ArrayList<>(List.of(x.id() + " after " + x.stages().get(i)));
                for (double v : x.bitsPerByte()[i]) {
                    row.add(f4(v));
                }
                mrows.add(row);
            }
            for (int i = 0; two && i < x.stages().size(); i++) {
                List<String> row = new ArrayList<>(List.of(x.id() + " " + AGNOSTIC + " after " + x.stages().get(i)));
                for (double v : x.agnosticBitsPerByte()[i]) {
                    row.add(f4(v));
                }
                mrows.add(row);
            }
        }
        List<String> mh = new ArrayList<>(List.of("run, stage"));
        for (int j = 0; j < s.tasks().size(); j++) {
            mh.add(s.tasks().get(j) + " (" + s.taskGenres().get(j) + ")");
        }
        List<String> start = new ArrayList<>(List.of("fresh weights (b)"));
        for (double v : r.startBitsPerByte()) {
            start.add(f4(v));
        }
        mrows.add(0, start);
        sec.add(new Section("Accuracy matrices", "Each task's validation bits/byte after each training stage (rows: "
                + "the stage just finished; columns: the task evaluated; one colour scale, darker is lower/better). "
                + "CLNP twice: task-aware (task j with the neurons of tasks ≤ j) and " + AGNOSTIC + " (every task with "
                + "all the claimed neurons); the two agree on the first row and for j ≥ the stage.",
                heat, List.of(new Table(mh, mrows))));
        List<Svg.Series> ce = new ArrayList<>();
        int maxSteps = 1;
        for (int i = 0; i < r.runs().size(); i++) {
            ClResults.Run x = r.runs().get(i);
            List<Svg.Point> pts = new ArrayList<>();
            int every = Math.max(1, x.ce().length / 300);
            for (int k = 0; k < x.ce().length; k += every) {
                pts.add(new Svg.Point(k + 1, x.ce()[k]));
            }
            ce.add(new Svg.Series(x.id(), Svg.color(i), pts, x.id().equals("joint"), false));
            maxSteps = Math.max(maxSteps, x.steps());
        }
        List<Svg.Rule> rules = new ArrayList<>();
        ClResults.Run first = r.runs().getFirst();
        for (int k = 0; k + 1 < first.stageEndStep().length; k++) {
            rules.add(new Svg.Rule(true, first.stageEndStep()[k], first.stages().get(k + 1), "#888"));
        }
        double[] allCe = r.runs().stream().flatMapToDouble(x -> java.util.Arrays.stream(x.ce())).toArray();
        List<String> curves = new ArrayList<>();
        curves.add(Svg.lineChart("training CE", Svg.Axis.integers("step", 0, maxSteps),
                NeuronReport.range("CE (nats)", allCe), ce, rules));
        for (int i = 0; i < r.runs().size(); i++) {
            ClResults.Run x = r.runs().get(i);
            if (x.stages().size() < 2) {
                continue;
            }
            List<Svg.Series> per = new ArrayList<>();
            List<Double> vals = new ArrayList<>();
            for (int j = 0; j < s.tasks().size(); j++) {
                List<Svg.Point> pts = new ArrayList<>();
                for (int st = 0; st < x.stages().size(); st++) {
                    pts.add(new Svg.Point(st + 1, x.bitsPerByte()[st][j]));
                    vals.add(x.bitsPerByte()[st][j]);
                }
                per.add(new Svg.Series(s.tasks().get(j), Svg.color(j), pts));
            }
            curves.add(Svg.lineChart(x.id() + ": each task over the stages", Svg.Axis.integers("after stage", 1,
                    x.stages().size()), NeuronReport.range("bits/byte", vals.stream().mapToDouble(v -> v).toArray()),
                    per, List.of()));
        }
        sec.add(new Section("Curves", "Training-batch CE over the steps (vertical lines: the next task starts; "
                + "joint dashed) and each task's bits/byte after each stage.", curves, List.of()));
        for (ClResults.Run x : r.runs()) {
            if (x.perTask() == null || x.perTask().isEmpty()) {
                continue;
            }
            List<String> h = new ArrayList<>(List.of("per task"));
            h.addAll(s.tasks());
            List<List<String>> pr = new ArrayList<>();
            for (Map.Entry<String, double[]> e : x.perTask().entrySet()) {
                List<String> row = new ArrayList<>(List.of(e.getKey()));
                for (double v : e.getValue()) {
                    row.add(v == Math.rint(v) && Math.abs(v) < 1e9 ? Long.toString((long) v) : f4(v));
                }
                pr.add(row);
            }
            sec.add(new Section(x.id() + " per task", diagnostics(x.id()), List.of(), List.of(new Table(h, pr))));
        }
        return new Page(title(r), setup, sec, r.notes());
    }

    private static String diagnostics(String id) {
        return id.equals("clnp") ? "freeNeurons: FFN neurons (all layers) free after the task; claimedNeurons: "
                + "those it froze; reusedShare: share of earlier tasks' neurons active on its validation text above "
                + "its pruning threshold; prunedShare: share of the free neurons it pruned; bits/byte before and "
                + "after pruning (graceful forgetting)."
                : "weightDensity and gradientDensity of the masked matrices at the task's end; maskUpdates in the "
                + "task; swappedShare: mask entries changed in the task (dropped + grown) over all masked entries.";
    }

    private static String title(ClResults r) {
        return (r.experiment().equals("clnp") ? "CLNP" : "SparCL") + " on a genre sequence: " + r.setup().model()
                + (r.setup().quick() ? " (quick)" : "");
    }

    private static String tasks(ClResults.Setup s) {
        List<String> t = new ArrayList<>();
        for (int j = 0; j < s.tasks().size(); j++) {
            t.add(s.tasks().get(j) + " (" + s.taskGenres().get(j) + ")");
        }
        return String.join(" → ", t);
    }

    private static int max(int[] v) {
        int m = 0;
        for (int x : v) {
            m = Math.max(m, x);
        }
        return m;
    }

    private static String opt(Double v) {
        return v == null ? "–" : String.format(Locale.ROOT, "%+.4f", v);
    }

    /** A heat map: a cell per (stage, task), darker for lower values on the scale [lo, hi], the value written in. */
    static String heatMap(String title, List<String> rows, List<String> cols, double[][] v, double lo, double hi) {
        int cw = 92;
        int ch = 30;
        int left = 120;
        int top = 56;
        int w = left + cw * cols.size() + 20;
        int h = top + ch * rows.size() + 16;
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "<svg viewBox='0 0 %d %d' width='%d' "
                + "height='%d' role='img' aria-label='%s'>", w, h, w, h, esc(title)));
        s.append("<rect width='100%' height='100%' fill='white'/>");
        s.append(String.format(Locale.ROOT, "<text x='10' y='20' class='t'>%s</text>", esc(title)));
        for (int j = 0; j < cols.size(); j++) {
            s.append(String.format(Locale.ROOT, "<text x='%d' y='%d' font-size='11' text-anchor='middle'>%s</text>",
                    left + j * cw + cw / 2, top - 8, esc(cols.get(j))));
        }
        for (int i = 0; i < rows.size(); i++) {
            s.append(String.format(Locale.ROOT, "<text x='%d' y='%d' font-size='11' text-anchor='end'>after %s"
                    + "</text>", left - 6, top + i * ch + ch / 2 + 4, esc(rows.get(i))));
            for (int j = 0; j < cols.size(); j++) {
                double t = hi > lo ? (v[i][j] - lo) / (hi - lo) : 0.5;
                t = Math.max(0, Math.min(1, t));
                int rr = (int) Math.round(8 + (247 - 8) * t);                 // #08306b (low) .. #f7fbff (high)
                int gg = (int) Math.round(48 + (251 - 48) * t);
                int bb = (int) Math.round(107 + (255 - 107) * t);
                s.append(String.format(Locale.ROOT, "<rect x='%d' y='%d' width='%d' height='%d' fill='#%02x%02x%02x'"
                        + " stroke='white'/>", left + j * cw, top + i * ch, cw, ch, rr, gg, bb));
                s.append(String.format(Locale.ROOT, "<text x='%d' y='%d' font-size='11' text-anchor='middle' "
                                + "fill='%s'>%s</text>", left + j * cw + cw / 2, top + i * ch + ch / 2 + 4,
                        t < 0.5 ? "white" : "black", f4(v[i][j])));
            }
        }
        return s.append("</svg>").toString();
    }
}
