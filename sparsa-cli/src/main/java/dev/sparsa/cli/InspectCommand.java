package dev.sparsa.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sparsa.SparsaException;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.onnx.OnnxModel;
import dev.sparsa.model.bert.BertModel;
import dev.sparsa.spec.ModelConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code sparsa inspect}: a model's format, architecture and every tensor. An {@code .onnx} file lists its
 * initializers, with the architecture when the graph is a BERT encoder ({@link BertModel#describeOnnx}).
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Show a model's format, architecture (config) and tensors (name, dtype, shape, bytes). "
                + "For an .onnx file: its initializers, and the architecture when the graph is a BERT encoder.")
public final class InspectCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "Model directory (config.json + safetensors), .safetensors, .gguf or .onnx file.")
    Path model;

    @Option(names = "--json", description = "Print JSON instead of text.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** One tensor line. */
    public record TensorRow(String name, String dtype, long[] shape, long params, long bytes) {
    }

    /**
     * What {@code --json} prints. {@code config} is null for an ONNX graph that is not a BERT encoder; then
     * {@code architectureNote} says why.
     */
    public record Report(String location, String format, ModelConfig config, String architectureNote,
                         List<TensorRow> tensors, long params, long bytes) {
    }

    @Override
    public Integer call() throws Exception {
        Report r = isOnnx(model) ? inspectOnnx(model) : inspectModel(model);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(r));
        } else {
            print(out, r);
        }
        out.flush();
        return 0;
    }

    static boolean isOnnx(Path p) {
        return p.getFileName() != null && p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".onnx");
    }

    /** A model ModelFiles opens: HF directory, .safetensors or .gguf. */
    private static Report inspectModel(Path model) {
        try (ModelFiles m = ModelFiles.open(model, true)) {
            List<TensorRow> rows = new ArrayList<>();
            for (ModelFiles.TensorMeta t : m.describeAll()) {
                long[] shape = Arrays.stream(t.shape()).asLongStream().toArray();
                rows.add(new TensorRow(t.name(), t.dtypeName(), shape, numel(shape), t.bytes()));
            }
            return report(model, m.format(), m.config(), null, rows);
        }
    }

    /** Every initializer of an ONNX file (whatever its type), and the BERT architecture when the graph is one. */
    private static Report inspectOnnx(Path model) {
        try (OnnxModel onnx = OnnxModel.open(model)) {
            List<TensorRow> rows = new ArrayList<>();
            for (OnnxModel.OnnxTensor t : onnx.initializers().values()) {
                long n = t.numel();
                rows.add(new TensorRow(t.name(), OnnxModel.typeName(t.dataType()), t.dims().clone(), n,
                        t.data() == null ? 0 : t.data().byteSize()));
            }
            ModelConfig config = null;
            String note = null;
            try {
                config = BertModel.describeOnnx(onnx);
            } catch (SparsaException e) {
                // Not a graph Sparsa can run as BERT: still a valid ONNX file whose initializers are listed.
                note = e.getMessage().startsWith(model + ": ") ? e.getMessage().substring(model.toString().length() + 2)
                        : e.getMessage();
            }
            return report(model, "onnx", config, note, rows);
        }
    }

    private static Report report(Path model, String format, ModelConfig config, String note, List<TensorRow> rows) {
        long params = 0;
        long bytes = 0;
        for (TensorRow t : rows) {
            params += t.params();
            bytes += t.bytes();
        }
        return new Report(model.toString(), format, config, note, rows, params, bytes);
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    private static void print(PrintWriter out, Report r) {
        ModelConfig c = r.config();
        out.printf("model:   %s%nformat:  %s%n", r.location(), r.format());
        if (c == null) {
            out.printf("arch:    unknown (%s)%n", r.architectureNote());
        } else if (c.architecture().equals("bert")) {
            out.printf("arch:    bert  hidden %d  ffn %d  layers %d  heads %d (dim %d)  vocab %d  ctx %d"
                            + "  token types %d%n         act %s  norm eps %s%n", c.hiddenSize(), c.intermediateSize(),
                    c.numLayers(), c.numHeads(), c.headDim(), c.vocabSize(), c.maxPositions(), c.typeVocabSize(),
                    c.hiddenAct(), c.normEps());
        } else {
            printDecoder(out, c);
        }
        printTensors(out, r);
    }

    private static void printDecoder(PrintWriter out, ModelConfig c) {
        out.printf("arch:    %s  hidden %d  ffn %d  layers %d  heads %d (kv %d, dim %d)  vocab %d  ctx %d%n",
                c.architecture(), c.hiddenSize(), c.intermediateSize(), c.numLayers(), c.numHeads(), c.numKvHeads(),
                c.headDim(), c.vocabSize(), c.maxPositions());
        out.printf("         act %s%s  norm eps %s  rope theta %s%s  tied embeddings %s  attention bias %s%n",
                c.hiddenAct(), c.hiddenAct().equals("fatrelu") ? " (T=" + c.fatreluThreshold() + ")" : "",
                c.normEps(), c.ropeTheta(), c.ropeScaling() != null ? " (" + c.ropeScaling().type() + " x"
                        + c.ropeScaling().factor() + ")" : "", c.tieWordEmbeddings(), c.attentionBias());
    }

    private static void printTensors(PrintWriter out, Report r) {
        int w = 4;
        for (TensorRow t : r.tensors()) {
            w = Math.max(w, t.name().length());
        }
        int dw = 5;
        for (TensorRow t : r.tensors()) {
            dw = Math.max(dw, t.dtype().length());
        }
        out.printf("%n%-" + w + "s  %-" + dw + "s  %-20s  %14s%n", "name", "dtype", "shape", "bytes");
        for (TensorRow t : r.tensors()) {
            out.printf("%-" + w + "s  %-" + dw + "s  %-20s  %,14d%n", t.name(), t.dtype(), Arrays.toString(t.shape()),
                    t.bytes());
        }
        out.printf("%n%d tensors, %,d parameters, %,d bytes (%.1f MiB)%n", r.tensors().size(), r.params(), r.bytes(),
                r.bytes() / 1048576.0);
    }
}
