package dev.sparsa.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code sparsa pretrain} killed with SIGKILL ({@link Process#destroyForcibly()}) in a child JVM after a checkpoint,
 * then {@code --resume}d, ends with the same bytes as an uninterrupted run: model.safetensors, config.json, the
 * last checkpoint (weights and AdamW moments) and the step lines of train-log.jsonl (but their timings).
 */
class TrainKillResumeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern CKPT = Pattern.compile("step-(\\d{8})\\.safetensors");
    private static final String[] RUN = {"--steps", "12", "--checkpoint-every", "2"};

    @TempDir
    Path tmp;

    @Test
    void killedMidRunAndResumedEqualsAnUninterruptedRun() throws Exception {
        TrainFixture f = new TrainFixture(tmp.resolve("in"));
        Path killed = tmp.resolve("killed");
        Path err = tmp.resolve("child.err");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // the test JVM's own flags (--add-modules jdk.incubator.vector, --enable-native-access, -Xmx, -Xss)
        ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> !a.startsWith("-javaagent") && !a.startsWith("-agentlib")).forEach(cmd::add);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(f.pretrain(killed, RUN)));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(err.toFile()).start();
        int killedAfter;
        int newestCheckpoint;
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (true) {
                OptionalInt ck = newestCheckpoint(killed);
                int logged = loggedSteps(killed);
                if (ck.isPresent() && logged > ck.getAsInt()) {
                    newestCheckpoint = ck.getAsInt();
                    killedAfter = logged;
                    break;
                }
                assertThat(child.isAlive()).as("the child ended before it could be killed:%n%s", read(err)).isTrue();
                assertThat(System.nanoTime()).as("no checkpoint in time:%n%s", read(err)).isLessThan(deadline);
                Thread.sleep(2);
            }
            assertThat(child.isAlive()).as("still running when killed").isTrue();
        } finally {
            child.destroyForcibly();                                // SIGKILL on Linux
        }
        assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(child.exitValue()).as("killed by a signal").isNotZero();
        assertThat(killed.resolve("model.safetensors")).as("the run did not finish").doesNotExist();
        assertThat(killedAfter).isLessThan(12);

        CliRun resumed = CliRun.of(f.pretrain(killed, cat(RUN, "--resume")));
        assertThat(resumed.code()).as(resumed.err()).isZero();
        // the newest checkpoint when it was killed, or the one the child was writing in that instant
        Matcher m = Pattern.compile("resumed from \\S+step-(\\d{8})\\.safetensors").matcher(resumed.err());
        assertThat(m.find()).as(resumed.err()).isTrue();
        assertThat(Integer.parseInt(m.group(1))).isBetween(newestCheckpoint, newestCheckpoint + 2);

        Path whole = tmp.resolve("whole");
        CliRun ref = CliRun.of(f.pretrain(whole, RUN));
        assertThat(ref.code()).as(ref.err()).isZero();

        for (String file : List.of("model.safetensors", "config.json", "tokenizer.json",
                "checkpoints/step-00000012.safetensors")) {
            assertThat(TrainFixture.sha256(Files.readAllBytes(killed.resolve(file)))).as("SHA-256 of %s", file)
                    .isEqualTo(TrainFixture.sha256(Files.readAllBytes(whole.resolve(file))));
        }
        assertThat(checkpoints(killed)).containsExactly(8, 10, 12).isEqualTo(checkpoints(whole));
        try (Stream<Path> s = Files.list(killed.resolve("checkpoints"))) {
            assertThat(s.map(p -> p.getFileName().toString())).as("no temp file left")
                    .allMatch(n -> !n.endsWith(".tmp"));
        }
        List<JsonNode> a = stepLines(killed);
        assertThat(a).hasSize(12).isEqualTo(stepLines(whole));
        assertThat(a.getLast().get("step").asInt()).isEqualTo(12);

        // --resume of a finished run trains nothing, says so, and writes the same model again
        CliRun again = CliRun.of(f.pretrain(killed, cat(RUN, "--resume")));
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.err()).contains("the run had finished (step 12 of 12)").doesNotContain("steps 13..");
        assertThat(TrainFixture.sha256(Files.readAllBytes(killed.resolve("model.safetensors"))))
                .isEqualTo(TrainFixture.sha256(Files.readAllBytes(whole.resolve("model.safetensors"))));
        assertThat(stepLines(killed)).isEqualTo(stepLines(whole));
    }

    static String[] cat(String[] a, String... b) {
        String[] r = new String[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private static OptionalInt newestCheckpoint(Path out) {
        List<Integer> c = checkpoints(out);
        return c.isEmpty() ? OptionalInt.empty() : OptionalInt.of(c.getLast());
    }

    static List<Integer> checkpoints(Path out) {
        Path d = out.resolve("checkpoints");
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.filter(Files::isRegularFile).map(p -> CKPT.matcher(p.getFileName().toString()))
                    .filter(Matcher::matches)
                    .map(x -> Integer.parseInt(x.group(1))).sorted().toList();
        } catch (IOException e) {
            return List.of();                                       // listed while the child renames
        }
    }

    // the number of complete step lines in the log (0 while it does not exist)
    private static int loggedSteps(Path out) {
        try {
            String log = Files.readString(out.resolve("train-log.jsonl"), StandardCharsets.UTF_8);
            return (int) log.lines().filter(l -> l.startsWith("{\"step\"") && l.endsWith("}")).count();
        } catch (IOException e) {
            return 0;
        }
    }

    /** The step lines of train-log.jsonl without their wall-clock fields. */
    static List<JsonNode> stepLines(Path out) throws IOException {
        List<JsonNode> r = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("train-log.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.has("ce")) {
                ((ObjectNode) n).remove(List.of("tokensPerSecond", "seconds"));
                r.add(n);
            }
        }
        return r;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "(no output)";
        }
    }
}
