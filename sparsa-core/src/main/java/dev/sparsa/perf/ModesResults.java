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

    /**
     * The first dense row's decode read rate (bytes per token × tok/s) as a share of the run's read probe, or null
     * without a probe or a dense row with bytes. Well below 1 dense decode is not bandwidth-bound on this machine,
     * and the bytes ideal of a mode is no ceiling: skipping rows skips their work too.
     */
    public Double denseReadShare() {
        if (bandwidth == null || !(bandwidth > 0)) {
            return null;
        }
        for (Row x : rows) {
            if (x.mode().equals("dense") && x.bytesPerToken() != null && x.decode() != null) {
                return x.bytesPerToken() * x.decode().median() / 1e9 / bandwidth;
            }
        }
        return null;
    }

    /** Below this {@link #denseReadShare} the tables say that dense is not bandwidth-bound. */
    public static final double BANDWIDTH_BOUND_SHARE = 0.6;

    /** The line the tables print about {@link #denseReadShare}, or null when there is none. */
    public String bandwidthNote() {
        Double share = denseReadShare();
        if (share == null) {
            return null;
        }
        String s = String.format(java.util.Locale.ROOT, "dense decode reads %.1f GB/s, %.0f%% of the read probe "
                + "(%.1f GB/s)", share * bandwidth, 100 * share, bandwidth);
        return share < BANDWIDTH_BOUND_SHARE ? s + ": not bandwidth-bound on this machine, so a mode can beat its "
                + "bytes ideal (skipping a row skips its work as well as its bytes)" : s;
    }

    /** The same run with a reference row (llama.cpp dense Q8_0 from bench-e2e). */
    public ModesResults withReference(BenchRow ref) {
        return new ModesResults(schema, date, threads, bandwidth, speedModel, promptTokens, decodeTokens, reps,
                qualityCorpus, qualityTokens, rows, ref);
    }
}
