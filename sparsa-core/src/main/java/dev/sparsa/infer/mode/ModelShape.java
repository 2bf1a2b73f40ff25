package dev.sparsa.infer.mode;

import dev.sparsa.io.WeightSource;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a calibration file says about the model it was made for: the shape fields a calibration depends on and a
 * fingerprint of the weights. A file whose shape differs belongs to another model; one whose fingerprint differs is
 * stale (the weights changed since calibration).
 *
 * @param fingerprint SHA-256 (hex) over, for the projection matrices of every layer in order, the tensor's name, dtype,
 *                    shape and 256 evenly spaced 64-byte samples of its data (the first and last bytes included):
 *                    about 16 KiB per matrix, cheap at every load; retraining, re-quantizing or converting changes
 *                    it (they change every weight), an edit of a few weights outside the samples does not
 */
public record ModelShape(String architecture, int hiddenSize, int intermediateSize, int numLayers, int numHeads,
                         int numKvHeads, int headDim, int vocabSize, String hiddenAct, float fatreluThreshold,
                         String fingerprint) {

    private static final int SAMPLES = 256;
    private static final int SAMPLE_BYTES = 64;

    /** The shape of {@code cfg} with the fingerprint of {@code weights}. */
    public static ModelShape of(ModelConfig cfg, WeightSource weights) {
        return new ModelShape(cfg.architecture(), cfg.hiddenSize(), cfg.intermediateSize(), cfg.numLayers(),
                cfg.numHeads(), cfg.numKvHeads(), cfg.headDim(), cfg.vocabSize(),
                cfg.hiddenAct() == null ? "silu" : cfg.hiddenAct(), cfg.fatreluThreshold(), fingerprint(cfg, weights));
    }

    /** The fields as (name, value) in the order files list them (without the fingerprint). */
    public Map<String, Object> fields() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architecture", architecture);
        m.put("hidden_size", hiddenSize);
        m.put("intermediate_size", intermediateSize);
        m.put("num_hidden_layers", numLayers);
        m.put("num_attention_heads", numHeads);
        m.put("num_key_value_heads", numKvHeads);
        m.put("head_dim", headDim);
        m.put("vocab_size", vocabSize);
        m.put("hidden_act", hiddenAct);
        m.put("fatrelu_threshold", fatreluThreshold);
        return m;
    }

    /** The first field in which {@code other} differs, as "name X, this model has Y", or null when the shapes agree. */
    public String firstDifference(ModelShape other) {
        Map<String, Object> a = fields();
        Map<String, Object> b = other.fields();
        for (String k : a.keySet()) {
            if (!a.get(k).equals(b.get(k))) {
                return k + " " + a.get(k) + ", this model has " + b.get(k);
            }
        }
        return null;
    }

    static String fingerprint(ModelConfig cfg, WeightSource w) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        String[] names = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"};
        for (int l = 0; l < cfg.numLayers(); l++) {
            for (String n : names) {
                String name = "model.layers." + l + "." + n + ".weight";
                if (!w.contains(name)) {
                    continue;                                    // LlamaWeights reports missing tensors
                }
                Tensor t = w.tensor(name);
                md.update((name + " " + t.dtype() + " " + java.util.Arrays.toString(t.shape()))
                        .getBytes(StandardCharsets.UTF_8));
                MemorySegment s = t.data();
                long size = s.byteSize();
                long chunk = Math.min(SAMPLE_BYTES, size);
                for (int i = 0; i < SAMPLES; i++) {
                    long at = SAMPLES == 1 ? 0 : (size - chunk) * i / (SAMPLES - 1);
                    md.update(s.asSlice(at, chunk).toArray(ValueLayout.JAVA_BYTE));
                }
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
