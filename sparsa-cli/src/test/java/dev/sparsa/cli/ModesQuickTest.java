package dev.sparsa.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.eval.EvalGolden;
import dev.sparsa.experiment.ProSparseCache;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code sparsa bench --modes dense,exact,cats,predicted --quick}: its own quality models (the eval golden's tiny dense
 * SiLU model in place of the micro-llama, and a ProSparse sparsify of it trained and cached under {@code --cache}),
 * calibrated in-process once, speed on its small synthetic models: the table and JSON hold every mode with finite
 * figures in range (not speed claims); a second run trains and calibrates nothing; bad input is one line.
 */
class ModesQuickTest {
    @TempDir
    static Path tmp;
    static Path silu;
    static Path relu;
    static String text;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void models() {
        EvalGolden g = EvalGolden.load();
        silu = g.writeModelDir("silu", tmp.resolve("silu"));
        relu = g.writeModelDir("relu", tmp.resolve("relu"));
        text = g.text.toString();
    }

    static CliRun quick(Path cache, Path json, String... more) {
        List<String> a = new ArrayList<>(List.of("bench", "--modes", "dense,exact,cats,predicted", "--quick",
                "--quality-model", silu.toString(), "--quality-text", text, "--calibrate-text", text, "--cache",
                cache.toString(), "--ctx", "64", "--threads", "2", "--reps", "1", "--decode-tokens", "8",
                "--prompt-tokens", "8", "--bandwidth-mib", "8", "--json", json.toString()));
        a.addAll(List.of(more));
        return CliRun.of(a.toArray(String[]::new));
    }

    @Test
    void theWholeTableWithItsOwnModels() throws Exception {
        Path cache = tmp.resolve("cache");
        Path json = tmp.resolve("quick.json");
        CliRun r = quick(cache, json);
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("ProSparse of silu", "sparsified silu-prosparse", "calibrate: ");
        // the ProSparse model cached under the spec's hash, with its summary
        Path models = cache.resolve("models");
        Path ps;
        try (var s = Files.list(models)) {
            List<Path> all = s.filter(p -> !p.getFileName().toString().startsWith(".")).toList();
            assertThat(all).hasSize(1);
            ps = all.getFirst();
        }
        assertThat(ps.getFileName().toString()).matches("silu-prosparse-[0-9a-f]{8}");
        assertThat(ps).isEqualTo(ProSparseCache.location(cache, silu, ProSparseCache.Spec.quick("silu-prosparse",
                128)));
        JsonNode sum = JSON.readTree(ps.resolve(ProSparseCache.SUMMARY).toFile());
        assertThat(sum.get("activation").asText()).isIn("relu", "fatrelu");
        assertThat(sum.get("steps").asInt()).isEqualTo(60);
        assertThat(sum.get("base").get("model").asText()).isEqualTo("silu");
        assertThat(ps.resolve("sparsa-calibration-predicted.safetensors")).isRegularFile();
        assertThat(silu.resolve("sparsa-calibration-cats.safetensors")).isRegularFile();

        // the table: every mode, dense first (one dense row per speed model), finite figures in range
        assertThat(r.out()).contains("| mode | speed model | prefill tok/s | decode tok/s", "| dense | quick-tiny-",
                "| exact | quick-tiny-fatrelu90 |", "| cats | quick-tiny-silu |", "| predicted | quick-tiny-fatrelu90 |",
                "replayed on these weights");
        JsonNode root = JSON.readTree(json.toFile());
        assertThat(root.get("schema").asText()).isEqualTo(ModesBench.SCHEMA);
        assertThat(root.get("command").asText()).contains("--quick");
        JsonNode rows = root.get("rows");
        List<String> modes = new ArrayList<>();
        rows.forEach(x -> modes.add(x.get("mode").asText()));
        assertThat(modes).containsExactly("dense", "dense", "exact", "cats", "predicted");
        for (JsonNode x : rows) {
            String m = x.get("mode").asText();
            for (String f : new String[] {"decode_speedup", "prefill_speedup", "ideal_speedup", "bits_per_byte",
                "dense_bits_per_byte", "bytes_per_token"}) {
                assertThat(x.get(f)).as(m + " " + f).isNotNull();
                assertThat(x.get(f).asDouble()).as(m + " " + f).isFinite().isPositive();
            }
            assertThat(x.get("sparsity").asDouble()).as(m).isBetween(0.0, 1.0);
            assertThat(x.get("bits_per_byte").asDouble()).as(m).isBetween(0.1, 20.0);
            assertThat(x.get("decode_tok_s").get("median").asDouble()).as(m).isPositive();
            String q = m.equals("exact") || m.equals("predicted") ? ps.getFileName().toString() : "silu";
            assertThat(x.get("quality_model").asText()).as(m).isEqualTo(q);
            if (!m.equals("dense")) {
                assertThat(x.get("bits_per_byte_delta").asDouble()).as(m).isFinite().isGreaterThan(-0.5);
                assertThat(x.get("greedy_agreement").asDouble()).as(m).isBetween(0.0, 1.0);
                assertThat(x.get("fraction_of_ideal").asDouble()).as(m).isFinite().isPositive();
            }
        }
        JsonNode exact = rows.get(2);
        assertThat(exact.get("greedy_agreement").asDouble()).as("exact skips exact zeros").isEqualTo(1.0);
        assertThat(exact.get("quality_sparsity").asDouble()).as("ProSparse made zeros").isGreaterThan(0.3);
        assertThat(rows.get(4).get("quality_recall").asDouble()).isBetween(0.5, 1.0);

        // a second run: the models and calibrations from the cache
        CliRun again = quick(cache, tmp.resolve("again.json"));
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.err()).contains("cached silu-prosparse").doesNotContain("ProSparse of", "calibrate: ");
        assertThat(again.out()).doesNotContain("in-process");
    }

    @Test
    void badQuickInputIsOneLine() {
        Path cache = tmp.resolve("unused");
        String[][] cases = {
            {"bench", "--quick"},
            {"bench", "--modes", "cats", "--quick", "--model", silu.toString()},
            {"bench", "--modes", "cats", "--quick", "--quality-model", relu.toString(), "--cache", cache.toString()},
            {"bench", "--modes", "cats", "--quick", "--quality-model", silu.toString(), "--quality-model",
                relu.toString(), "--cache", cache.toString()},
            {"bench", "--modes", "magic", "--quick", "--cache", cache.toString()},
            {"bench", "--modes", "cats"},
        };
        String[] expect = {"--quick is for --modes", "--quick brings its own models", "dense SiLU/GELU",
            "at most one", "--modes: unknown mode 'magic'", "--model is required"};
        for (int i = 0; i < cases.length; i++) {
            CliRun r = CliRun.of(cases[i]);
            assertThat(r.code()).as(String.join(" ", cases[i])).isEqualTo(2);
            assertThat(r.err().strip()).as(r.err()).startsWith("sparsa: ").contains(expect[i]).doesNotContain("\n");
        }
        assertThat(cache).as("nothing trained or cached on bad input").doesNotExist();
    }
}
