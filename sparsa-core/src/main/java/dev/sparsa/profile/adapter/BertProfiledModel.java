package dev.sparsa.profile.adapter;

import dev.sparsa.io.Fetch;
import dev.sparsa.SparsaException.UsageException;
import dev.sparsa.io.onnx.Encoders;
import dev.sparsa.io.tokenizer.Limits;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;
import dev.sparsa.model.ActivationTap;
import dev.sparsa.model.bert.BertModel;
import dev.sparsa.profile.ProfiledModel;
import dev.sparsa.tensor.Parallel;

import java.util.List;

/**
 * A BERT encoder as a {@link ProfiledModel}: each window runs as {@code [CLS] ids [SEP]}; the output is the
 * sentence embedding (masked mean of the last hidden states, L2-normalized, as sentence-transformers does for
 * all-MiniLM-L6-v2). The taps see every position, the special tokens included.
 */
public final class BertProfiledModel extends AdapterBase {
    private final BertModel model;
    private final Parallel par;
    private final int cls;
    private final int sep;

    public BertProfiledModel(String name, BertModel model, Tokenizer tok, int context, Parallel par) {
        super(name, model.config(), tok, Math.min(context, model.config().maxPositions() - 2));
        this.model = model;
        this.par = par;
        int[] special = tok.encode("", true);
        this.cls = special.length == 2 ? special[0] : -1;
        this.sep = special.length == 2 ? special[1] : -1;
    }

    /** all-MiniLM-L6-v2, fetched into the cache; windows of 126 content tokens (128 with CLS and SEP). */
    public static BertProfiledModel miniLm(Fetch fetch, Parallel par) {
        return open(Encoders.resolve("minilm", null, fetch), par);
    }

    /**
     * The encoder {@code e} names, windows as long as its tokenizer.json's truncation allows ({@code max_length}
     * less [CLS] and [SEP]: 126 for all-MiniLM-L6-v2), else as its positions allow (510 for e5-small-v2).
     */
    public static BertProfiledModel open(Encoders.Resolved e, Parallel par) {
        return open(e, par, 0, msg -> { });
    }

    /**
     * As {@link #open(Encoders.Resolved, Parallel)}, with windows of {@code maxLength} tokens, the special tokens
     * included, when it is positive (a {@code --max-length} override; at most the model's positions, at least one
     * content token), else the tokenizer's truncation; {@code notice} is told the window and where it comes from.
     */
    public static BertProfiledModel open(Encoders.Resolved e, Parallel par, int maxLength,
                                         java.util.function.Consumer<String> notice) {
        if (e.tokenizer() == null) {
            throw new UsageException(e.model() + ": no tokenizer.json (or " + Encoders.name(e.model())
                    + "-tokenizer.json) beside the encoder");
        }
        BertModel m = BertModel.open(e.model());
        Tokenizer tok = TokenizerJson.load(e.tokenizer());
        Limits lim = Limits.of(e.tokenizer());
        int[] sp = Limits.specials(tok, "a");
        int positions = m.config().maxPositions();
        if (maxLength > positions) {
            throw new UsageException("--max-length " + maxLength + " exceeds " + e.name() + "'s " + positions
                    + " positions");
        }
        if (maxLength > 0 && maxLength <= sp[0] + sp[1]) {
            throw new UsageException("--max-length " + maxLength + " leaves no room for text beside the "
                    + (sp[0] + sp[1]) + " special tokens");
        }
        String why = maxLength > 0 ? "--max-length" : lim.maxLength() > 0 ? "the truncation max_length of "
                + e.tokenizer().getFileName() + " (--max-length to change)"
                : "the model's max_position_embeddings (--max-length to change)";
        int max = maxLength > 0 ? maxLength : lim.maxLength() > 0 ? Math.min(lim.maxLength(), positions) : positions;
        int window = max - sp[0] - sp[1];
        notice.accept(e.name() + ": windows of " + window + " tokens (" + max + " with " + (sp[0] + sp[1])
                + " special tokens), " + why);
        return new BertProfiledModel(e.name(), m, tok, window, par);
    }

    /** The encoder itself. */
    public BertModel model() {
        return model;
    }

    /** A window as the encoder runs it: {@code [CLS] ids [SEP]} (ids alone when the tokenizer adds none). */
    public int[] wrap(int[] ids) {
        if (cls < 0) {
            return ids;
        }
        int[] seq = new int[ids.length + 2];
        seq[0] = cls;
        System.arraycopy(ids, 0, seq, 1, ids.length);
        seq[ids.length + 1] = sep;
        return seq;
    }

    @Override
    public boolean isDecoder() {
        return false;
    }

    @Override
    public int numLayers() {
        return model.config().numLayers();
    }

    @Override
    public float[] downColumns(int layer) {
        // W_out is [D, F] ([out, in]); d_i is its column i → row i of the transpose.
        return DownColumns.of(model.weights().layers().get(layer).wOut(), hiddenSize(), intermediateSize());
    }

    @Override
    public Output forward(int[] ids, ActivationTap tap) {
        float[][] hidden = model.forward(BertModel.Batch.of(List.of(wrap(ids))), tap, par);
        return new Output.Embedding(BertModel.l2Normalize(BertModel.meanPool(hidden[0], null, hiddenSize())));
    }
}
