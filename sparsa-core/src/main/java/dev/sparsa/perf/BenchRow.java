package dev.sparsa.perf;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One benchmarked configuration: one row of the table and of the {@code --json} output of {@code sparsa bench} and
 * {@code bench-e2e}. Optional figures are null (and left out of the JSON) where they do not apply.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record BenchRow(String engine, String model, String dtype, String ffn, int threads,
                       @JsonProperty("prompt_tokens") int promptTokens,
                       @JsonProperty("decode_tokens") int decodeTokens,
                       @JsonProperty("prefill_tok_s") Stats prefill,
                       @JsonProperty("decode_tok_s") Stats decode,
                       @JsonProperty("bytes_per_token") Double bytesPerToken,
                       @JsonProperty("gb_s") Double gbPerSecond,
                       @JsonProperty("fraction_of_bandwidth") Double fractionOfBandwidth,
                       @JsonProperty("active_fraction") Double activeFraction,
                       @JsonProperty("ideal_speedup") Double idealSpeedup,
                       Double recall,
                       String note) {

    /** Fills in GB/s and the fraction of {@code bandwidth} from the decode median and bytes per token. */
    public BenchRow withBandwidth(double bandwidthGBs) {
        if (bytesPerToken == null || decode == null) {
            return this;
        }
        double gbs = bytesPerToken * decode.median() / 1e9;
        return new BenchRow(engine, model, dtype, ffn, threads, promptTokens, decodeTokens, prefill, decode,
                bytesPerToken, gbs, gbs / bandwidthGBs, activeFraction, idealSpeedup, recall, note);
    }

    public BenchRow withBytes(double bytes, Double active, Double ideal, Double recall, String note) {
        return new BenchRow(engine, model, dtype, ffn, threads, promptTokens, decodeTokens, prefill, decode, bytes,
                gbPerSecond, fractionOfBandwidth, active, ideal, recall, note);
    }
}
