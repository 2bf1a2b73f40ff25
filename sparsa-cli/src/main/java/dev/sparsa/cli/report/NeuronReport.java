package dev.sparsa.cli.report;

import dev.sparsa.experiment.AttributionResults;
import dev.sparsa.experiment.LteResults;
import dev.sparsa.experiment.PruneResults;
import dev.sparsa.experiment.RedoResults;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import static dev.sparsa.cli.report.Svg.esc;

/**
 * The report and the EXPERIMENTS.md section of the neuron-level experiments ({@code redo}, {@code ap}, {@code sap},
 * {@code attribution}), from their results alone: each experiment becomes a list of sections (a heading, a line
 * of explanation, charts, tables); the HTML page draws all of it (inline SVG, no scripts), the Markdown keeps the
 * headings and the tables.
 */
public final class NeuronReport {
    private NeuronReport() {
    }

    record Table(List<String> header, List<List<String>> rows) {
    }

    record Section(String heading, String explanation, List<String> charts, List<Table> tables) {
    }

    record Page(String title, String setup, List<Section> sections, List<String> notes) {
    }

    public static String html(Object results) {
        Page p = page(results);
        StringBuilder h = new StringBuilder("<h1>").append(esc(p.title())).append("</h1>");
        h.append("<p class='sub'>").append(esc(p.setup())).append("</p>");
        for (Section s : p.sections()) {
            h.append("<h2>").append(esc(s.heading())).append("</h2><p class='expl'>").append(esc(s.explanation()))
                    .append("</p>");
            if (!s.charts().isEmpty()) {
                h.append("<div class='grid'>");
                for (String c : s.charts()) {
                    h.append("<div class='card'>").append(c).append("</div>");
                }
                h.append("</div>");
            }
            for (Table t : s.tables()) {
                h.append("<table><tr>");
                for (String c : t.header()) {
                    h.append("<th>").append(esc(c)).append("</th>");
                }
                h.append("</tr>");
                for (List<String> row : t.rows()) {
                    h.append("<tr>");
                    for (int k = 0; k < row.size(); k++) {
                        h.append(k == 0 ? "<td class='l'>" : "<td>").append(esc(row.get(k))).append("</td>");
                    }
                    h.append("</tr>");
                }
                h.append("</table>");
            }
        }
        h.append("<h2>Notes</h2><ul>");
        for (String n : p.notes()) {
            h.append("<li>").append(esc(n)).append("</li>");
        }
        h.append("</ul>");
        return ReportHtml.page(p.title(), h.toString());
    }

    /** @param command the command line as typed */
    public static String markdown(Object results, String command) {
        Page p = page(results);
        StringBuilder m = new StringBuilder("### ").append(p.title()).append("\n\n```\n").append(command)
                .append("\n```\n\n").append(p.setup()).append(".\n");
        for (Section s : p.sections()) {
            if (s.tables().isEmpty()) {
                continue;
            }
            m.append("\n").append(s.heading()).append(": ").append(s.explanation()).append("\n");
            for (Table t : s.tables()) {
                m.append("\n| ").append(String.join(" | ", t.header())).append(" |\n|");
                for (int k = 0; k < t.header().size(); k++) {
                    m.append(k == 0 ? "---|" : "---:|");
                }
                m.append("\n");
                for (List<String> row : t.rows()) {
                    m.append("| ").append(String.join(" | ", row)).append(" |\n");
                }
            }
        }
        return m.toString();
    }

    static Page page(Object r) {
        return switch (r) {
            case RedoResults x -> redo(x);
            case PruneResults x -> x.schema().equals(PruneResults.AP) ? ap(x) : sap(x);
            case AttributionResults x -> attribution(x);
            case LteResults x -> lte(x);
            case dev.sparsa.experiment.cl.ClResults x -> ClReport.page(x);
            default -> throw new IllegalArgumentException(r.getClass().getName());
        };
    }

    // ---------------------------------------------------------------- redo

    static Page redo(RedoResults r) {
        RedoResults.Setup s = r.setup();
        String setup = String.format(Locale.ROOT, "%s shape (%s, %d layers, hidden %d, FFN %d, %,d parameters), "
                        + "fresh N(0, %s²) weights%s; genres %s, %d steps (batch %d × %d), lr %s, ReDo every %d steps "
                        + "at τ = %s; %s wall", s.model(), s.activation(), s.numLayers(), s.hiddenSize(),
                s.intermediateSize(), s.parameters(), Svg.fmt(s.initStd(), false), s.quick() ? " (--quick)" : "",
                String.join(" → ", s.genres()), s.steps(), s.batch(), s.seq(), Svg.fmt(s.lr(), false), s.redoEvery(),
                Svg.fmt(s.redoTau(), false), clock(r.seconds()));
        List<Section> sec = new ArrayList<>();
        List<String> charts = new ArrayList<>();
        for (int k = 0; k < s.taus().length; k++) {
            List<Svg.Series> series = new ArrayList<>();
            for (int i = 0; i < r.runs().size(); i++) {
                RedoResults.Run x = r.runs().get(i);
                series.add(new Svg.Series(x.id(), Svg.color(i), points(x.step(), x.dormant()[k]), false, false));
            }
            List<Svg.Rule> rules = new ArrayList<>();
            for (int g = 0; g + 1 < s.phaseEndStep().length; g++) {
                rules.add(new Svg.Rule(true, s.phaseEndStep()[g], s.genres().get(g + 1), "#888"));
            }
            double hi = 0;
            for (RedoResults.Run x : r.runs()) {
                hi = Math.max(hi, Arrays.stream(x.dormant()[k]).max().orElse(0));
            }
            charts.add(Svg.lineChart("τ = " + Svg.fmt(s.taus()[k], false) + " dormant neurons",
                    Svg.Axis.integers("step", 0, s.steps()), Svg.Axis.pct("dormant share", 0, Math.max(0.05,
                            Math.min(1, hi * 1.1))), series, rules));
        }
        sec.add(new Section("Dormant ratio over training", "Share of FFN neurons with s_i ≤ τ on each step's batch "
                + "(mean of layers), before that step's recycling; vertical lines: the next genre starts.", charts,
                List.of(dormantTable(r))));
        List<String> header = new ArrayList<>(List.of("run"));
        for (int g = 0; g < s.genres().size(); g++) {
            header.add(s.genres().get(g) + " (" + s.genreTitles().get(g) + ")");
        }
        header.add("mean");
        List<List<String>> rows = new ArrayList<>();
        for (RedoResults.Run x : r.runs()) {
            List<String> row = new ArrayList<>(List.of(x.id()));
            for (double v : x.finalBitsPerByte()) {
                row.add(f4(v));
            }
            row.add(f4(x.meanFinalBitsPerByte()));
            rows.add(row);
        }
        List<List<String>> phases = new ArrayList<>();
        for (RedoResults.Run x : r.runs()) {
            for (int k = 0; k < x.phaseBitsPerByte().length; k++) {
                List<String> row = new ArrayList<>(List.of(x.id() + " after " + s.genres().get(k)));
                for (double v : x.phaseBitsPerByte()[k]) {
                    row.add(f4(v));
                }
                row.add(f4(Arrays.stream(x.phaseBitsPerByte()[k]).average().orElse(Double.NaN)));
                phases.add(row);
            }
        }
        List<Svg.Series> ce = new ArrayList<>();
        for (int i = 0; i < r.runs().size(); i++) {
            RedoResults.Run x = r.runs().get(i);
            ce.add(new Svg.Series(x.id(), Svg.color(i), points(x.step(), x.ce()), false, false));
        }
        sec.add(new Section("Bits/byte per genre", "Each genre's validation documents at the end (first table) and "
                + "after each phase (second): what is learnt of the later genres and kept of the earlier ones.",
                List.of(Svg.lineChart("Training CE", Svg.Axis.integers("step", 0, s.steps()), range("cross-entropy "
                        + "(nats)", r.runs().stream().flatMapToDouble(x -> Arrays.stream(x.ce())).toArray()), ce,
                        List.of())), List.of(new Table(header, rows), new Table(header, phases))));
        return new Page("ReDo on a genre stream: " + s.model() + (s.quick() ? " (quick)" : ""), setup, sec, r.notes());
    }

    private static Table dormantTable(RedoResults r) {
        List<String> h = new ArrayList<>(List.of("run", "recycling steps", "neurons recycled"));
        for (double t : r.setup().taus()) {
            h.add("dormant τ=" + Svg.fmt(t, false) + ", last step");
            h.add("mean over steps");
        }
        List<List<String>> rows = new ArrayList<>();
        for (RedoResults.Run x : r.runs()) {
            List<String> row = new ArrayList<>(List.of(x.id(), Integer.toString(x.recycledStep().length),
                    Integer.toString(Arrays.stream(x.recycledCount()).sum())));
            for (double[] d : x.dormant()) {
                row.add(pct(d[d.length - 1]));
                row.add(pct(Arrays.stream(d).average().orElse(Double.NaN)));
            }
            rows.add(row);
        }
        return new Table(h, rows);
    }

    // ---------------------------------------------------------------- lte

    static Page lte(LteResults r) {
        LteResults.Setup s = r.setup();
        String setup = String.format(Locale.ROOT, "%s (%s, %d layers, hidden %d, FFN %d = %d experts of %d)%s; LTE "
                        + "%d + %d steps (stage 1 soft scores + efficiency loss, stage 2 hard selection, routers fixed) "
                        + "per η in %s, router lr %s, separability %s; ProSparse %d steps per λ in %s; batch %d × %d, "
                        + "lr %s; %,d validation tokens; dense start %s bits/byte; %s wall", s.model(), s.activation(),
                s.numLayers(), s.hiddenSize(), s.intermediateSize(), s.experts(), s.expertSize(),
                s.quick() ? " (--quick)" : "", s.stage1Steps(), s.stage2Steps(), Arrays.toString(s.etas()),
                Svg.fmt(s.routerLr(), false), Svg.fmt(s.separability(), false), s.prosparseSteps(),
                Arrays.toString(s.lambdas()), s.batch(), s.seq(), Svg.fmt(s.lr(), false), s.validTokens(),
                f4(r.denseBitsPerByte()), clock(r.seconds()));
        List<Section> sec = new ArrayList<>();
        List<Svg.Series> curve = new ArrayList<>();
        int ci = 0;
        for (LteResults.Run run : r.runs()) {
            List<Svg.Point> pts = new ArrayList<>();
            r.points().stream().filter(p -> p.run().equals(run.id()))
                    .sorted(java.util.Comparator.comparingDouble(LteResults.Point::flopsShare))
                    .forEach(p -> pts.add(new Svg.Point(p.flopsShare(), p.bitsPerByte())));
            curve.add(new Svg.Series(run.id(), Svg.color(ci++), pts, run.method().equals("prosparse"), true));
        }
        double[] bpb = r.points().stream().mapToDouble(LteResults.Point::bitsPerByte).toArray();
        List<Svg.Rule> rules = List.of(new Svg.Rule(false, r.denseBitsPerByte(), "dense start", "#888"));
        String chart = Svg.lineChart("Bits/byte against FFN FLOPs", Svg.Axis.pct("FFN multiply-adds per token "
                + "(share of dense)", 0, 1.05), range("bits/byte (brown-valid)", append(bpb, r.denseBitsPerByte())),
                curve, rules);
        List<List<String>> rows = new ArrayList<>();
        for (LteResults.Point p : r.points()) {
            rows.add(List.of(p.run(), (p.method().equals("lte") ? "τ = " : "T = ") + Svg.fmt(p.threshold(), false),
                    f4(p.bitsPerByte()), delta(p.bitsPerByte() / r.denseBitsPerByte() - 1), pct(p.flopsShare()),
                    pct(p.computedShare()), String.format(Locale.ROOT, "%,.0f", p.flopsPerToken())));
        }
        sec.add(new Section("FLOPs against bits/byte", "Each trained model at each threshold (LTE: the router's τ; "
                + "ProSparse: the FATReLU T, dashed); FFN multiply-adds per token counted on the validation windows "
                + "(LTE: router + 3·S·D per selected expert; ProSparse under the exact-sparse kernel: dense gate + 2·D "
                + "per neuron with act ≠ 0).", List.of(chart), List.of(new Table(List.of("run", "threshold",
                "bits/byte", "Δ vs dense", "FFN FLOPs", "neurons computed", "FFN MACs / token"), rows))));
        List<List<String>> cmp = new ArrayList<>();
        for (LteResults.Comparison c : r.comparisons()) {
            cmp.add(List.of(c.run(), "τ = " + Svg.fmt(c.threshold(), false), f4(c.lteBitsPerByte()), pct(c.flopsShare()),
                    orRange(c.prosparseAtFlops()), signed(c.deltaAtFlops()), pct(c.computedShare()),
                    orRange(c.prosparseAtComputed()), signed(c.deltaAtComputed())));
        }
        sec.add(new Section("LTE against ProSparse at equal computed share", "ProSparse's Pareto points (all λ and T) "
                + "interpolated linearly at each LTE point's share: of the FFN FLOPs (ProSparse's exact-sparse kernel "
                + "computes the gate densely, so it cannot go below a third) and of the neurons computed (as if a "
                + "predictor skipped its gate too); negative Δ: LTE better.", List.of(), List.of(new Table(List.of(
                "LTE run", "threshold", "LTE bits/byte", "FFN FLOPs", "ProSparse at equal FLOPs", "Δ",
                "neurons computed", "ProSparse at equal neurons", "Δ"), cmp))));
        List<Svg.Series> ce = new ArrayList<>();
        List<Svg.Series> share = new ArrayList<>();
        int steps = 1;
        for (int i = 0; i < r.runs().size(); i++) {
            LteResults.Run x = r.runs().get(i);
            ce.add(new Svg.Series(x.id(), Svg.color(i), points(x.step(), x.ce()), false, false));
            if (x.method().equals("lte")) {
                share.add(new Svg.Series(x.id(), Svg.color(i), points(x.step(), x.selectedShare()), false, false));
            }
            steps = Math.max(steps, x.step().length == 0 ? 1 : x.step()[x.step().length - 1]);
        }
        List<Svg.Rule> stage = List.of(new Svg.Rule(true, s.stage1Steps() + 0.5, "stage 2", "#888"));
        sec.add(new Section("Training", "Training CE per step, and the share of (token, layer, expert) with G > τ "
                + "on each step's batch (stage 1 scales by the soft scores, stage 2 drops the others).",
                List.of(Svg.lineChart("Training CE", Svg.Axis.integers("step", 0, steps), range("cross-entropy (nats)",
                        r.runs().stream().flatMapToDouble(x -> Arrays.stream(x.ce())).toArray()), ce, stage),
                        Svg.lineChart("Experts selected (G > τ)", Svg.Axis.integers("step", 0, steps),
                                Svg.Axis.pct("share", 0, 1), share, stage)), List.of()));
        List<String> notes = List.of(
                "Experts: balanced k-means on each layer's gate rows (" + s.expertSize() + " neurons each), the neurons "
                        + "then permuted so that an expert is contiguous (the model's function is unchanged).",
                "Routers: G_e = σ(x·W_r,e) on the FFN input; efficiency loss η·mean G² (stage 1); stage 2 keeps expert "
                        + "e iff G_e > τ (0.5 in training; the table also evaluates other τ on the same model).",
                "Saved with its routers (lte_routers.safetensors): " + s.savedModel() + "; run it with --sparse lte.");
        return new Page("LTE against ProSparse: " + s.model() + (s.quick() ? " (quick)" : ""), setup, sec, notes);
    }

    private static String orRange(double v) {
        return Double.isNaN(v) ? "outside its range" : f4(v);
    }

    private static String signed(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%+.4f", v);
    }

    // ---------------------------------------------------------------- ap

    static String pruneSetup(PruneResults r) {
        PruneResults.Setup s = r.setup();
        return String.format(Locale.ROOT, "%s (%s, %d layers, hidden %d, FFN %d, %,d FFN weights)%s; %s; %d rounds × "
                        + "%d steps, batch %d × %d, lr %s; %,d validation tokens; start bits/byte %.4f; %s wall",
                s.model(), s.activation(), s.numLayers(), s.hiddenSize(), s.intermediateSize(), s.ffnWeights(),
                s.quick() ? " (--quick)" : "", s.method(), s.rounds(), s.roundSteps(), s.batch(), s.seq(),
                Svg.fmt(s.lr(), false), s.validTokens(), r.dense().bitsPerByte(), clock(r.seconds()));
    }

    static Page ap(PruneResults r) {
        List<Section> sec = new ArrayList<>();
        List<String> charts = new ArrayList<>();
        List<Double> targets = r.runs().stream().map(PruneResults.Run::target).distinct().toList();
        List<String> pruners = r.runs().stream().map(PruneResults.Run::pruner).distinct().toList();
        for (double t : targets) {
            List<Svg.Series> series = new ArrayList<>();
            int maxStep = 1;
            for (PruneResults.Run x : r.runs()) {
                if (x.target() != t) {
                    continue;
                }
                series.add(new Svg.Series(x.id(), Svg.color(pruners.indexOf(x.pruner())), points(x.step(),
                        x.deadRate()), x.ap() > 0, false));
                maxStep = Math.max(maxStep, x.steps());
            }
            List<Svg.Rule> rules = new ArrayList<>();
            for (int k = 1; k <= r.setup().rounds(); k++) {
                rules.add(new Svg.Rule(true, k * r.setup().roundSteps(), "prune " + k, "#888"));
            }
            charts.add(Svg.lineChart("Dead-neuron rate, target " + pct(t), Svg.Axis.integers("step", 0, maxStep),
                    Svg.Axis.pct("zero share of act(gate)", 0, 1), series, rules));
        }
        sec.add(new Section("Dynamic dead-neuron rate", "Share of act(gate) entries that are exactly 0 on each step's "
                + "training batch (mean of layers); dashed: with AP.", charts, List.of()));
        List<Svg.Series> q = new ArrayList<>();
        for (int pi = 0; pi < pruners.size(); pi++) {
            for (boolean ap : new boolean[]{false, true}) {
                List<Svg.Point> pts = new ArrayList<>();
                for (PruneResults.Run x : r.runs()) {
                    if (x.pruner().equals(pruners.get(pi)) && (x.ap() > 0) == ap) {
                        pts.add(new Svg.Point(x.weightSparsity(), x.final_().bitsPerByte()));
                    }
                }
                q.add(new Svg.Series(pruners.get(pi) + (ap ? " + AP" : ""), Svg.color(pi), pts, ap, true));
            }
        }
        double[] all = r.runs().stream().mapToDouble(x -> x.final_().bitsPerByte()).toArray();
        List<List<String>> rows = new ArrayList<>();
        for (PruneResults.Run x : r.runs()) {
            rows.add(List.of(x.id(), pct(x.target()), x.pruner(), x.ap() > 0 ? pct(x.ap()) : "–",
                    pct(x.weightSparsity()), Long.toString(Arrays.stream(x.prunedByAp()).sum()),
                    pct(x.deadRate()[x.deadRate().length - 1]), pct(x.final_().zeroSparsity()),
                    f4(x.final_().bitsPerByte()), delta(x.final_().delta()), String.format(Locale.ROOT, "%.0f",
                            x.seconds())));
        }
        sec.add(new Section("Quality at each pruned share", "Validation bits/byte at the end of each run against the "
                + "share of FFN weights pruned; dead-neuron rate on the validation windows.",
                List.of(Svg.lineChart("Bits/byte vs FFN weights pruned", Svg.Axis.pct("FFN weights pruned", 0, 1),
                        range("bits/byte", append(all, r.dense().bitsPerByte())), q,
                        List.of(new Svg.Rule(false, r.dense().bitsPerByte(), "start", "#888")))),
                List.of(new Table(List.of("run", "target", "criterion", "AP share", "pruned", "pruned by AP",
                        "dead rate (last batch)", "dead rate (validation)", "bits/byte", "Δ", "wall s"), rows))));
        return new Page("AP with iterative pruning: " + r.setup().model() + (r.setup().quick() ? " (quick)" : ""),
                pruneSetup(r), sec, r.notes());
    }

    // ---------------------------------------------------------------- sap

    static Page sap(PruneResults r) {
        List<Section> sec = new ArrayList<>();
        List<Svg.Series> q = new ArrayList<>();
        List<Svg.Series> pq = new ArrayList<>();
        List<Double> vals = new ArrayList<>();
        List<List<String>> rows = new ArrayList<>();
        int maxRound = 1;
        for (int i = 0; i < r.runs().size(); i++) {
            PruneResults.Run x = r.runs().get(i);
            List<Svg.Point> pts = new ArrayList<>();
            for (int k = 0; k < x.remaining().length; k++) {
                pts.add(new Svg.Point(x.remaining()[k], x.bitsPerByte()[k]));
                vals.add(x.bitsPerByte()[k]);
                rows.add(List.of(x.id(), k < x.remaining().length - 1 ? "round " + (k + 1) : "end",
                        pct(x.remaining()[k]), f4(x.bitsPerByte()[k]),
                        delta(x.bitsPerByte()[k] / r.dense().bitsPerByte() - 1),
                        k < x.pqIndexMean().length ? String.format(Locale.ROOT, "%.4f", x.pqIndexMean()[k]) : "–"));
            }
            q.add(new Svg.Series(x.id(), Svg.color(i), pts));
            List<Svg.Point> p2 = new ArrayList<>();
            for (int k = 0; k < x.pqIndexMean().length; k++) {
                p2.add(new Svg.Point(k + 1, x.pqIndexMean()[k]));
            }
            maxRound = Math.max(maxRound, x.pqIndexMean().length);
            pq.add(new Svg.Series(x.id(), Svg.color(i), p2));
        }
        double[] v = vals.stream().mapToDouble(Double::doubleValue).toArray();
        double[] pqs = r.runs().stream().flatMapToDouble(x -> Arrays.stream(x.pqIndexMean())).toArray();
        sec.add(new Section("Bits/byte against remaining weights", "Each point: the model at the end of a round's "
                + "training (before its prune), then at the end of the run; x = share of the FFN weights kept.",
                List.of(Svg.lineChart("Bits/byte vs FFN weights remaining", Svg.Axis.pct("FFN weights remaining", 0,
                                1), range("bits/byte", append(v, r.dense().bitsPerByte())), q,
                                List.of(new Svg.Rule(false, r.dense().bitsPerByte(), "start", "#888"))),
                        Svg.lineChart("PQ Index of the FFN matrices", Svg.Axis.integers("round", 1, Math.max(2,
                                maxRound)), range("PQ Index (mean of matrices)", pqs), pq, List.of())),
                List.of(new Table(List.of("run", "point", "remaining", "bits/byte", "Δ", "PQ Index before prune"),
                        rows))));
        return new Page("SAP vs iterative magnitude pruning: " + r.setup().model() + (r.setup().quick() ? " (quick)"
                : ""), pruneSetup(r), sec, r.notes());
    }

    // ---------------------------------------------------------------- attribution

    static Page attribution(AttributionResults r) {
        AttributionResults.Setup s = r.setup();
        AttributionResults.Sweep w = r.llama();
        if (w == null) {                                       // an encoder alone (profile --attribution)
            AttributionResults.Encoder e = r.encoder();
            String setup = String.format(Locale.ROOT, "%s (%s, %d layers, FFN %d); %s wall", e.model(),
                    e.activation(), e.numLayers(), e.intermediateSize(), clock(r.seconds()));
            return new Page("Attribution vs magnitude sparse activation: " + e.model(), setup,
                    List.of(encoderSection(e, s.sparsities())), r.notes());
        }
        String setup = String.format(Locale.ROOT, "%s (%s, %d layers, FFN %d)%s; %d windows of %d (%,d predicted "
                        + "tokens); ∂L/∂h against the %s labels; dense bits/byte %.4f; %s wall", s.model(),
                s.activation(), s.numLayers(), s.intermediateSize(), s.quick() ? " (--quick)" : "", s.windows(),
                s.contextLength(), s.validTokens(), s.labels(), w.dense(), clock(r.seconds()));
        List<Section> sec = new ArrayList<>(List.of(sweepSection("Quality at each sparsity", "Bits/byte when per "
                + "token and layer the given share of FFN neurons with the lowest score is deactivated (dense: "
                + f4(w.dense()) + ").", "Bits/byte vs activation sparsity", "bits/byte", "bits/byte", s.scores(),
                s.sparsities(), w, NeuronReport::delta)));
        if (r.encoder() != null) {
            sec.add(encoderSection(r.encoder(), s.sparsities()));
        }
        return new Page("Attribution vs magnitude sparse activation: " + s.model() + (s.quick() ? " (quick)" : ""),
                setup, sec, r.notes());
    }

    /** The encoder half: mean cosine between sparse and dense sentence embeddings per score and sparsity. */
    static Section encoderSection(AttributionResults.Encoder e, double[] sparsities) {
        AttributionResults.Sweep w = e.sweep();
        String what = String.format(Locale.ROOT, "%s (%s, %d layers, FFN %d); %d windows of %d tokens (%,d tokens); "
                        + "%d projections per window; %s wall. Mean cosine between each window's sentence embedding "
                        + "with the given share of FFN neurons deactivated per token and layer and its dense "
                        + "embedding (dense: 1).", e.model(), e.activation(), e.numLayers(), e.intermediateSize(),
                e.windows(), e.windowTokens(), e.tokens(), e.projections(), clock(w.seconds()));
        return sweepSection("Encoder: embedding cosine at each sparsity", what, "Embedding cosine vs activation "
                + "sparsity", "cosine", "cosine to dense", e.scores(), sparsities, w, v -> String.format(Locale.ROOT, "%+.4f", v));
    }

    /**
     * One sweep as a section: a line per score over the sparsities (dense as a rule) and a table of the quality and
     * its Δ ({@code deltaFormat}) at each sparsity; {@code measure} names the columns, {@code axis} the y axis.
     */
    static Section sweepSection(String heading, String explanation, String chartTitle, String measure, String axis,
                                List<String> scores, double[] sparsities, AttributionResults.Sweep w,
                                java.util.function.DoubleFunction<String> deltaFormat) {
        List<Svg.Series> series = new ArrayList<>();
        List<String> header = new ArrayList<>(List.of("score"));
        for (double sp : sparsities) {
            header.add(pct(sp) + " " + measure);
            header.add("Δ");
        }
        List<List<String>> rows = new ArrayList<>();
        for (int i = 0; i < scores.size(); i++) {
            List<Svg.Point> pts = new ArrayList<>();
            List<String> row = new ArrayList<>(List.of(scores.get(i)));
            for (int k = 0; k < sparsities.length; k++) {
                pts.add(new Svg.Point(sparsities[k], w.quality()[i][k]));
                row.add(f4(w.quality()[i][k]));
                row.add(deltaFormat.apply(w.delta()[i][k]));
            }
            series.add(new Svg.Series(scores.get(i), Svg.color(i), pts));
            rows.add(row);
        }
        double[] all = append(Arrays.stream(w.quality()).flatMapToDouble(Arrays::stream).toArray(), w.dense());
        return new Section(heading, explanation, List.of(Svg.lineChart(chartTitle, Svg.Axis.pct("neurons "
                + "deactivated per token", 0, 1), range(axis, all), series, List.of(new Svg.Rule(false, w.dense(),
                "dense", "#888")))), List.of(new Table(header, rows)));
    }

    // ---------------------------------------------------------------- helpers

    static List<Svg.Point> points(int[] x, double[] y) {
        List<Svg.Point> p = new ArrayList<>();
        for (int i = 0; i < Math.min(x.length, y.length); i++) {
            p.add(new Svg.Point(x[i], y[i]));
        }
        return p;
    }

    static double[] append(double[] a, double v) {
        double[] b = Arrays.copyOf(a, a.length + 1);
        b[a.length] = v;
        return b;
    }

    /** A linear axis around the finite values (5% margin). */
    static Svg.Axis range(String label, double[] v) {
        double lo = Double.MAX_VALUE;
        double hi = -Double.MAX_VALUE;
        for (double x : v) {
            if (Double.isFinite(x)) {
                lo = Math.min(lo, x);
                hi = Math.max(hi, x);
            }
        }
        if (lo > hi) {
            lo = 0;
            hi = 1;
        }
        double pad = Math.max((hi - lo) * 0.05, 1e-6);
        return Svg.Axis.linear(label, lo - pad, hi + pad);
    }

    static String f4(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.4f", v) : "–";
    }

    static String pct(double v) {
        return ReportHtml.pct(v);
    }

    static String delta(double v) {
        return SparsifyReportHtml.delta(v);
    }

    static String clock(double s) {
        return SparsifyReportHtml.clock(s);
    }
}
