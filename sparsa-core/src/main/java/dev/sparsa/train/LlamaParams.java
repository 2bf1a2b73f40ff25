package dev.sparsa.train;

import dev.sparsa.model.FfnWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.spec.RopeStyle;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The trainable parameters of a Llama-family model (llm.c's one block of parameters, one of gradients): an F32
 * copy of every weight in native memory (fp32 master weights, whatever the checkpoint's dtype), a gradient array
 * of the same size beside each, and a {@link LlamaWeights} view over the copies, so that the forward the trainer
 * runs is the inference forward ({@link dev.sparsa.model.llama.LlamaBlock}) over these very tensors. The order of
 * {@link #params()} is {@link LlamaWeights#named()}'s; a tied LM head is the embedding (one parameter).
 */
public final class LlamaParams {

    /** One parameter: its HF name, F32 value (writable, native) and gradient. */
    public record Param(String name, Tensor value, float[] grad) {
        public int size() {
            return grad.length;
        }

        /** Weight decay applies to matrices (rank ≥ 2), not to norm gains and biases, by default. */
        public boolean matrix() {
            return value.rank() >= 2;
        }

        public MemorySegment data() {
            return value.data();
        }
    }

    private final ModelConfig config;
    private final LlamaWeights weights;
    private final List<Param> params;
    private final Map<String, Param> byName;
    private final Map<Tensor, Param> byTensor;      // Tensor equality is identity

    private LlamaParams(LlamaWeights weights, List<Param> params) {
        this.config = weights.config();
        this.weights = weights;
        this.params = List.copyOf(params);
        Map<String, Param> m = new LinkedHashMap<>();
        Map<Tensor, Param> t = new java.util.HashMap<>();
        for (Param p : params) {
            m.put(p.name(), p);
            t.put(p.value(), p);
        }
        this.byName = m;
        this.byTensor = t;
    }

    /** F32 copies of {@code src}'s weights under the config {@code cfg} (same shapes; e.g. another activation). */
    public static LlamaParams copyOf(LlamaWeights src, ModelConfig cfg, Arena arena) {
        Map<String, Tensor> copies = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : src.named().entrySet()) {
            copies.put(e.getKey(), f32(e.getKey(), Kernels.toFloats(e.getValue()), e.getValue().shape().clone(), arena));
        }
        return of(cfg, src.ropeStyle(), "trainer copy of " + src.location(), copies);
    }

    /**
     * Fresh weights for pretraining, as Hugging Face's LlamaPreTrainedModel initializes them: every matrix
     * N(0, σ²) with σ = {@code std} (config.initializer_range, 0.02), norm gains 1, biases 0.
     */
    public static LlamaParams init(ModelConfig cfg, double std, long seed, Arena arena) {
        Map<String, Tensor> ts = new LinkedHashMap<>();
        SplittableRandom rnd = new SplittableRandom(seed);
        for (Map.Entry<String, int[]> e : shapes(cfg).entrySet()) {
            String n = e.getKey();
            int[] shape = e.getValue();
            int size = 1;
            for (int d : shape) {
                size = Math.multiplyExact(size, d);
            }
            float[] v = new float[size];
            if (n.endsWith("norm.weight")) {
                java.util.Arrays.fill(v, 1f);
            } else if (!n.endsWith(".bias")) {
                SplittableRandom r = rnd.split();                      // one stream per tensor, in name order
                for (int i = 0; i < size; i++) {
                    v[i] = (float) (r.nextGaussian() * std);
                }
            }
            ts.put(n, f32(n, v, shape, arena));
        }
        return of(cfg, RopeStyle.HALF, "initialized " + cfg.architecture(), ts);
    }

    /** The tensors a config implies, in {@link LlamaWeights#named()} order. */
    /** Parameters a model of config {@code c} has (the sum of {@link #shapes}' sizes). */
    public static long count(ModelConfig c) {
        long n = 0;
        for (int[] shape : shapes(c).values()) {
            long k = 1;
            for (int d : shape) {
                k *= d;
            }
            n += k;
        }
        return n;
    }

    static Map<String, int[]> shapes(ModelConfig c) {
        return dev.sparsa.io.ModelFiles.decoderTensors(c);
    }

    private static LlamaParams of(ModelConfig cfg, RopeStyle rope, String location, Map<String, Tensor> ts) {
        List<LlamaWeights.Layer> layers = new ArrayList<>();
        for (int l = 0; l < cfg.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            String a = p + "self_attn.";
            layers.add(new LlamaWeights.Layer(l, ts.get(p + "input_layernorm.weight"), ts.get(a + "q_proj.weight"),
                    ts.get(a + "k_proj.weight"), ts.get(a + "v_proj.weight"), ts.get(a + "o_proj.weight"),
                    ts.get(a + "q_proj.bias"), ts.get(a + "k_proj.bias"), ts.get(a + "v_proj.bias"),
                    ts.get(a + "o_proj.bias"), ts.get(p + "post_attention_layernorm.weight"),
                    new FfnWeights(l, ts.get(p + "mlp.gate_proj.weight"), ts.get(p + "mlp.up_proj.weight"),
                            ts.get(p + "mlp.down_proj.weight"))));
        }
        Tensor embed = ts.get("model.embed_tokens.weight");
        Tensor head = cfg.tieWordEmbeddings() ? embed : ts.get("lm_head.weight");
        LlamaWeights w = new LlamaWeights(cfg, rope, location, embed, head, ts.get("model.norm.weight"), layers);
        List<Param> ps = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : w.named().entrySet()) {
            Tensor t = e.getValue();
            ps.add(new Param(e.getKey(), t, new float[(int) t.numel()]));
        }
        return new LlamaParams(w, ps);
    }

    static Tensor f32(String name, float[] v, int[] shape, Arena arena) {
        MemorySegment seg = arena.allocate((long) v.length * Float.BYTES, 64);
        MemorySegment.copy(v, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, v.length);
        return new Tensor(name, DType.F32, shape, seg);
    }

    public ModelConfig config() {
        return config;
    }

    /** The forward's view of the parameters. */
    public LlamaWeights weights() {
        return weights;
    }

    /** Every parameter, in {@link LlamaWeights#named()} order. */
    public List<Param> params() {
        return params;
    }

    /** The parameter of this HF name; null when absent. */
    public Param param(String name) {
        return byName.get(name);
    }

    /** The gradient array of a weight tensor of {@link #weights()}. */
    public float[] grad(Tensor t) {
        Param p = byTensor.get(t);
        if (p == null) {
            throw new IllegalArgumentException("not a parameter of this model: " + t.describe());
        }
        return p.grad();
    }

    /** Number of scalars. */
    public long count() {
        long n = 0;
        for (Param p : params) {
            n += p.size();
        }
        return n;
    }

    /** Sets every gradient to zero. */
    public void zeroGrads() {
        for (Param p : params) {
            java.util.Arrays.fill(p.grad(), 0f);
        }
    }

    /** The same parameters under another config of the same shapes (activation swap, FATReLU threshold). */
    public LlamaParams withConfig(ModelConfig c) {
        return new LlamaParams(weights.withConfig(c), params);
    }
}
