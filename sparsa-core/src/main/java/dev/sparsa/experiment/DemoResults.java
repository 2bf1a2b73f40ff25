package dev.sparsa.experiment;

import dev.sparsa.profile.ProfileResults;

import java.util.List;
import java.util.Map;

/**
 * The {@code results.json} of {@code sparsa demo} (schema {@value #SCHEMA}, docs/demo-results.md): the MiniLM
 * profile (schema {@code sparsa.profile/1}, as {@code sparsa profile} writes it) and the Llama story
 * ({@link ProSparseDemo.Results}).
 *
 * @param stageSeconds wall time of each part of the demo, in order
 * @param seconds      wall time of the whole demo
 * @param cpuSeconds   CPU time of the process over the demo (all threads; ≈ wall time × threads on a quiet
 *                     machine)
 */
public record DemoResults(String schema, ProfileResults minilm, ProSparseDemo.Results llama,
                          Map<String, Double> stageSeconds, double seconds, double cpuSeconds, int threads,
                          List<String> notes) {
    public static final String SCHEMA = "sparsa.demo/1";
}
