package dev.sparsa.cli;

import dev.sparsa.eval.EvalResult;
import dev.sparsa.experiment.Runs;
import dev.sparsa.experiment.SparsifyExperiment;
import dev.sparsa.experiment.SparsifyResults;
import dev.sparsa.train.Trainer;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress of in-process training on stderr, for the experiments and the demo: a {@link ProgressBar} per training
 * run (steps, rate, ETA, CE / λ / sparsity), the trainer's messages, and for an experiment one line per run with
 * the experiment's own elapsed time and ETA.
 */
final class TrainProgress implements SparsifyExperiment.Listener, Runs.Listener {
    private final PrintStream err;
    private final ProgressBar bar;
    private final long t0 = System.nanoTime();
    private String label = "train";
    private int first;

    TrainProgress(PrintStream err) {
        this.err = err;
        this.bar = new ProgressBar(err, System.console() != null);
    }

    ProgressBar bar() {
        return bar;
    }

    /** The name the next training run's bar carries. */
    void label(String name) {
        this.label = name;
    }

    double elapsed() {
        return (System.nanoTime() - t0) / 1e9;
    }

    @Override
    public void onStart(int firstStep, int steps, long params, String what) {
        first = firstStep;
        if (firstStep <= steps) {
            bar.phase(label, steps - firstStep + 1, "steps");
        }
    }

    @Override
    public void onStep(Trainer.StepLog s) {
        bar.progress(s.step() - first + 1, String.format(Locale.ROOT, "CE %.3f λ %.3g sparsity %.3f %.0f tok/s",
                s.ce(), s.lambda(), s.sparsity(), s.tokensPerSecond()));
    }

    @Override
    public void onValidation(int step, EvalResult r) {
        say(String.format(Locale.ROOT, "validation at step %d: bits/byte %.4f, zero sparsity %.4f", step,
                r.bitsPerByte(), r.sparsity()));
    }

    @Override
    public void say(String message) {
        bar.interrupt();
        err.println("sparsa: " + message);
        err.flush();
    }

    @Override
    public void onRunStart(int index, int total, String id, int steps, double elapsed, double eta) {
        label(id);
        say(String.format(Locale.ROOT, "run %d/%d: %s (%d steps); elapsed %s%s", index, total, id, steps,
                ProgressBar.clock(elapsed), Double.isNaN(eta) ? "" : ", ETA " + ProgressBar.clock(eta)));
    }

    @Override
    public void onRunDone(String id, String result, boolean resumed) {
        say((resumed ? "resumed " : "") + id + ": " + result + (resumed ? " (from runs/" + id + ".json)" : ""));
    }

    @Override
    public void onRunDone(SparsifyResults.Run r, boolean resumed) {
        say(String.format(Locale.ROOT, "%s%s: sparsity %.4f at T = 0, %.4f at T = %.4g; bits/byte %.4f (%+.2f%%)%s",
                resumed ? "resumed " : "", r.id(), r.atZero().sparsity(), r.chosen().sparsity(),
                r.chosen().threshold(), r.chosen().bitsPerByte(), 100 * r.chosen().delta(),
                resumed ? " (from runs/" + r.id() + ".json)" : String.format(Locale.ROOT, "; %.0f s", r.seconds())));
    }
}
