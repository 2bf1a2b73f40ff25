package dev.sparsa.profile.toy;

import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.model.Activation;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.profile.ProfiledModel;

import java.nio.charset.StandardCharsets;
import java.util.Random;

/**
 * A tiny synthetic transformer-like model with random weights, for tests and smoke runs of the profiler
 * ({@code --model toy-relu} / {@code toy-gelu}). It is <em>not</em> a real language model. Bytes are tokens (V = 256).
 * Each position's stream starts as its token embedding plus the mean of the embeddings it may attend to (earlier
 * positions for the decoder, all for the encoder); each layer adds an FFN y = W_down·act(W_in·rmsnorm(s) + b).
 * Decoder output: the NLL of the next byte under tied-embedding logits; encoder output: the normalized mean of the
 * final streams.
 */
public final class ToyModel implements ProfiledModel {
    private final boolean decoder;
    private final String act;
    private final Activation fn;
    private final int layers;
    private final int d;
    private final int f;
    private final int context;
    private final float[] emb;        // V × D
    private final float[][] win;      // F × D
    private final float[][] bin;      // F
    private final float[][] down;     // F × D, row i = d_i
    private static final int V = 256;

    public ToyModel(boolean decoder, String act, int layers, int d, int f, int context, long seed) {
        this.decoder = decoder;
        this.act = act;
        this.fn = Activation.of(act, 0f);
        this.layers = layers;
        this.d = d;
        this.f = f;
        this.context = context;
        Random r = new Random(seed);
        emb = gauss(r, V * d, 1.0);
        win = new float[layers][];
        bin = new float[layers][];
        down = new float[layers][];
        for (int l = 0; l < layers; l++) {
            win[l] = gauss(r, f * d, 1 / Math.sqrt(d));
            bin[l] = gauss(r, f, 0.5);
            down[l] = gauss(r, f * d, 0.5 / Math.sqrt(f));
        }
    }

    /** The standard small configurations: 2 layers, D = 32, F = 128, context 64. */
    public static ToyModel of(String name) {
        return switch (name) {
            case "toy-relu" -> new ToyModel(true, "relu", 2, 32, 128, 64, 7);
            case "toy-gelu" -> new ToyModel(false, "gelu", 2, 32, 128, 64, 7);
            default -> throw new IllegalArgumentException(name);
        };
    }

    private static float[] gauss(Random r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * scale);
        }
        return a;
    }

    @Override
    public String name() {
        return decoder ? "toy-" + act + " (synthetic decoder)" : "toy-" + act + " (synthetic encoder)";
    }

    @Override
    public boolean isDecoder() {
        return decoder;
    }

    @Override
    public String activation() {
        return act;
    }

    @Override
    public int numLayers() {
        return layers;
    }

    @Override
    public int hiddenSize() {
        return d;
    }

    @Override
    public int intermediateSize() {
        return f;
    }

    @Override
    public int contextLength() {
        return context;
    }

    @Override
    public Tokenizer tokenizer() {
        return BYTES;
    }

    @Override
    public float[] downColumns(int layer) {
        return down[layer].clone();
    }

    @Override
    public Output forward(int[] ids, ActivationTap tap) {
        int n = ids.length;
        float[] s = new float[n * d];
        float[] sum = new float[d];
        for (int t = 0; t < n; t++) {
            for (int j = 0; j < d; j++) {
                sum[j] += emb[ids[t] * d + j];
            }
        }
        float[] prefix = new float[d];
        for (int t = 0; t < n; t++) {
            for (int j = 0; j < d; j++) {
                float ctx = decoder ? (t == 0 ? 0 : prefix[j] / t) : sum[j] / n;
                s[t * d + j] = emb[ids[t] * d + j] + 0.5f * ctx;
            }
            for (int j = 0; j < d; j++) {
                prefix[j] += emb[ids[t] * d + j];
            }
        }
        float[] x = new float[d];
        float[] gate = new float[f];
        float[] a = new float[f];
        float[] h = new float[f];
        for (int l = 0; l < layers; l++) {
            for (int t = 0; t < n; t++) {
                rmsnorm(s, t * d, x);
                for (int i = 0; i < f; i++) {
                    float g = bin[l][i];
                    for (int j = 0; j < d; j++) {
                        g += win[l][i * d + j] * x[j];
                    }
                    gate[i] = g;
                    a[i] = fn.apply(g);
                    h[i] = a[i];
                }
                if (tap.wants(l)) {
                    tap.onFfn(l, t, x, 0, gate, a, h, 0);
                }
                for (int i = 0; i < f; i++) {
                    float hi = h[i];
                    if (hi != 0f) {
                        for (int j = 0; j < d; j++) {
                            s[t * d + j] += hi * down[l][i * d + j];
                        }
                    }
                }
            }
        }
        if (decoder) {
            double[] nll = new double[n - 1];
            double[] logits = new double[V];
            for (int t = 0; t + 1 < n; t++) {
                rmsnorm(s, t * d, x);
                double max = Double.NEGATIVE_INFINITY;
                for (int v = 0; v < V; v++) {
                    double z = 0;
                    for (int j = 0; j < d; j++) {
                        z += emb[v * d + j] * x[j];
                    }
                    logits[v] = z / Math.sqrt(d) * 2; // tame random logits: PPL in the hundreds
                    max = Math.max(max, z);
                }
                double se = 0;
                for (int v = 0; v < V; v++) {
                    se += Math.exp(logits[v] - max);
                }
                nll[t] = max + Math.log(se) - logits[ids[t + 1]];
            }
            return new Output.Nll(nll);
        }
        float[] pooled = new float[d];
        for (int t = 0; t < n; t++) {
            for (int j = 0; j < d; j++) {
                pooled[j] += s[t * d + j] / n;
            }
        }
        double norm = 0;
        for (float v : pooled) {
            norm += v * v;
        }
        norm = Math.sqrt(norm);
        for (int j = 0; j < d; j++) {
            pooled[j] = (float) (pooled[j] / Math.max(norm, 1e-12));
        }
        return new Output.Embedding(pooled);
    }

    private void rmsnorm(float[] s, int off, float[] out) {
        double ss = 0;
        for (int j = 0; j < d; j++) {
            ss += s[off + j] * s[off + j];
        }
        float inv = (float) (1 / Math.sqrt(ss / d + 1e-6));
        for (int j = 0; j < d; j++) {
            out[j] = s[off + j] * inv;
        }
    }

    /** UTF-8 bytes as tokens. */
    static final Tokenizer BYTES = new Tokenizer() {
        @Override
        public int[] encode(String text, boolean addSpecial) {
            byte[] b = text.getBytes(StandardCharsets.UTF_8);
            int[] ids = new int[b.length];
            for (int i = 0; i < b.length; i++) {
                ids[i] = b[i] & 0xff;
            }
            return ids;
        }

        @Override
        public String decode(int[] ids, boolean skipSpecial) {
            byte[] b = new byte[ids.length];
            for (int i = 0; i < ids.length; i++) {
                b[i] = (byte) ids[i];
            }
            return new String(b, StandardCharsets.UTF_8);
        }

        @Override
        public int vocabSize() {
            return V;
        }

        @Override
        public String token(int id) {
            return String.valueOf((char) id);
        }

        @Override
        public int bosId() {
            return -1;
        }

        /** The newline byte, which ends a line: the document separator of the evaluation protocol. */
        @Override
        public int eosId() {
            return '\n';
        }

        @Override
        public int tokenBytes(int id) {
            return 1;
        }

        @Override
        public boolean isSpecial(int id) {
            return false;
        }
    };
}
