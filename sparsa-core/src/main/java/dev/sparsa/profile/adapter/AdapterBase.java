package dev.sparsa.profile.adapter;

import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.profile.ProfiledModel;
import dev.sparsa.spec.ModelConfig;

/** What the {@link ProfiledModel} adapters share: name, config-derived FFN shape, context length and tokenizer. */
abstract sealed class AdapterBase implements ProfiledModel permits BertProfiledModel, LlamaProfiledModel {
    final String name;
    final ModelConfig config;
    final Tokenizer tok;
    final int context;

    AdapterBase(String name, ModelConfig config, Tokenizer tok, int context) {
        this.name = name;
        this.config = config;
        this.tok = tok;
        this.context = context;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String activation() {
        return config.hiddenAct();
    }

    @Override
    public int hiddenSize() {
        return config.hiddenSize();
    }

    @Override
    public int intermediateSize() {
        return config.intermediateSize();
    }

    @Override
    public int contextLength() {
        return context;
    }

    @Override
    public Tokenizer tokenizer() {
        return tok;
    }
}
