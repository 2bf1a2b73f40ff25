package dev.sparsa.spec;

/**
 * Architecture hyper-parameters, read from config.json ({@code dev.sparsa.io.ConfigJson}) or GGUF metadata.
 *
 * @param architecture      {@code llama}, {@code mistral}, {@code qwen2} (decoders) or {@code bert} (encoder)
 * @param hiddenSize        D
 * @param intermediateSize  F, the FFN width
 * @param numLayers         L
 * @param numHeads          query heads
 * @param numKvHeads        key/value heads (GQA when &lt; numHeads)
 * @param headDim           per-head dimension (usually D / numHeads)
 * @param vocabSize         V
 * @param maxPositions      maximum sequence length
 * @param normEps           rms_norm_eps (decoders) or layer_norm_eps (BERT)
 * @param ropeTheta         RoPE base
 * @param ropeScaling       llama3-style RoPE scaling, or null
 * @param hiddenAct         FFN activation: silu, gelu, gelu_new, relu, relu2, fatrelu
 * @param fatreluThreshold  T of FATReLU_T (ProSparse step 3); 0 for plain ReLU
 * @param tieWordEmbeddings lm_head shares the token embedding
 * @param attentionBias     q/k/v projections have biases (Qwen2)
 * @param typeVocabSize     BERT token-type vocabulary (0 for decoders)
 * @param bosTokenId        or -1
 * @param eosTokenId        or -1
 * @param reluAfterNorm     a ReLU on the output of every pre-attention and pre-FFN RMSNorm (relufication stage 2,
 *                          "ReLU Strikes Back"); config.json {@code sparsa_relu_after_norm}, false by default
 */
public record ModelConfig(
        String architecture,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int vocabSize,
        int maxPositions,
        float normEps,
        float ropeTheta,
        RopeScaling ropeScaling,
        String hiddenAct,
        float fatreluThreshold,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        int typeVocabSize,
        int bosTokenId,
        int eosTokenId,
        boolean reluAfterNorm) {

    /** Without a ReLU after the norms (every model but a relufied one). */
    public ModelConfig(String architecture, int hiddenSize, int intermediateSize, int numLayers, int numHeads,
                       int numKvHeads, int headDim, int vocabSize, int maxPositions, float normEps, float ropeTheta,
                       RopeScaling ropeScaling, String hiddenAct, float fatreluThreshold, boolean tieWordEmbeddings,
                       boolean attentionBias, int typeVocabSize, int bosTokenId, int eosTokenId) {
        this(architecture, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim, vocabSize,
                maxPositions, normEps, ropeTheta, ropeScaling, hiddenAct, fatreluThreshold, tieWordEmbeddings,
                attentionBias, typeVocabSize, bosTokenId, eosTokenId, false);
    }

    /** Llama-3.1 RoPE frequency scaling ({@code rope_scaling.rope_type == "llama3"}). */
    public record RopeScaling(String type, float factor, float lowFreqFactor, float highFreqFactor,
                              int originalMaxPositions) {
    }

    public boolean isDecoder() {
        return !architecture.equals("bert");
    }

    /** Same config with another FFN activation (ReLU substitution, FATReLU threshold shifting). */
    public ModelConfig withActivation(String act, float threshold) {
        return new ModelConfig(architecture, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                vocabSize, maxPositions, normEps, ropeTheta, ropeScaling, act, threshold, tieWordEmbeddings,
                attentionBias, typeVocabSize, bosTokenId, eosTokenId, reluAfterNorm);
    }

    /** Same config with (or without) a ReLU after the pre-attention and pre-FFN norms (relufication stage 2). */
    public ModelConfig withReluAfterNorm(boolean on) {
        return new ModelConfig(architecture, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                vocabSize, maxPositions, normEps, ropeTheta, ropeScaling, hiddenAct, fatreluThreshold,
                tieWordEmbeddings, attentionBias, typeVocabSize, bosTokenId, eosTokenId, on);
    }

    /** Same config with these BOS / EOS ids (a model trained with its own tokenizer). */
    public ModelConfig withSpecialTokens(int bos, int eos) {
        return new ModelConfig(architecture, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                vocabSize, maxPositions, normEps, ropeTheta, ropeScaling, hiddenAct, fatreluThreshold,
                tieWordEmbeddings, attentionBias, typeVocabSize, bos, eos, reluAfterNorm);
    }
}
