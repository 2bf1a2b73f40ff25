package dev.sparsa.calibrate;

import dev.sparsa.eval.EvalWindows;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.spec.ModelConfig;

/**
 * A predictor's training data, per layer: the FFN inputs x of every calibration token ({@code [N, D]}, in stream
 * order) and their labels (neuron i active: act(g_i) ≠ 0, or |act(g_i)| ≥ t for CATS labels), as bits. Layers are
 * collected in groups that fit {@link #BUDGET_BYTES} (one pass over the windows per group), lazily as they are asked
 * for.
 */
final class PredictorData {
    /** Most bytes of inputs and labels held at once. */
    static final long BUDGET_BYTES = 2L << 30;

    /** One layer's rows: x is N × D, label (t, i) is bit t·F + i of {@code labels}. */
    record Layer(float[] x, long[] labels, int rows, int f) {
        boolean label(int t, int i) {
            long bit = (long) t * f + i;
            return (labels[(int) (bit >>> 6)] >>> (bit & 63) & 1L) != 0;
        }
    }

    private final Calibrator cal;
    private final LlamaModel model;
    private final EvalWindows windows;
    private final float[] labelThreshold;
    private final ModelConfig cfg;
    private final int perGroup;
    private Layer[] group;
    private int groupStart = -1;

    private PredictorData(Calibrator cal, LlamaModel model, EvalWindows windows, float[] labelThreshold,
                          ModelConfig cfg) {
        this.cal = cal;
        this.model = model;
        this.windows = windows;
        this.labelThreshold = labelThreshold;
        this.cfg = cfg;
        long n = windows.stream().size();
        long perLayer = n * cfg.hiddenSize() * 4L + n * cfg.intermediateSize() / 8 + 8;
        if (n * cfg.hiddenSize() > Integer.MAX_VALUE - 8) {
            throw new dev.sparsa.SparsaException.UsageException("--tokens " + n + ": too many calibration tokens "
                    + "for a predictor of hidden size " + cfg.hiddenSize() + " (at most "
                    + (Integer.MAX_VALUE / cfg.hiddenSize()) + ")");
        }
        this.perGroup = (int) Math.max(1, Math.min(cfg.numLayers(), BUDGET_BYTES / perLayer));
    }

    /** Data for {@code model}'s layers on {@code windows}; {@code labelThreshold} null for act ≠ 0 labels. */
    static PredictorData collect(Calibrator cal, LlamaModel model, EvalWindows windows, float[] labelThreshold,
                                 ModelConfig cfg) {
        return new PredictorData(cal, model, windows, labelThreshold, cfg);
    }

    Layer layer(int l) {
        if (group == null || l < groupStart || l >= groupStart + group.length) {
            collectGroup(l);
        }
        return group[l - groupStart];
    }

    private void collectGroup(int first) {
        group = null;                                                     // let the previous group go first
        int count = Math.min(perGroup, cfg.numLayers() - first);
        int n = windows.stream().size();
        int d = cfg.hiddenSize();
        int f = cfg.intermediateSize();
        Layer[] g = new Layer[count];
        for (int i = 0; i < count; i++) {
            g[i] = new Layer(new float[n * d], new long[(int) (((long) n * f + 63) / 64)], n, f);
        }
        int[] row = new int[count];
        ActivationTap tap = new ActivationTap() {
            @Override
            public void onFfn(int layer, int position, float[] x, int xOff, float[] gate, float[] a, float[] h,
                              int off) {
                Layer dl = g[layer - first];
                int t = row[layer - first]++;
                System.arraycopy(x, xOff, dl.x(), t * d, d);
                float lt = labelThreshold == null ? Float.MIN_VALUE : labelThreshold[layer];
                for (int i = 0; i < f; i++) {
                    if (Math.abs(a[off + i]) >= lt) {                     // active: act ≠ 0, or |act| ≥ t (CATS)
                        long bit = (long) t * f + i;
                        dl.labels()[(int) (bit >>> 6)] |= 1L << (bit & 63);
                    }
                }
            }

            @Override
            public boolean wants(int layer) {
                return layer >= first && layer < first + count;
            }
        };
        cal.pass(model, windows, tap, "predictor data, layers " + first + ".." + (first + count - 1));
        for (int r : row) {
            if (r != n) {
                throw new IllegalStateException("predictor data: " + r + " rows for " + n + " tokens");
            }
        }
        group = g;
        groupStart = first;
    }
}
