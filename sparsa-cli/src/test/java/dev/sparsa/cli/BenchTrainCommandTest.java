package dev.sparsa.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.io.ConfigJson;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.train.StepProfile;
import dev.sparsa.train.TrainBench;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * {@code sparsa bench-train}: the JSON shape on a tiny config without a peer, the peer's figures and ratio with a
 * stand-in "python" (a shell script that answers as train_torch.py does: no Python at test time), and the bad-input
 * one-liners before any work. No timed assertions.
 */
class BenchTrainCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** 2 layers, hidden 32, vocab 64, context 16: a step takes milliseconds. */
    private Path tinyConfig() {
        Path p = tmp.resolve("config.json");
        ConfigJson.write(new ModelConfig("llama", 32, 48, 2, 4, 2, 8, 64, 16, 1e-5f, 10000f, null, "silu", 0f, false,
                false, 0, 0, 0), p);
        return p;
    }

    private String[] args(String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("bench-train", "--config", tinyConfig().toString(),
                "--batch", "2", "--seq", "8", "--steps", "2", "--warmup", "1", "--threads", "1"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    private static void oneLineError(CliRun r, String... fragments) {
        assertThat(r.code()).as(r.err()).isNotZero();
        assertThat(r.err().strip().lines()).as(r.err()).hasSize(1);
        assertThat(r.err()).contains(fragments);
        assertThat(r.err()).as("fails before any work").doesNotContain("FP32 peak").doesNotContain("step 1");
        assertThat(r.out()).isEmpty();
    }

    /** A stand-in interpreter: {@code -c} (the torch check) prints a version; {@code -} answers one JSON line. */
    private Path fakePython(String checkExit, String runBody) throws IOException {
        Path py = tmp.resolve("fake-python");
        Files.writeString(py, """
                #!/bin/sh
                if [ "$1" = "-c" ]; then
                  %s
                fi
                cat >/dev/null
                echo "$@" > "%s"
                %s
                """.formatted(checkExit, tmp.resolve("args.txt"), runBody));
        Files.setPosixFilePermissions(py, PosixFilePermissions.fromString("rwxr-xr-x"));
        return py;
    }

    @Test
    void jsonWithoutPeerHasTheFiguresAndTheirDefinitions() throws IOException {
        CliRun r = CliRun.of(args("--peer", "none", "--json"));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out().strip().lines()).hasSize(1);
        JsonNode j = JSON.readTree(r.out());
        ModelConfig c = ConfigJson.read(tmp.resolve("config.json"));
        assertThat(j.get("engine").asText()).isEqualTo("sparsa");
        assertThat(j.get("batch").asInt()).isEqualTo(2);
        assertThat(j.get("seq").asInt()).isEqualTo(8);
        assertThat(j.get("threads").asInt()).isEqualTo(1);
        assertThat(j.get("tokensPerStep").asInt()).isEqualTo(16);
        assertThat(j.get("stepSeconds")).hasSize(2);
        assertThat(j.get("flopsPerStep").asDouble()).isEqualTo(TrainBench.flopsPerStep(c, 2, 8));
        double tps = j.get("tokensPerSecond").asDouble();
        double sps = j.get("secondsPerStep").asDouble();
        assertThat(tps).isPositive();
        assertThat(tps).isCloseTo(16 / sps, within(1e-6 * tps));
        double gflops = j.get("gflops").asDouble();
        assertThat(gflops).isCloseTo(j.get("flopsPerStep").asDouble() / sps / 1e9, within(1e-9 * gflops + 1e-12));
        double perCore = Math.max(j.get("peakGflopsPerCoreMeasured").asDouble(),
                j.get("peakGflopsPerCoreNominal").isNull() ? 0 : j.get("peakGflopsPerCoreNominal").asDouble());
        assertThat(j.get("peakGflops").asDouble()).as("one thread").isCloseTo(perCore, within(1e-9));
        assertThat(j.get("peakFraction").asDouble()).isCloseTo(gflops / j.get("peakGflops").asDouble(), within(1e-12));
        assertThat(j.get("peakRssMiB").asDouble()).isPositive();
        assertThat(j.get("allocatedMiBPerStep").asDouble()).isNotNegative();
        assertThat(j.get("firstLoss").asDouble()).isCloseTo(Math.log(64), within(0.1));
        assertThat(j.has("peer")).isFalse();
        assertThat(j.has("ratio")).isFalse();
        assertThat(j.has("profile")).isFalse();
        assertThat(r.err()).contains("FP32 peak").contains("step 1/3 (warm-up)").contains("step 3/3:");
    }

    @Test
    void profileListsEverySectionWithItsShare() throws IOException {
        CliRun r = CliRun.of(args("--peer", "none", "--json", "--profile"));
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode prof = JSON.readTree(r.out()).get("profile");
        assertThat(prof).hasSize(StepProfile.Op.values().length);
        double share = 0;
        for (JsonNode row : prof) {
            assertThat(row.get("msPerStep").asDouble()).isNotNegative();
            share += row.get("fraction").asDouble();
        }
        assertThat(share).isCloseTo(1.0, within(1e-9));
        JsonNode fwd = prof.get(StepProfile.Op.FWD_LAYER.ordinal());
        assertThat(fwd.get("op").asText()).isEqualTo("FWD_LAYER");
        assertThat(fwd.get("msPerLayer")).hasSize(2);
        assertThat(fwd.get("gflops").isNumber()).isTrue();
        assertThat(prof.get(StepProfile.Op.OPTIMIZER.ordinal()).get("gflops").isNull()).isTrue();
        assertThat(fwd.get("allocatedMiBPerStep").asDouble()).isNotNegative();

        CliRun table = CliRun.of(args("--peer", "none", "--profile"));
        assertThat(table.code()).as(table.err()).isZero();
        assertThat(table.out()).contains("| sparsa (Java").contains("Sparsa step profile").contains("bwd  attention (x2)")
                .contains("per layer (ms/step): forward");
    }

    @Test
    void torchPeerRunsWithTheSameSizesAndGivesTheRatio() throws IOException {
        Path py = fakePython("echo 9.9.9; exit 0", """
                echo "  torch step 1/3 (warm-up): fake" >&2
                echo 'not json'
                echo '{"engine": "pytorch", "torch": "9.9.9", "threads": 1, "tokensPerSecond": 1000.0, \
                "secondsPerStep": 0.016, "medianStepSeconds": 0.016, "minStepSeconds": 0.015, "peakRssMiB": 321.5, \
                "firstLoss": 4.1, "lastLoss": 4.0}'
                """);
        CliRun r = CliRun.of(args("--python", py.toString(), "--json", "--seed", "7"));
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = JSON.readTree(r.out());
        JsonNode peer = j.get("peer");
        assertThat(peer.get("tokensPerSecond").asDouble()).isEqualTo(1000.0);
        assertThat(peer.get("peakRssMiB").asDouble()).isEqualTo(321.5);
        assertThat(j.get("ratio").asDouble()).isCloseTo(j.get("tokensPerSecond").asDouble() / 1000.0, within(1e-12));
        double peerGflops = j.get("flopsPerStep").asDouble() * 1000.0 / 16 / 1e9;     // Sparsa's FLOP count
        assertThat(peer.get("gflops").asDouble()).isCloseTo(peerGflops, within(1e-12));
        assertThat(peer.get("peakFraction").asDouble())
                .isCloseTo(peerGflops / j.get("peakGflops").asDouble(), within(1e-12));
        assertThat(r.err()).contains("peer: torch 9.9.9").contains("torch step 1/3 (warm-up): fake");
        String sent = Files.readString(tmp.resolve("args.txt"));
        assertThat(sent).startsWith("- --batch 2 --seq 8 --steps 2 --warmup 1 --threads 1 --seed 7 --config {")
                .contains("\"hidden_size\" : 32").contains("\"vocab_size\" : 64");

        CliRun table = CliRun.of(args("--python", py.toString()));
        assertThat(table.code()).as(table.err()).isZero();
        assertThat(table.out()).contains("| pytorch 9.9.9 (1 threads) | 1000.0 |").contains("ratio sparsa / pytorch: ");
    }

    @Test
    void torchPeerFailuresAreOneLineAndNameTheSetup() throws IOException {
        oneLineError(CliRun.of(args("--python", tmp.resolve("no-such-python").toString())), "--peer torch",
                "no-such-python", "scripts/bench/setup-pytorch.sh", "--peer none");
        Path noTorch = fakePython("echo \"ModuleNotFoundError: No module named 'torch'\"; exit 1", "exit 0");
        oneLineError(CliRun.of(args("--python", noTorch.toString())), "has no usable torch",
                "No module named 'torch'", "apt-get install -y python3-torch libopenblas0-pthread");
        Path crashes = fakePython("echo 1.0; exit 0", "echo 'train_torch.py: out of memory' >&2; exit 3");
        CliRun r = CliRun.of(args("--python", crashes.toString()));
        assertThat(r.code()).isNotZero();
        assertThat(r.out()).isEmpty();
        assertThat(r.err().strip().lines().toList().getLast())
                .isEqualTo("sparsa: PyTorch peer failed (exit 3): train_torch.py: out of memory");
    }

    @Test
    void helpDescribesEveryOption() {
        CliRun h = CliRun.of("bench-train", "--help");
        assertThat(h.code()).isZero();
        assertThat(h.out()).startsWith("Usage: sparsa bench-train").contains("setup-pytorch.sh");
        var spec = new picocli.CommandLine(new Main()).getSubcommands().get("bench-train").getCommandSpec();
        for (var o : spec.options()) {
            assertThat(String.join(" ", o.description())).as(o.longestName()).isNotBlank();
        }
        for (String name : List.of("--batch", "--seq", "--steps", "--warmup", "--threads", "--config", "--json",
                "--peer", "--seed", "--profile")) {
            assertThat(spec.findOption(name)).as(name).isNotNull();
        }
    }

    @Test
    void badNumbersAndConfigsAreOneLineErrors() throws IOException {
        oneLineError(CliRun.of("bench-train", "--batch", "0", "--peer", "none"), "--batch");
        oneLineError(CliRun.of("bench-train", "--seq", "0", "--peer", "none"), "--seq");
        oneLineError(CliRun.of("bench-train", "--steps", "0", "--peer", "none"), "--steps");
        oneLineError(CliRun.of("bench-train", "--warmup", "-1", "--peer", "none"), "--warmup");
        oneLineError(CliRun.of("bench-train", "--threads", "0", "--peer", "none"), "--threads");
        oneLineError(CliRun.of("bench-train", "--batch", "eight"), "--batch", "eight");
        oneLineError(CliRun.of("bench-train", "--seq", "257", "--peer", "none"),
                "--seq 257 exceeds the context of tiny-llama (256 positions)");
        oneLineError(CliRun.of("bench-train", "--config", "micro-llama", "--seq", "300", "--peer", "none"),
                "micro-llama (256 positions)");
        oneLineError(CliRun.of("bench-train", "--config", "huge-llama", "--peer", "none"),
                "--config 'huge-llama' is neither a preset (tiny-llama, micro-llama) nor a config.json file");
        Path bad = Files.writeString(tmp.resolve("bad.json"), "{\"model_type\": \"llama\"}");
        oneLineError(CliRun.of("bench-train", "--config", bad.toString(), "--peer", "none"), "bad.json", "hidden_size");
        Path bert = Files.writeString(tmp.resolve("bert.json"), """
                {"model_type": "bert", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                 "num_attention_heads": 2, "vocab_size": 50}""");
        oneLineError(CliRun.of("bench-train", "--config", bert.toString(), "--peer", "none"), "not a decoder");
        oneLineError(CliRun.of("bench-train", "--peer", "jax"), "--peer must be torch or none");
    }
}
