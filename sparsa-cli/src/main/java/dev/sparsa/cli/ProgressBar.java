package dev.sparsa.cli;

import dev.sparsa.profile.ProgressListener;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A progress bar with rate and ETA on stderr. On a terminal it redraws one line; otherwise (logs, pipes) it prints
 * a line at most every few seconds and at the end of each phase.
 */
final class ProgressBar implements ProgressListener {
    private final PrintStream out;
    private final boolean tty;
    private String phase;
    private String unit;
    private long total;
    private long start;
    private long lastPrint;
    private long done;
    private long printed = -1;
    private String note = "";

    ProgressBar(PrintStream out, boolean tty) {
        this.out = out;
        this.tty = tty;
    }

    static ProgressBar stderr() {
        return new ProgressBar(System.err, System.console() != null);
    }

    @Override
    public synchronized void phase(String name, long total, String unit) {
        endPhase();
        this.phase = name;
        this.total = Math.max(1, total);
        this.unit = unit;
        this.start = System.nanoTime();
        this.lastPrint = 0;
        this.done = 0;
        this.printed = -1;
        this.note = "";
    }

    /** Progress with a short status after the ETA (e.g. the current loss). */
    synchronized void progress(long done, String note) {
        this.note = note == null ? "" : note;
        progress(done);
    }

    @Override
    public synchronized void progress(long done) {
        this.done = done;
        long now = System.nanoTime();
        if (tty ? now - lastPrint > 100_000_000L : now - lastPrint > 5_000_000_000L) {
            lastPrint = now;
            print(false);
        }
    }

    /**
     * Before another line goes to the same stream mid-phase: on a terminal, ends the bar's line (it is redrawn on
     * the next progress); elsewhere nothing.
     */
    synchronized void interrupt() {
        if (tty && phase != null && printed >= 0) {
            out.println();
            lastPrint = 0;
        }
    }

    private void endPhase() {
        if (phase != null) {
            if (tty || printed != done) {
                print(true);
            }
            phase = null;
        }
    }

    @Override
    public synchronized void finish() {
        endPhase();
    }

    private void print(boolean last) {
        printed = done;
        double secs = (System.nanoTime() - start) / 1e9;
        double frac = Math.min(1, (double) done / total);
        int width = 28;
        int fill = (int) Math.round(frac * width);
        String bar = "#".repeat(fill) + "-".repeat(width - fill);
        double rate = secs > 0 ? done / secs : 0;
        String eta = done > 0 && done < total ? " ETA " + clock((total - done) / rate) : "";
        String line = String.format(Locale.ROOT, "sparsa: %-19s [%s] %3.0f%% %d/%d %s, %.1f %s/s, %s%s%s", phase, bar,
                frac * 100, done, total, unit, rate, unit, clock(secs), eta, note.isEmpty() ? "" : " | " + note);
        if (tty) {
            out.print("\r" + line + "   " + (last ? "\n" : ""));
        } else {
            out.println(line);
        }
        out.flush();
    }

    static String clock(double s) {
        long t = Math.round(s);
        return t >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60)
                : String.format(Locale.ROOT, "%d:%02d", t / 60, t % 60);
    }
}
