package dev.sparsa.profile;

import java.util.List;

/**
 * Phase 2 of a profile run: every window, dense, with all layer metrics. Metrics of different layers run in
 * parallel; each layer's state is touched by one thread at a time, in window order, so the results do not depend on
 * the thread count.
 */
final class MeasuringPass {
    private MeasuringPass() {
    }

    /**
     * @param dense     the model's output for each window (the dense reference of the later passes)
     * @param positions positions tapped in all
     * @param seconds   wall time of the pass
     */
    record Result(WindowOutputs dense, long positions, double seconds) {
    }

    static Result run(ProfileSetup s, Windows win, Taps.Capture cap, LayerState[] st) {
        List<int[]> ws = win.windows();
        s.progress().phase("profile", win.tokens(), "tok");
        long tm0 = System.nanoTime();
        long positions = 0;
        long done = 0;
        WindowOutputs dense = new WindowOutputs(ws.size());
        for (int w = 0; w < ws.size(); w++) {
            cap.reset();
            dense.put(w, s.model().forward(ws.get(w), cap));
            positions += cap.positions[0];
            int wi = w;
            s.par().forRange(s.layers(), 1, (from, to) -> {
                for (int l = from; l < to; l++) {
                    st[l].accept(s.window(cap, l, wi, st[l].ctx));
                }
            });
            done += ws.get(w).length;
            s.progress().progress(done);
        }
        return new Result(dense, positions, (System.nanoTime() - tm0) / 1e9);
    }
}
