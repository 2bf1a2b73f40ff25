package dev.sparsa.model.bert;

import dev.sparsa.SparsaException.FormatException;
import dev.sparsa.SparsaException.UnsupportedException;
import dev.sparsa.io.WeightSource;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Kernels;
import dev.sparsa.tensor.Tensor;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Maps a Hugging Face BERT checkpoint ({@code BertModel} state dict in safetensors, optionally under a
 * {@code bert.} prefix as in BertForMaskedLM etc.) onto {@link BertModel}:
 * <pre>
 *   embeddings.{word,position,token_type}_embeddings.weight, embeddings.LayerNorm.{weight,bias}
 *   encoder.layer.ℓ.attention.self.{query,key,value}.{weight,bias}
 *   encoder.layer.ℓ.attention.output.dense.{weight,bias}, encoder.layer.ℓ.attention.output.LayerNorm.*
 *   encoder.layer.ℓ.intermediate.dense.{weight,bias}
 *   encoder.layer.ℓ.output.dense.{weight,bias},           encoder.layer.ℓ.output.LayerNorm.*
 * </pre>
 * LayerNorm parameters may be named {@code weight/bias} or (older checkpoints) {@code gamma/beta}. PyTorch's
 * {@code nn.Linear.weight} is already {@code [out, in]}, Sparsa's layout, so matrices are used as stored (any dtype
 * the kernels read), copied out of the file so that the model outlives the WeightSource.
 */
final class BertHf {
    private final ModelConfig c;
    private final WeightSource w;
    private final String prefix;
    private final Arena arena = Arena.ofAuto();

    private BertHf(ModelConfig c, WeightSource w) {
        this.c = c;
        this.w = w;
        this.prefix = w.contains("embeddings.word_embeddings.weight") ? ""
                : w.contains("bert.embeddings.word_embeddings.weight") ? "bert." : null;
        if (prefix == null) {
            throw FormatException.of(w.location(), "missing tensor embeddings.word_embeddings.weight (not a BERT "
                    + "checkpoint?)");
        }
    }

    static BertModel load(ModelConfig c, WeightSource w) {
        if (!c.architecture().equals("bert")) {
            throw new UnsupportedException(w.location() + ": a " + c.architecture() + " model, not a BERT encoder");
        }
        return new BertHf(c, w).load();
    }

    private BertModel load() {
        int d = c.hiddenSize();
        int f = c.intermediateSize();
        Tensor word = matrix("embeddings.word_embeddings.weight", c.vocabSize(), d);
        Tensor pos = matrix("embeddings.position_embeddings.weight", c.maxPositions(), d);
        Tensor type = c.typeVocabSize() > 0 ? matrix("embeddings.token_type_embeddings.weight", c.typeVocabSize(), d)
                : null;
        float[][] embLn = norm("embeddings.LayerNorm", d);
        List<BertModel.Layer> layers = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "encoder.layer." + l + ".";
            float[][] ln1 = norm(p + "attention.output.LayerNorm", d);
            float[][] ln2 = norm(p + "output.LayerNorm", d);
            layers.add(new BertModel.Layer(
                    matrix(p + "attention.self.query.weight", d, d), vector(p + "attention.self.query.bias", d),
                    matrix(p + "attention.self.key.weight", d, d), vector(p + "attention.self.key.bias", d),
                    matrix(p + "attention.self.value.weight", d, d), vector(p + "attention.self.value.bias", d),
                    matrix(p + "attention.output.dense.weight", d, d), vector(p + "attention.output.dense.bias", d),
                    ln1[0], ln1[1],
                    matrix(p + "intermediate.dense.weight", f, d), vector(p + "intermediate.dense.bias", f),
                    matrix(p + "output.dense.weight", d, f), vector(p + "output.dense.bias", d),
                    ln2[0], ln2[1]));
        }
        // scaled dot-product attention: softmax(q·k / √d_head)  (Vaswani et al. eq. 1)
        float scale = (float) (1.0 / Math.sqrt(c.headDim()));
        return new BertModel(c, new BertModel.Weights(word, pos, type, embLn[0], embLn[1], List.copyOf(layers), scale));
    }

    private Tensor get(String name) {
        String full = prefix + name;
        if (!w.contains(full)) {
            throw FormatException.of(w.location(), "missing tensor " + full);
        }
        return w.tensor(full);
    }

    private Tensor matrix(String name, int rows, int cols) {
        Tensor t = get(name);
        if (t.rank() != 2 || t.shape()[0] != rows || t.shape()[1] != cols) {
            throw FormatException.of(w.location(), "tensor " + prefix + name + " has shape "
                    + Arrays.toString(t.shape()) + ", config implies [" + rows + ", " + cols + "]");
        }
        return t.copyTo(arena);
    }

    private float[] vector(String name, int n) {
        Tensor t = get(name);
        if (t.rank() != 1 || t.shape()[0] != n) {
            throw FormatException.of(w.location(), "tensor " + prefix + name + " has shape "
                    + Arrays.toString(t.shape()) + ", config implies [" + n + "]");
        }
        return Kernels.toFloats(t);
    }

    /** {γ, β} of a LayerNorm stored as weight/bias or gamma/beta. */
    private float[][] norm(String name, int d) {
        boolean old = !w.contains(prefix + name + ".weight") && w.contains(prefix + name + ".gamma");
        return new float[][]{vector(name + (old ? ".gamma" : ".weight"), d), vector(name + (old ? ".beta" : ".bias"),
                d)};
    }
}
