package dev.sparsa.profile;

import dev.sparsa.tensor.VectorOps;

import java.util.List;

/**
 * The model's output for each window of a pass (null for windows the pass did not run), and the quality of one set
 * of outputs against the dense ones: perplexity for a decoder, mean cosine similarity of the sentence embeddings for
 * an encoder.
 */
final class WindowOutputs {
    private final ProfiledModel.Output[] byWindow;

    WindowOutputs(int windows) {
        byWindow = new ProfiledModel.Output[windows];
    }

    void put(int window, ProfiledModel.Output out) {
        byWindow[window] = out;
    }

    /** The negative log-likelihoods of a decoder's window. */
    double[] nll(int window) {
        return ((ProfiledModel.Output.Nll) byWindow[window]).nll();
    }

    /** The sentence embedding of an encoder's window. */
    float[] embedding(int window) {
        return ((ProfiledModel.Output.Embedding) byWindow[window]).vector();
    }

    /** Quality of a pass: metric "ppl" (dense PPL, PPL) or "cosine" (1, mean cosine to dense). */
    record Quality(String metric, double dense, double value) {
        /** The relative loss of quality: PPL / dense PPL − 1, or 1 − mean cosine. */
        double degradation() {
            return metric.equals("ppl") ? value / dense - 1 : 1 - value;
        }
    }

    /** Quality of {@code outs} against these (dense) outputs over {@code windows}. */
    Quality quality(boolean decoder, WindowOutputs outs, List<Integer> windows) {
        if (decoder) {
            double sd = 0;
            double so = 0;
            long n = 0;
            for (int w : windows) {
                double[] a = nll(w);
                double[] b = outs.nll(w);
                for (int i = 0; i < a.length; i++) {
                    sd += a[i];
                    so += b[i];
                    n++;
                }
            }
            return new Quality("ppl", Math.exp(sd / n), Math.exp(so / n));
        }
        double s = 0;
        for (int w : windows) {
            s += VectorOps.cosine(embedding(w), outs.embedding(w));
        }
        return new Quality("cosine", 1.0, s / windows.size());
    }
}
