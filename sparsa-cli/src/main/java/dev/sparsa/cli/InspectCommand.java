package dev.sparsa.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.model.ModelConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code sparsa inspect}: a model's format, architecture and every tensor. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Show a model's format, architecture (config) and tensors (name, dtype, shape, bytes).")
public final class InspectCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "Model directory (config.json + safetensors), .safetensors file or .gguf file.")
    Path model;

    @Option(names = "--json", description = "Print JSON instead of text.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** One tensor line. */
    public record TensorRow(String name, String dtype, int[] shape, long params, long bytes) {
    }

    /** What {@code --json} prints. */
    public record Report(String location, String format, ModelConfig config, List<TensorRow> tensors, long params,
                         long bytes) {
    }

    @Override
    public Integer call() throws Exception {
        Report r;
        try (ModelFiles m = ModelFiles.open(model, true)) {
            List<TensorRow> rows = new ArrayList<>();
            long params = 0;
            long bytes = 0;
            for (ModelFiles.TensorMeta t : m.describeAll()) {
                long n = 1;
                for (int d : t.shape()) {
                    n *= d;
                }
                rows.add(new TensorRow(t.name(), t.dtypeName(), t.shape(), n, t.bytes()));
                params += n;
                bytes += t.bytes();
            }
            r = new Report(model.toString(), m.format(), m.config(), rows, params, bytes);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(r));
        } else {
            print(out, r);
        }
        out.flush();
        return 0;
    }

    private static void print(PrintWriter out, Report r) {
        ModelConfig c = r.config();
        out.printf("model:   %s%nformat:  %s%n", r.location(), r.format());
        out.printf("arch:    %s  hidden %d  ffn %d  layers %d  heads %d (kv %d, dim %d)  vocab %d  ctx %d%n",
                c.architecture(), c.hiddenSize(), c.intermediateSize(), c.numLayers(), c.numHeads(), c.numKvHeads(),
                c.headDim(), c.vocabSize(), c.maxPositions());
        out.printf("         act %s%s  norm eps %s  rope theta %s%s  tied embeddings %s  attention bias %s%n",
                c.hiddenAct(), c.hiddenAct().equals("fatrelu") ? " (T=" + c.fatreluThreshold() + ")" : "",
                c.normEps(), c.ropeTheta(), c.ropeScaling() != null ? " (" + c.ropeScaling().type() + " x"
                        + c.ropeScaling().factor() + ")" : "", c.tieWordEmbeddings(), c.attentionBias());
        int w = 4;
        for (TensorRow t : r.tensors()) {
            w = Math.max(w, t.name().length());
        }
        out.printf("%n%-" + w + "s  %-5s  %-20s  %14s%n", "name", "dtype", "shape", "bytes");
        for (TensorRow t : r.tensors()) {
            out.printf("%-" + w + "s  %-5s  %-20s  %,14d%n", t.name(), t.dtype(), Arrays.toString(t.shape()),
                    t.bytes());
        }
        out.printf("%n%d tensors, %,d parameters, %,d bytes (%.1f MiB)%n", r.tensors().size(), r.params(), r.bytes(),
                r.bytes() / 1048576.0);
    }
}
