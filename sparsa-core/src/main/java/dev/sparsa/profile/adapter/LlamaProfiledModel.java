package dev.sparsa.profile.adapter;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.NextTokenLoss;
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
 * A Llama-family decoder as a {@link ProfiledModel}: each window runs as one sequence through a batched prefill, as
 * the evaluation protocol says (no BOS added: windows come from {@code Windows.decoder}, documents separated by EOS);
 * the output is the NLL of tokens 1..n-1 given the ones before them ({@link NextTokenLoss}).
 */
public final class LlamaProfiledModel extends AdapterBase {
    private final LlamaModel model;
    private final Parallel par;

    public LlamaProfiledModel(String name, LlamaModel model, Tokenizer tok, int context, Parallel par) {
        super(name, model.config(), tok, model.config().maxPositions() > 0
                ? Math.min(context, model.config().maxPositions()) : context);
        this.model = model;
        this.par = par;
    }

    /** A Hugging Face directory / safetensors / GGUF with a tokenizer.json beside it; windows of 256 tokens. */
    public static LlamaProfiledModel open(Path path, Parallel par) {
        return open(path, par, files -> LlamaModel.load(files.config(), files.weights()));
    }

    /** As {@link #open(Path, Parallel)}, the model made from the files by {@code loader} (e.g. in a sparse mode). */
    public static LlamaProfiledModel open(Path path, Parallel par,
                                          java.util.function.Function<ModelFiles, LlamaModel> loader) {
        ModelFiles files = ModelFiles.open(path); // mmap'd; stays open for the life of the process
        if (!files.config().isDecoder()) {
            throw new SparsaException.UnsupportedException(path + ": model_type " + files.config().architecture()
                    + " is not a Llama-family decoder");
        }
        if (files.tokenizerJson() == null) {
            throw SparsaException.FormatException.of(path, "no tokenizer.json beside the weights");
        }
        return new LlamaProfiledModel(path.getFileName().toString(), loader.apply(files),
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

    /** The model's eos_token_id (config.json / GGUF), else the tokenizer's EOS, else -1. */
    @Override
    public int eosId() {
        if (config.eosTokenId() >= 0) {
            return config.eosTokenId();
        }
        return tok == null ? -1 : tok.eosId();
    }

    @Override
    public Output forward(int[] ids, ActivationTap tap) {
        KvCache cache = model.newCache(ids.length);
        float[] logits = model.forward(cache, ids, true, tap, par);
        double[] nll = new double[Math.max(0, ids.length - 1)];
        NextTokenLoss.nll(logits, model.config().vocabSize(), ids, ids.length, nll, par);
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
