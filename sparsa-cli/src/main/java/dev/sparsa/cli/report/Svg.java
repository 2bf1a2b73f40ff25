package dev.sparsa.cli.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Hand-written inline SVG charts: line charts with axes, ticks, labels and legends, and histograms. */
final class Svg {
    private Svg() {
    }

    /** Tableau 10: distinguishable, print-friendly. */
    static final String[] PALETTE = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
            "#ff9da7", "#9c755f", "#bab0ac"};

    static String color(int i) {
        return PALETTE[i % PALETTE.length];
    }

    record Point(double x, double y) {
    }

    /**
     * One line; {@code dashed} for baselines; {@code markers} to draw the points; {@code line} false for points
     * alone (a scatter).
     */
    record Series(String name, String color, List<Point> points, boolean dashed, boolean markers, boolean line) {
        Series(String name, String color, List<Point> points) {
            this(name, color, points, false, true, true);
        }

        Series(String name, String color, List<Point> points, boolean dashed, boolean markers) {
            this(name, color, points, dashed, markers, true);
        }

        /** Points without a line. */
        static Series scatter(String name, String color, List<Point> points) {
            return new Series(name, color, points, false, true, false);
        }
    }

    /** A text beside a point of the plot. */
    record Label(double x, double y, String text, String color) {
    }

    /** An axis; {@code log2} for lags. */
    record Axis(String label, double min, double max, boolean log2, boolean percent, boolean integer) {
        static Axis linear(String label, double min, double max) {
            return new Axis(label, min, max, false, false, false);
        }

        static Axis pct(String label, double min, double max) {
            return new Axis(label, min, max, false, true, false);
        }

        static Axis log2(String label, double min, double max) {
            return new Axis(label, min, max, true, false, false);
        }

        static Axis integers(String label, double min, double max) {
            return new Axis(label, min, max, false, false, true);
        }
    }

    /** A vertical or horizontal annotation line with a label. */
    record Rule(boolean vertical, double at, String label, String color) {
    }

    static final int W = 620;
    static final int H = 340;
    static final int ML = 70;
    static final int MR = 170;
    static final int MT = 36;
    static final int MB = 52;

    static String lineChart(String title, Axis xa, Axis ya, List<Series> series, List<Rule> rules) {
        return lineChart(title, xa, ya, series, rules, List.of());
    }

    /** A line chart with {@code labels} written beside their points. */
    static String lineChart(String title, Axis xa, Axis ya, List<Series> series, List<Rule> rules,
                            List<Label> labels) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg viewBox='0 0 %d %d' "
                + "width='%d' height='%d' role='img' aria-label='%s'>", W, H, W, H, esc(title)));
        s.append("<rect width='100%' height='100%' fill='white'/>");
        s.append(String.format(Locale.ROOT, "<text x='%d' y='22' class='t'>%s</text>", ML, esc(title)));
        int pw = W - ML - MR;
        int ph = H - MT - MB;
        // grid + ticks
        for (double v : ticks(xa)) {
            double px = ML + sx(xa, v) * pw;
            s.append(String.format(Locale.ROOT, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' class='g'/>", px, MT, px,
                    MT + ph));
            s.append(String.format(Locale.ROOT, "<text x='%.1f' y='%d' class='tk' text-anchor='middle'>%s</text>",
                    px, MT + ph + 16, fmtTick(xa, v)));
        }
        for (double v : ticks(ya)) {
            double py = MT + ph - sx(ya, v) * ph;
            s.append(String.format(Locale.ROOT, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' class='g'/>", ML, py,
                    ML + pw, py));
            s.append(String.format(Locale.ROOT, "<text x='%d' y='%.1f' class='tk' text-anchor='end'>%s</text>",
                    ML - 6, py + 4, fmtTick(ya, v)));
        }
        s.append(String.format(Locale.ROOT, "<rect x='%d' y='%d' width='%d' height='%d' class='frame'/>", ML, MT, pw,
                ph));
        s.append(String.format(Locale.ROOT, "<text x='%d' y='%d' class='al' text-anchor='middle'>%s</text>",
                ML + pw / 2, H - 12, esc(xa.label())));
        s.append(String.format(Locale.ROOT, "<text class='al' text-anchor='middle' transform='translate(16,%d) "
                + "rotate(-90)'>%s</text>", MT + ph / 2, esc(ya.label())));
        for (Rule r : rules) {
            if (r.vertical()) {
                double px = ML + sx(xa, r.at()) * pw;
                boolean right = px > ML + 0.8 * pw;           // near the right edge: the label goes left of the line
                s.append(String.format(Locale.ROOT, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' stroke='%s' "
                        + "stroke-dasharray='3 3'/><text x='%.1f' y='%d' class='tk' fill='%s'%s>%s</text>", px, MT,
                        px, MT + ph, r.color(), right ? px - 3 : px + 3, MT + 12, r.color(),
                        right ? " text-anchor='end'" : "", esc(r.label())));
            } else {
                double py = MT + ph - sx(ya, r.at()) * ph;
                s.append(String.format(Locale.ROOT, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='%s' "
                        + "stroke-dasharray='3 3'/><text x='%d' y='%.1f' class='tk' fill='%s'>%s</text>", ML, py,
                        ML + pw, py, r.color(), ML + 4, py - 4, r.color(), esc(r.label())));
            }
        }
        s.append(String.format(Locale.ROOT, "<svg x='%d' y='%d' width='%d' height='%d' overflow='hidden'>", ML, MT,
                pw, ph));
        for (Series se : series) {
            StringBuilder path = new StringBuilder();
            for (Point p : se.points()) {
                if (!Double.isFinite(p.x()) || !Double.isFinite(p.y())) {
                    continue;
                }
                path.append(path.isEmpty() ? "M" : " L").append(String.format(Locale.ROOT, "%.1f %.1f",
                        sx(xa, p.x()) * pw, ph - sx(ya, p.y()) * ph));
            }
            if (!path.isEmpty() && se.line()) {
                s.append(String.format(Locale.ROOT, "<path d='%s' fill='none' stroke='%s' stroke-width='2'%s/>",
                        path, se.color(), se.dashed() ? " stroke-dasharray='6 4'" : ""));
            }
            if (se.markers()) {
                for (Point p : se.points()) {
                    if (Double.isFinite(p.x()) && Double.isFinite(p.y())) {
                        s.append(String.format(Locale.ROOT, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'/>",
                                sx(xa, p.x()) * pw, ph - sx(ya, p.y()) * ph, se.color()));
                    }
                }
            }
        }
        List<double[]> placed = new ArrayList<>();                // label boxes so far: x, y (baseline), width
        for (Label l : labels) {
            if (!Double.isFinite(l.x()) || !Double.isFinite(l.y())) {
                continue;
            }
            double x = sx(xa, l.x()) * pw + 5;
            double y0 = ph - sx(ya, l.y()) * ph - 5;
            double w = 6.5 * l.text().length();
            double y = y0;
            for (double dy : new double[]{0, 14, -14, 28, -28, 42}) {   // the first place clear of earlier labels
                y = y0 + dy;
                boolean clear = true;
                for (double[] b : placed) {
                    if (Math.abs(b[1] - y) < 12 && x < b[0] + b[2] && b[0] < x + w) {
                        clear = false;
                        break;
                    }
                }
                if (clear) {
                    break;
                }
            }
            placed.add(new double[]{x, y, w});
            s.append(String.format(Locale.ROOT, "<text x='%.1f' y='%.1f' class='tk' fill='%s'>%s</text>", x, y,
                    l.color(), esc(l.text())));
        }
        s.append("</svg>");
        // legend
        int ly = MT + 6;
        for (Series se : series) {
            int lx = ML + pw + 14;
            if (se.line()) {
                s.append(String.format(Locale.ROOT, "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='%s' "
                        + "stroke-width='3'%s/>", lx, ly, lx + 22, ly, se.color(),
                        se.dashed() ? " stroke-dasharray='5 3'" : ""));
            } else {
                s.append(String.format(Locale.ROOT, "<circle cx='%d' cy='%d' r='4' fill='%s'/>", lx + 11, ly,
                        se.color()));
            }
            s.append(String.format(Locale.ROOT, "<text x='%d' y='%d' class='lg'>%s</text>", lx + 28, ly + 4,
                    esc(se.name())));
            ly += 18;
        }
        s.append("</svg>");
        return s.toString();
    }

    /** A small histogram of counts in equal bins over [lo, hi]. */
    static String histogram(String title, String xLabel, double lo, double hi, long[] counts, String color,
                            boolean percent) {
        int w = 300;
        int h = 190;
        int ml = 46;
        int mr = 12;
        int mt = 26;
        int mb = 40;
        int pw = w - ml - mr;
        int ph = h - mt - mb;
        long total = 0;
        long max = 1;
        for (long c : counts) {
            total += c;
            max = Math.max(max, c);
        }
        double maxShare = total == 0 ? 1 : (double) max / total;
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg viewBox='0 0 %d %d' width='%d' "
                + "height='%d' role='img' aria-label='%s'><rect width='100%%' height='100%%' fill='white'/>", w, h,
                w, h, esc(title)));
        s.append(String.format(Locale.ROOT, "<text x='%d' y='16' class='ts'>%s</text>", ml, esc(title)));
        double bw = (double) pw / counts.length;
        for (int i = 0; i < counts.length; i++) {
            double share = total == 0 ? 0 : (double) counts[i] / total;
            double bh = share / maxShare * ph;
            s.append(String.format(Locale.ROOT, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'>"
                    + "<title>%s–%s: %d tokens</title></rect>", ml + i * bw + 0.5, mt + ph - bh, Math.max(bw - 1, 0.5),
                    bh, color, fmt(lo + (hi - lo) * i / counts.length, percent),
                    fmt(lo + (hi - lo) * (i + 1) / counts.length, percent), counts[i]));
        }
        s.append(String.format(Locale.ROOT, "<rect x='%d' y='%d' width='%d' height='%d' class='frame'/>", ml, mt, pw,
                ph));
        for (int k = 0; k <= 4; k++) {
            double v = lo + (hi - lo) * k / 4;
            s.append(String.format(Locale.ROOT, "<text x='%.1f' y='%d' class='tk' text-anchor='middle'>%s</text>",
                    ml + pw * k / 4.0, mt + ph + 14, fmt(v, percent)));
        }
        for (int k = 0; k <= 2; k++) {
            double v = maxShare * k / 2;
            s.append(String.format(Locale.ROOT, "<text x='%d' y='%.1f' class='tk' text-anchor='end'>%s</text>",
                    ml - 4, mt + ph - ph * k / 2.0 + 4, String.format(Locale.ROOT, "%.0f%%", v * 100)));
        }
        s.append(String.format(Locale.ROOT, "<text x='%d' y='%d' class='tk' text-anchor='middle'>%s</text>",
                ml + pw / 2, h - 6, esc(xLabel)));
        s.append("</svg>");
        return s.toString();
    }

    static List<Double> ticks(Axis a) {
        List<Double> t = new ArrayList<>();
        if (a.log2()) {
            for (double v = Math.max(1, a.min()); v <= a.max() * 1.0001; v *= 2) {
                t.add(v);
            }
            return t;
        }
        double span = a.max() - a.min();
        if (a.integer()) {
            int step = (int) Math.max(1, Math.ceil(span / 12));
            for (double v = Math.ceil(a.min()); v <= a.max(); v += step) {
                t.add(v + 0.0);
            }
            return t;
        }
        if (!(span > 0)) {
            t.add(a.min());
            return t;
        }
        double raw = span / 5;
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = mag;
        for (double m : new double[]{1, 2, 2.5, 5, 10}) {
            if (m * mag >= raw) {
                step = m * mag;
                break;
            }
        }
        for (double v = Math.ceil(a.min() / step) * step; v <= a.max() + step * 1e-9; v += step) {
            t.add(Math.abs(v) < step * 1e-9 ? 0 : v);
        }
        return t;
    }

    static double sx(Axis a, double v) {
        if (a.log2()) {
            double lo = Math.log(Math.max(a.min(), 1e-12));
            return (Math.log(v) - lo) / (Math.log(a.max()) - lo);
        }
        return a.max() == a.min() ? 0.5 : (v - a.min()) / (a.max() - a.min());
    }

    static String fmtTick(Axis a, double v) {
        return fmt(v, a.percent());
    }

    static String fmt(double v, boolean percent) {
        if (percent) {
            double p = v * 100;
            return Math.abs(p - Math.rint(p)) < 1e-6 ? String.format(Locale.ROOT, "%.0f%%", p + 0.0)
                    : String.format(Locale.ROOT, "%.1f%%", p);
        }
        if (!Double.isFinite(v)) {
            return String.valueOf(v);
        }
        if (Math.abs(v) >= 1e6 || (v != 0 && Math.abs(v) < 1e-4)) {
            return String.format(Locale.ROOT, "%.3g", v);
        }
        // Up to 4 significant digits, trailing zeros dropped: 0.2, 0.95, 1, 12.5, 1234.
        return new java.math.BigDecimal(v + 0.0).round(new java.math.MathContext(4)).stripTrailingZeros()
                .toPlainString();
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;")
                .replace("\"", "&quot;");
    }
}
