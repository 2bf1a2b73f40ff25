package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.perf.Synth;
import dev.sparsa.tensor.DType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code sparsa synth}: a random-weight Llama model at a realistic shape, for benchmarks. */
@Command(name = "synth", mixinStandardHelpOptions = true,
        description = {"Write a random-weight Llama model (safetensors + config.json + tokenizer.json, optionally a GGUF)"
                + " with Sparsa's own writers, for benchmarks. Weights: std 0.02, norms 1. Not a trained model.",
                "With --act fatrelu the threshold is calibrated on random tokens so that --sparsity of the gate entries"
                        + " are zeroed: a synthetic stand-in for a ProSparse model."})
public final class SynthCommand implements Callable<Integer> {

    @Option(names = "--shape", defaultValue = "tinyllama",
            description = "Model shape: tinyllama (D 2048, 22 layers, F 5632, 32/4 heads, V 32000), small, tiny "
                    + "(default ${DEFAULT-VALUE}).")
    String shape;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory to write (created).")
    Path out;

    @Option(names = "--dtype", defaultValue = "bf16", description = "safetensors dtype: bf16, f16, f32 (default ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--gguf", paramLabel = "TYPE", description = "Also write model.TYPE.gguf: q8_0, q4_0, f16, f32.")
    String gguf;

    @Option(names = "--act", defaultValue = "silu", description = "FFN activation: silu, relu, fatrelu (default ${DEFAULT-VALUE}).")
    String act;

    @Option(names = "--sparsity", defaultValue = "0.9",
            description = "fatrelu: fraction of gate entries to zero (default ${DEFAULT-VALUE}).")
    double sparsity;

    @Option(names = "--seed", defaultValue = "1", description = "Weight seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--force", description = "Rewrite even if a complete model with the same options is there.")
    boolean force;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    static Synth.Shape shape(String name) {
        Synth.Shape s = Synth.SHAPES.get(name);
        if (s == null) {
            throw new SparsaException.UsageException("--shape: unknown shape '" + name + "' (" +
                    String.join(", ", Synth.SHAPES.keySet()) + ")");
        }
        return s;
    }

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        Synth.Options o = new Synth.Options(shape(shape), ConvertCommand.parseType(dtype),
                gguf == null ? null : ConvertCommand.parseType(gguf), act, sparsity, seed);
        java.util.function.Consumer<String> log = line -> {
            err.println(line);
            err.flush();
        };
        Synth.Result r = force ? Synth.write(o, out, log) : Synth.ensure(o, out, log);
        PrintWriter p = spec.commandLine().getOut();
        p.printf("%s%s%s%n", r.dir(), r.gguf() == null ? "" : " " + r.gguf(),
                r.config().hiddenAct().equals("fatrelu") ? String.format(" (fatrelu T=%.4f, %.3f zero on calibration "
                        + "tokens)", r.config().fatreluThreshold(), r.calibratedSparsity()) : "");
        p.flush();
        return 0;
    }
}
