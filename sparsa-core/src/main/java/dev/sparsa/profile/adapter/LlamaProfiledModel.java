package dev.sparsa.profile.adapter;

import dev.sparsa.SparsaException;
import dev.sparsa.io.MapWeights;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.RandomWeights;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.llama.KvCache;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.profile.ProfiledModel;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Parallel;

import java.lang.foreign.Arena;
import java.nio.file.Path;

/**
 * A Llama-family decoder as a {@link ProfiledModel}: each window runs as one sequence (BOS first when the tokenizer
 * has one) through a batched prefill; the output is the NLL of every content token given the ones before it (the
 * first content token is predicted from BOS; without BOS it is not predicted).
 */
public final class LlamaProfiledModel extends AdapterBase {
    private final LlamaModel model;
    private final Parallel par;

    public LlamaProfiledModel(String name, LlamaModel model, Tokenizer tok, int context, Parallel par) {
        super(name, model.config(), tok, Math.min(context, model.config().maxPositions() - 1));
        this.model = model;
        this.par = par;
    }

    /** A Hugging Face directory / safetensors / GGUF with a tokenizer.json beside it; windows of 256 tokens. */
    public static LlamaProfiledModel open(Path path, Parallel par) {
        ModelFiles files = ModelFiles.open(path); // mmap'd; stays open for the life of the process
        if (!files.config().isDecoder()) {
            throw new SparsaException.UnsupportedException(path + ": model_type " + files.config().architecture()
                    + " is not a Llama-family decoder");
        }
        if (files.tokenizerJson() == null) {
            throw SparsaException.FormatException.of(path, "no tokenizer.json beside the weights");
        }
        return new LlamaProfiledModel(path.getFileName().toString(), LlamaModel.load(files.config(), files.weights()),
                TokenizerJson.load(files.tokenizerJson()), 256, par);
    }

    @Override
    public boolean isDecoder() {
        return true;
    }

    @Override
    public int numLayers() {
        return model.numLayers();
    }

    @Override
    public float[] downColumns(int layer) {
        return DownColumns.of(model.ffn(layer).weights().down(), hiddenSize(), intermediateSize()); // [D, F]
    }

    @Override
    public Output forward(int[] ids, ActivationTap tap) {
        int bos = tok == null ? -1 : tok.bosId();
        int[] seq;
        if (bos >= 0) {
            seq = new int[ids.length + 1];
            seq[0] = bos;
            System.arraycopy(ids, 0, seq, 1, ids.length);
        } else {
            seq = ids;
        }
        KvCache cache = model.newCache(seq.length);
        float[] logits = model.forward(cache, seq, true, tap, par);
        int v = model.config().vocabSize();
        double[] nll = new double[seq.length - 1];
        for (int t = 0; t + 1 < seq.length; t++) {
            int off = t * v;
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < v; i++) {
                max = Math.max(max, logits[off + i]);
            }
            double s = 0;
            for (int i = 0; i < v; i++) {
                s += Math.exp(logits[off + i] - max);
            }
            nll[t] = max + Math.log(s) - logits[off + seq[t + 1]];
        }
        return new Output.Nll(nll);
    }

    /**
     * A Llama shape with random weights ({@link RandomWeights#decoder}: F32, standard deviation 0.02, norms 1), for
     * throughput benchmarks only: no tokenizer, so it is fed token ids directly. {@code llama100m()} is D = 768,
     * F = 2048, 12 layers, 12 heads, V = 32000 (~110 M parameters, tied embeddings), SwiGLU.
     */
    public static LlamaProfiledModel random(ModelConfig cfg, long seed, int context, Parallel par) {
        MapWeights w = RandomWeights.decoder(cfg, DType.F32, seed, Arena.ofAuto());
        return new LlamaProfiledModel("random Llama shape (D=" + cfg.hiddenSize() + ", F=" + cfg.intermediateSize()
                + ", L=" + cfg.numLayers() + ")", LlamaModel.load(cfg, w), null, context, par);
    }

    /** ~110 M parameters: D 768, F 2048, 12 layers, 12 heads, V 32000, tied embeddings, SwiGLU. */
    public static ModelConfig llama100m() {
        return new ModelConfig("llama", 768, 2048, 12, 12, 12, 64, 32000, 2048, 1e-5f, 10000f, null, "silu", 0f,
                true, false, 0, 1, 2);
    }
}
