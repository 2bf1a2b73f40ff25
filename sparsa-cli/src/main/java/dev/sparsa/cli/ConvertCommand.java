package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.io.GgufExport;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.tensor.DType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code sparsa convert}: a Llama-family model to a llama.cpp-compatible GGUF file. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Convert a Llama-family model (HF directory, .safetensors or .gguf) to a GGUF file llama.cpp"
                + " can load. Norms and biases stay F32; matrices get --type.")
public final class ConvertCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "PATH", description = "Model to convert.")
    Path model;

    @Option(names = "--out", required = true, paramLabel = "FILE.gguf", description = "GGUF file to write (atomically).")
    Path out;

    @Option(names = "--type", defaultValue = "f16", paramLabel = "TYPE",
            description = "Weight type: f32, f16, bf16, q8_0, q4_0 (default: ${DEFAULT-VALUE}).")
    String type;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    static DType parseType(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "f32" -> DType.F32;
            case "f16" -> DType.F16;
            case "bf16" -> DType.BF16;
            case "q8_0" -> DType.Q8_0;
            case "q4_0" -> DType.Q4_0;
            default -> throw new SparsaException.UsageException("--type: unknown type '" + s
                    + "' (expected f32, f16, bf16, q8_0 or q4_0)");
        };
    }

    @Override
    public Integer call() throws Exception {
        DType t = parseType(type);
        PrintWriter err = spec.commandLine().getErr();
        long t0 = System.nanoTime();
        try (ModelFiles m = ModelFiles.open(model)) {
            GgufExport.write(m, out, t, line -> {
                err.println("sparsa: convert " + line);
                err.flush();
            });
        }
        PrintWriter o = spec.commandLine().getOut();
        o.printf("wrote %s (%s, %,d bytes) in %.1f s%n", out, t, Files.size(out), (System.nanoTime() - t0) / 1e9);
        o.flush();
        return 0;
    }
}
