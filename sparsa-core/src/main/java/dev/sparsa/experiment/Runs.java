package dev.sparsa.experiment;

import dev.sparsa.eval.EvalResult;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.Evaluator;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.Trainer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * What the neuron-level experiments ({@code redo}, {@code ap}, {@code sap}, {@code attribution}) share: a list of
 * runs done in order, each saved to {@link RunStore} as it finishes and taken from there on {@code --resume}, with
 * the experiment's progress events; and the one evaluation (bits/byte of the protocol on dense-FFN weights).
 */
public final class Runs {
    private Runs() {
    }

    /** The experiment's events on top of each run's trainer events. */
    public interface Listener extends Trainer.Listener {
        /**
         * A run starts ({@code eta}: seconds left for this and the later runs from the mean of those done; NaN
         * before the first).
         */
        default void onRunStart(int index, int total, String id, int steps, double elapsed, double eta) {
        }

        /** A run is done ({@code resumed}: taken from its file); {@code result} is one line for the log. */
        default void onRunDone(String id, String result, boolean resumed) {
        }
    }

    /**
     * One planned run.
     *
     * @param steps       optimizer steps (for the progress line)
     * @param fingerprint everything the run's result depends on
     */
    public record Plan<T>(String id, int steps, Map<String, String> fingerprint, Supplier<T> run) {
    }

    /** Runs (or takes from the store) every plan in order; returns their values in plan order. */
    public static <T> List<T> all(List<Plan<T>> plans, Class<T> type, RunStore store, Listener listener,
                                  Function<T, String> describe) {
        long t0 = System.nanoTime();
        List<T> out = new ArrayList<>();
        double spent = 0;
        int timed = 0;
        for (int i = 0; i < plans.size(); i++) {
            Plan<T> p = plans.get(i);
            T done = store.load(p.id(), p.fingerprint(), type);
            if (done != null) {
                out.add(done);
                listener.onRunDone(p.id(), describe.apply(done), true);
                continue;
            }
            double eta = timed == 0 ? Double.NaN : spent / timed * (plans.size() - i);
            listener.onRunStart(i + 1, plans.size(), p.id(), p.steps(), (System.nanoTime() - t0) / 1e9, eta);
            long r0 = System.nanoTime();
            T r = p.run().get();
            double sec = (System.nanoTime() - r0) / 1e9;
            store.save(p.id(), p.fingerprint(), r);
            out.add(r);
            spent += sec;
            timed++;
            listener.onRunDone(p.id(), describe.apply(r), false);
        }
        return out;
    }

    /** The protocol's evaluation of {@code w} (dense FFN kernel) on {@code val}. */
    public static EvalResult evaluate(LlamaWeights w, EvalWindows val, Parallel par) {
        return new Evaluator(LlamaModel.of(w, DenseFfn::new), par).evaluate(val);
    }

    /** A {@link Trainer.StepLog} list's steps and CE. */
    static int[] steps(List<Trainer.StepLog> log) {
        return log.stream().mapToInt(Trainer.StepLog::step).toArray();
    }

    static double[] ce(List<Trainer.StepLog> log) {
        return log.stream().mapToDouble(Trainer.StepLog::ce).toArray();
    }
}
