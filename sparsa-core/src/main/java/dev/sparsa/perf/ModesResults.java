package dev.sparsa.perf;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;

/**
 * The results of {@code sparsa bench --modes} / {@code bench-e2e --modes} (docs/sparse-modes.md): one {@link Row}
 * per mode, speed and quality side by side, and bench-e2e's llama.cpp reference row. Null fields do not apply and are
 * left out of the JSON; {@code sparsa report} re-renders the HTML from this JSON alone.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ModesResults(String schema, String date, int threads,
                           @JsonProperty("bandwidth_gb_s") Double bandwidth,
                           @JsonProperty("speed_model") String speedModel,
                           @JsonProperty("prompt_tokens") int promptTokens,
                           @JsonProperty("decode_tokens") int decodeTokens, int reps,
                           @JsonProperty("quality_corpus") String qualityCorpus,
                           @JsonProperty("quality_tokens") long qualityTokens,
                           List<Row> rows,
                           BenchRow reference) {
    /** The {@code schema} field. */
    public static final String SCHEMA = "sparsa-bench-modes/1";

    /**
     * One mode: its speed (on the speed model) and its quality cost (on its quality model). Null fields do not
     * apply (the dense row has no Δ, a mode without a quality model no quality).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Row(String mode,
                      @JsonProperty("speed_model") String speedModel,
                      String dtype,
                      @JsonProperty("prefill_tok_s") Stats prefill,
                      @JsonProperty("decode_tok_s") Stats decode,
                      @JsonProperty("prefill_speedup") Double prefillSpeedup,
                      @JsonProperty("decode_speedup") Double decodeSpeedup,
                      Double sparsity,
                      @JsonProperty("bytes_per_token") Double bytesPerToken,
                      @JsonProperty("ideal_speedup") Double idealSpeedup,
                      @JsonProperty("fraction_of_ideal") Double fractionOfIdeal,
                      Double recall,
                      @JsonProperty("speed_activations") String speedActivations,
                      @JsonProperty("quality_model") String qualityModel,
                      @JsonProperty("bits_per_byte") Double bitsPerByte,
                      @JsonProperty("dense_bits_per_byte") Double denseBitsPerByte,
                      @JsonProperty("bits_per_byte_delta") Double bitsPerByteDelta,
                      @JsonProperty("quality_sparsity") Double qualitySparsity,
                      @JsonProperty("greedy_agreement") Double agreement,
                      @JsonProperty("agreement_tokens") Integer agreementTokens,
                      @JsonProperty("quality_recall") Double qualityRecall,
                      List<String> notes) {
    }

    /** The same run with a reference row (llama.cpp dense Q8_0 from bench-e2e). */
    public ModesResults withReference(BenchRow ref) {
        return new ModesResults(schema, date, threads, bandwidth, speedModel, promptTokens, decodeTokens, reps,
                qualityCorpus, qualityTokens, rows, ref);
    }
}
