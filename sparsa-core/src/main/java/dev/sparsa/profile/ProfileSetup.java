package dev.sparsa.profile;

import dev.sparsa.SparsaException;
import dev.sparsa.model.Activation;
import dev.sparsa.profile.metric.Cett;
import dev.sparsa.profile.metric.LayerContext;
import dev.sparsa.profile.metric.LayerWindow;
import dev.sparsa.tensor.Parallel;

/**
 * What every pass of a profile run reads: the model, options, pool and progress, the FFN shape, each layer's down
 * projection (as doubles for CETT, and its column norms ‖d_i‖₂) and whether "active" means h_i ≠ 0.
 *
 * @param relu  the activation is exactly 0 below some point (ReLU family): active = h_i ≠ 0, else a CETT threshold
 */
record ProfileSetup(ProfiledModel model, ProfileOptions opt, Parallel par, ProgressListener progress, int layers,
                    int d, int f, double[][] downD, float[][] norms, boolean relu) {

    /** Reads the shape and down columns of {@code model}; a UsageException when they are inconsistent. */
    static ProfileSetup of(ProfiledModel model, ProfileOptions opt, Parallel par, ProgressListener progress) {
        int layers = model.numLayers();
        int d = model.hiddenSize();
        int f = model.intermediateSize();
        if (layers < 1 || d < 1 || f < 1) {
            throw new SparsaException.UsageException(model.name() + ": model reports no FFN layers");
        }
        double[][] downD = new double[layers][];
        float[][] norms = new float[layers][];
        for (int l = 0; l < layers; l++) {
            float[] down = model.downColumns(l);
            if (down.length != f * d) {
                throw new SparsaException.UsageException(model.name() + ": down columns of layer " + l + " have "
                        + down.length + " values, expected F×D = " + (long) f * d);
            }
            norms[l] = LayerContext.columnNorms(down, f, d);
            downD[l] = Cett.toDouble(down);
        }
        // "active" = h_i ≠ 0 when act is exactly 0 below some point (ReLU family; the FATReLU threshold does not matter)
        boolean relu = Activation.of(model.activation(), 0f).zeroBelow();
        return new ProfileSetup(model, opt, par, progress, layers, d, f, downD, norms, relu);
    }

    /** A fresh capture tap sized for {@code win}'s windows (plus the special tokens an adapter adds). */
    Taps.Capture capture(Windows win) {
        return new Taps.Capture(layers, d, f, win.contextLength() + 4);
    }

    /**
     * Layer {@code l} of window {@code w} as the metrics see it: the captured x and h, the magnitudes
     * m_i = |h_i|·‖d_i‖₂, and (with a {@code ctx}) which entries are active.
     */
    LayerWindow window(Taps.Capture cap, int l, int w, LayerContext ctx) {
        int t = cap.positions[l];
        float[] h = cap.h[l];
        float[] mags = new float[t * f];
        for (int p = 0; p < t; p++) {
            Cett.magnitudes(h, p * f, norms[l], mags, p * f, f);
        }
        boolean[] active = new boolean[t * f];
        if (ctx != null) {
            for (int i = 0; i < t * f; i++) {
                active[i] = relu ? h[i] != 0f : mags[i] >= ctx.activeEpsilon();
            }
        }
        return new LayerWindow(l, t, f, d, cap.x[l], h, mags, active, w);
    }
}
