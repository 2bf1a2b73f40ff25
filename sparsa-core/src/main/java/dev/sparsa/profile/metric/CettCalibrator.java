package dev.sparsa.profile.metric;

import java.util.ArrayList;
import java.util.List;

/**
 * Collects the CETT scans of the first {@code capacity} tokens of a layer (the calibration tokens) and
 * calibrates per-layer thresholds ε_ℓ(c) from them ({@link Cett#calibrate}).
 */
public final class CettCalibrator implements LayerMetric<List<Cett.Scan>> {
    private final double[] down;
    private final int capacity;
    private final List<Cett.Scan> scans = new ArrayList<>();
    private Cett.MeanCurve curve;

    public CettCalibrator(float[] down, int capacity) {
        this(Cett.toDouble(down), capacity);
    }

    public CettCalibrator(double[] down, int capacity) {
        this.down = down;
        this.capacity = capacity;
    }

    @Override
    public void accept(LayerWindow w) {
        for (int t = 0; t < w.tokens() && scans.size() < capacity; t++) {
            scans.add(Cett.scan(w.h(), t * w.f(), w.mags(), t * w.f(), down, w.f(), w.d()));
            curve = null;
        }
    }

    @Override
    public List<Cett.Scan> result() {
        return scans;
    }

    /** ε_ℓ(c) for one target. */
    public double epsilon(double target) {
        if (curve == null) {
            curve = Cett.meanCurve(scans);
        }
        return curve.largestEpsilon(target);
    }

    /** ε_ℓ(c) for each target c. */
    public double[] epsilons(double[] targets) {
        double[] e = new double[targets.length];
        for (int i = 0; i < targets.length; i++) {
            e[i] = epsilon(targets[i]);
        }
        return e;
    }
}
