package dev.sparsa.cli;

import dev.sparsa.io.TinyModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static dev.sparsa.cli.TrainFixture.with;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bad input to {@code sparsa pretrain} and {@code sparsa sparsify}, each refused before any work: a non-zero exit,
 * exactly one line on stderr naming the option or file and the problem, nothing on stdout, and no --out folder.
 *
 * <p>"A wrong number of λs" is an empty {@code --lambdas} or one that is not a list of numbers (picocli refuses it
 * naming the option); a list of any positive length is a staged schedule of that many stages, and {@code --steps}
 * disagreeing with stages × {@code --stage-steps} is refused.
 */
class TrainBadInputTest {
    @TempDir
    static Path tmp;
    static TrainFixture f;
    static Path model;
    static Path bert;

    @BeforeAll
    static void inputs() throws IOException {
        f = new TrainFixture(tmp.resolve("in"));
        model = tmp.resolve("model");
        CliRun r = CliRun.of(f.pretrain(model, "--steps", "1", "--checkpoint-every", "0"));
        assertThat(r.code()).as(r.err()).isZero();
        bert = TinyModels.bertStub(tmp.resolve("bert"));
        Files.copy(f.tokenizer, bert.resolve("tokenizer.json"));
    }

    record Case(String name, String[] args, String... fragments) {
    }

    static int outs;

    static Path out() {
        return tmp.resolve("out" + outs++);
    }

    static List<Case> cases() throws IOException {
        List<Case> cs = new ArrayList<>();
        Path o = out();
        String[] p = f.pretrain(o, "--steps", "2");
        String[] s = f.sparsify(model, o, "--method", "prosparse", "--stage-steps", "1", "--lambdas", "0.1,0.2",
                "--fatrelu-threshold", "0");
        Path shortText = Files.writeString(tmp.resolve("short.txt"), "Too short.\n");
        Path plain = Files.writeString(tmp.resolve("plain.txt"), "not a folder");
        for (String cmd : List.of("pretrain", "sparsify")) {
            String[] a = cmd.equals("pretrain") ? p : s;
            cs.add(new Case(cmd + ": batch 0", with(a, "--batch", "0"), "--batch must be >= 1, got 0"));
            cs.add(new Case(cmd + ": seq 0", with(a, "--seq", "0"), "--seq must be >= 1, got 0"));
            cs.add(new Case(cmd + ": seq beyond the context", with(a, "--seq", "65"), "--seq 65 exceeds",
                    "max positions 64"));
            cs.add(new Case(cmd + ": micro-batches not dividing the batch", with(a, "--micro-batches", "3"),
                    "--micro-batches must divide --batch 4, got 3"));
            cs.add(new Case(cmd + ": corpus shorter than a window", with(a, "--text", shortText.toString()),
                    "short.txt: ", "tokens is shorter than one training window of 17 tokens"));
            cs.add(new Case(cmd + ": lr 0", with(a, "--lr", "0"), "--lr must be a positive number, got 0.0"));
            cs.add(new Case(cmd + ": negative warmup", with(a, "--warmup", "-1"), "--warmup must be >= 0"));
            cs.add(new Case(cmd + ": unknown schedule", with(a, "--schedule", "linear"),
                    "--schedule: 'linear' is not constant or cosine"));
            cs.add(new Case(cmd + ": dtype", with(a, "--dtype", "q8_0"), "--dtype: 'q8_0' is not bf16 or f32"));
            cs.add(new Case(cmd + ": no such text", with(a, "--text", tmp.resolve("absent.txt").toString()),
                    "absent.txt", "no such file"));
            cs.add(new Case(cmd + ": --out under a file", with(a, "--out", plain.resolve("sub").toString()),
                    "--out ", "plain.txt/sub: cannot create it: Not a directory"));
            cs.add(new Case(cmd + ": --out is a file", with(a, "--out", plain.toString()),
                    "--out", "plain.txt exists and is not a directory"));
            cs.add(new Case(cmd + ": resume without a checkpoint", TrainKillResumeTest.cat(a, "--resume"),
                    "--resume: no checkpoint under"));
            cs.add(new Case(cmd + ": --threads 0", with(a, "--threads", "0"), "--threads must be >= 1"));
        }
        cs.add(new Case("pretrain: steps 0", with(p, "--steps", "0"), "--steps must be >= 1, got 0"));
        cs.add(new Case("pretrain: a BERT config", with(p, "--config", bert.resolve("config.json").toString()),
                "config.json: pretrain builds Llama-family decoders, not bert"));
        cs.add(new Case("pretrain: unknown preset", with(p, "--config", "huge-llama"),
                "unknown model preset 'huge-llama'"));
        cs.add(new Case("pretrain: init-std 0", with(p, "--init-std", "0"), "--init-std must be positive"));
        Path small = Files.writeString(tmp.resolve("small.json"), TrainFixture.CONFIG.replace("\"vocab_size\": 512",
                "\"vocab_size\": 100"));
        cs.add(new Case("pretrain: tokenizer larger than the vocabulary", with(p, "--config", small.toString()),
                "the tokenizer has 512 tokens, more than the config's vocab_size 100"));
        cs.add(new Case("sparsify: unknown method", with(s, "--method", "magic"),
                "--method: unknown method 'magic' (prosparse, relu, relu2, relufy, drelu, lte)"));
        cs.add(new Case("sparsify: negative lambda", with(s, "--lambdas", "0.1,-0.2"),
                "--lambdas: every λ must be a finite number >= 0"));
        cs.add(new Case("sparsify: NaN lambda", with(s, "--lambdas", "NaN"), "--lambdas: every λ must be a finite"));
        cs.add(new Case("sparsify: empty lambdas", with(s, "--lambdas", ""), "--lambdas"));
        cs.add(new Case("sparsify: lambdas not numbers", with(s, "--lambdas", "0.1,lots"), "--lambdas", "'lots'"));
        cs.add(new Case("sparsify: zero-length stage", with(s, "--stage-steps", "0"), "--stage-steps must be >= 1"));
        cs.add(new Case("sparsify: steps disagreeing with the stages", with(s, "--steps", "5"),
                "prosparse runs 2 stages of --stage-steps 1 = 2 steps; --steps 5 disagrees"));
        cs.add(new Case("sparsify: a BERT model", with(s, "--model", bert.toString()),
                "sparsify trains Llama-family decoders", "this is bert"));
        cs.add(new Case("sparsify: no such model", with(s, "--model", tmp.resolve("nowhere").toString()),
                "nowhere", "no such file or directory"));
        for (String m : List.of("relu2", "drelu", "relu")) {
            cs.add(new Case("sparsify: --fatrelu-threshold on " + m, with(with(s, "--method", m), "--steps", "2"),
                    "--fatrelu-threshold applies to prosparse only (" + m + " has no threshold shifting)"));
        }
        cs.add(new Case("sparsify: threshold not a number", with(s, "--fatrelu-threshold", "high"),
                "--fatrelu-threshold: 'high' is not a number or auto"));
        cs.add(new Case("sparsify: negative threshold", with(s, "--fatrelu-threshold", "-0.5"),
                "--fatrelu-threshold must be >= 0 or auto"));
        cs.add(new Case("sparsify: auto threshold without validation", with(s, "--fatrelu-threshold", "auto"),
                "--fatrelu-threshold auto needs validation text"));
        cs.add(new Case("sparsify: distill out of range", with(s, "--distill", "1.5"), "--distill must be in [0, 1]"));
        cs.add(new Case("sparsify: missing --method", without(s, "--method"), "--method"));
        return cs;
    }

    static String[] without(String[] args, String option) {
        List<String> a = new ArrayList<>(List.of(args));
        int i = a.indexOf(option);
        a.remove(i + 1);
        a.remove(i);
        return a.toArray(String[]::new);
    }

    @TestFactory
    Stream<DynamicTest> everyBadInputIsOneLineAndWritesNothing() throws IOException {
        return cases().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            Path o = Path.of(c.args()[List.of(c.args()).indexOf("--out") + 1]);
            boolean existed = Files.exists(o);
            Map<String, String> before = TrainFixture.snapshot(o);
            CliRun r = CliRun.of(c.args());
            assertThat(r.code()).as("exit code; stderr: %s", r.err()).isNotZero();
            assertThat(r.err().lines().toList()).as("stderr").hasSize(1);
            assertThat(r.err()).startsWith("sparsa: ").contains(c.fragments()).doesNotContain("Exception",
                    "internal error");
            assertThat(r.out()).isEmpty();
            if (existed) {
                assertThat(TrainFixture.snapshot(o)).isEqualTo(before);
            } else {
                assertThat(o).as("--out").doesNotExist();
            }
        }));
    }
}
