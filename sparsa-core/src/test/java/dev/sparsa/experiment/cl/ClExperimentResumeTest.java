package dev.sparsa.experiment.cl;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.experiment.Runs;
import dev.sparsa.io.SafetensorsFile;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.Continual;
import dev.sparsa.train.Trainer;
import dev.sparsa.train.method.ClTiny;
import dev.sparsa.train.method.Clnp;
import dev.sparsa.train.method.SparCl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Mid-sequence resume on a 3-task sequence of the tiny ReLU Llama: a run killed between two tasks, or inside a task,
 * and resumed from its per-stage checkpoint gives results.json bit for bit as the uninterrupted run (wall times
 * aside), continuing from the checkpoint (it takes fewer steps) rather than starting over; resuming with another
 * option or model is a one-line error naming it; a kill leaves no half-written file.
 */
class ClExperimentResumeTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int SEQ = 8;

    @TempDir
    Path tmp;

    /** A kill: thrown from the progress events of one run, at a given stage start or step. */
    static final class Killed extends RuntimeException {
        Killed(String where) {
            super("killed " + where);
        }
    }

    /** Counts the steps taken, and kills run {@code id} at the start of stage {@code label} or at step {@code at}. */
    static final class Killer implements Runs.Listener {
        final String id;
        final String label;
        final int at;
        String current;
        final Map<String, Integer> steps = new java.util.HashMap<>();
        final List<String> said = new ArrayList<>();

        Killer(String id, String label, int at) {
            this.id = id;
            this.label = label;
            this.at = at;
        }

        @Override
        public void onRunStart(int index, int total, String run, int planned, double elapsed, double eta) {
            current = run;
        }

        @Override
        public void onStart(int firstStep, int planned, long params, String what) {
            if (what.equals(id + " " + label)) {
                throw new Killed("before " + what);
            }
        }

        @Override
        public void onStep(Trainer.StepLog s) {
            steps.merge(current, 1, Integer::sum);
            if (id.equals(current) && s.step() == at) {
                throw new Killed(id + " at step " + s.step());
            }
        }

        @Override
        public void say(String message) {
            said.add(message);
        }
    }

    static List<TaskSequence.Task> tasks() {
        List<TaskSequence.Task> ts = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            ts.add(new TaskSequence.Task("t" + k, "g" + k, ClTiny.stream(10 + k, 40),
                    EvalWindows.of(ClTiny.stream(20 + k, 12), SEQ)));
        }
        return ts;
    }

    static ClExperiment.Options options(float lr, boolean resume) {
        return new ClExperiment.Options(6, 2, 2, 1, 2, SEQ, lr, 1, 0.1f, 0.3, 7, false, resume);
    }

    static Supplier<Continual> method(String name) {
        return name.equals("clnp") ? () -> new Clnp(0.01f, 0.05, 0.5, 0.3, 3)
                : () -> new SparCl(0.5, 2, 0.2, 1, 0.8, new double[]{0.25});
    }

    static ClResults run(String name, ModelConfig cfg, ClExperiment.Options o, Path out, Runs.Listener l) {
        try (Parallel par = new Parallel(1)) {
            return new ClExperiment(name, cfg, "tiny", "given", tasks(), o, method(name), name.equals("sparcl"),
                    Map.of("m", name), out, l).run(par);
        }
    }

    /** results.json's text without the wall times. */
    static String withoutSeconds(ClResults r) {
        ObjectNode j = JSON.valueToTree(r);
        j.remove("seconds");
        j.get("runs").forEach(x -> ((ObjectNode) x).remove("seconds"));
        return j.toString();
    }

    static List<Path> files(Path out) throws Exception {
        try (Stream<Path> s = Files.walk(out)) {
            return s.filter(Files::isRegularFile).toList();
        }
    }

    void resumesBitIdentical(String name, Killer kill, int stepsBeforeCheckpoint) throws Exception {
        Killer quiet = new Killer("", "", -1);
        ClResults whole = run(name, ClTiny.CFG, options(0.01f, false), tmp.resolve(name + "-whole"), quiet);
        Path out = tmp.resolve(name + "-killed");
        assertThatThrownBy(() -> run(name, ClTiny.CFG, options(0.01f, false), out, kill)).isInstanceOf(Killed.class);
        Path ckpt = out.resolve("runs").resolve(kill.id + ".stage.safetensors");
        assertThat(ckpt).isRegularFile();
        assertThat(files(out)).as("nothing half-written").allMatch(f -> !f.getFileName().toString().endsWith(".tmp"));
        assertThat(out.resolve("runs").resolve(kill.id + ".json")).doesNotExist();

        Killer again = new Killer("", "", -1);
        ClResults resumed = run(name, ClTiny.CFG, options(0.01f, true), out, again);
        assertThat(withoutSeconds(resumed)).isEqualTo(withoutSeconds(whole));
        assertThat(again.said).anyMatch(s -> s.startsWith(kill.id + ": resumed after stage"));
        ClResults.Run r = resumed.runs().stream().filter(x -> x.id().equals(kill.id)).findFirst().orElseThrow();
        assertThat(again.steps.get(kill.id)).as("the killed run continued from its checkpoint")
                .isEqualTo(r.steps() - stepsBeforeCheckpoint);
        String[] before = resumed.runs().stream().map(ClResults.Run::id).takeWhile(id -> !id.equals(kill.id))
                .toArray(String[]::new);
        assertThat(again.steps).as("the runs before it came from their files").doesNotContainKeys(before);
        assertThat(ckpt).as("removed once every run is saved").doesNotExist();
    }

    @Test
    void clnpKilledBetweenTasksResumesToTheSameBits() throws Exception {
        // stage t1 of the method run never starts: the checkpoint holds t0
        int perStage = 2 * (6 / 2);
        resumesBitIdentical("clnp", new Killer("clnp", "t1", -1), perStage);
    }

    @Test
    void sparclKilledInsideATaskResumesFromTheStageBefore() throws Exception {
        // DDR drops a quarter of t0's windows before its epoch 2 (6 → 5 windows → 2 steps): t0 takes 3 + 2 steps;
        // killed at step 7, inside t1: resumed from after t0
        resumesBitIdentical("sparcl", new Killer("sparcl", "", 7), 3 + 2);
    }

    @Test
    void replayKilledInsideTheLastTaskResumesFromTheStageBefore() throws Exception {
        // the replay baseline (its buffer is in the checkpoint): killed in t2 at step 14, resumed after t1 (step 12)
        resumesBitIdentical("clnp", new Killer("replay", "", 14), 12);
    }

    @Test
    void resumingWithAnotherOptionOrModelNamesWhatDiffers() throws Exception {
        Path out = tmp.resolve("mismatch");
        assertThatThrownBy(() -> run("clnp", ClTiny.CFG, options(0.01f, false), out, new Killer("sequential", "t1",
                -1))).isInstanceOf(Killed.class);
        Path ckpt = out.resolve("runs").resolve("sequential.stage.safetensors");
        byte[] before = Files.readAllBytes(ckpt);
        assertThatThrownBy(() -> run("clnp", ClTiny.CFG, options(0.02f, true), out, new Killer("", "", -1)))
                .isInstanceOf(SparsaException.UsageException.class)
                .hasMessageContaining("sequential.stage.safetensors: made with other options or another model")
                .hasMessageContaining("--lr is 0.01 there, 0.02 now")
                .hasMessageNotContaining("\n");
        ModelConfig wider = ClTiny.CFG.withActivation("relu", 0.5f);
        assertThatThrownBy(() -> run("clnp", wider, options(0.01f, true), out, new Killer("", "", -1)))
                .isInstanceOf(SparsaException.UsageException.class)
                .hasMessageContaining("the model (config) differs")
                .hasMessageNotContaining("\n");
        assertThat(Files.readAllBytes(ckpt)).as("a refused resume changes nothing").isEqualTo(before);
        try (SafetensorsFile st = SafetensorsFile.open(ckpt)) {
            assertThat(st.stringMetadata()).containsEntry("format", StageCheckpoint.FORMAT).containsEntry("run.lr",
                    "0.01");
        }
    }
}
