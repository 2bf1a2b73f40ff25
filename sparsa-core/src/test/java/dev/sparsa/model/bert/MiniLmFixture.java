package dev.sparsa.model.bert;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.sparsa.io.onnx.OnnxModel;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The real all-MiniLM-L6-v2 from the langchain4j test dependency, loaded once per test JVM: the ONNX bytes, Sparsa's
 * {@link BertModel} built from them, ONNX Runtime's session over the same bytes (the independent reference) and the
 * Hugging Face tokenizer (through DJL) for token ids.
 */
final class MiniLmFixture {
    static final String MODEL = "/all-minilm-l6-v2.onnx";
    static final String TOKENIZER = "/all-minilm-l6-v2-tokenizer.json";

    /** The dynamic-int8 all-MiniLM-L6-v2 (langchain4j's -q artifact). */
    static final String MINILM_Q = "/all-minilm-l6-v2-q.onnx";
    static final String MINILM_Q_TOKENIZER = "/all-minilm-l6-v2-q-tokenizer.json";
    /** The dynamic-int8 e5-small-v2 (langchain4j's -q artifact, 12 layers). */
    static final String E5_Q = "/e5-small-v2-q.onnx";
    static final String E5_Q_TOKENIZER = "/e5-small-v2-q-tokenizer.json";

    private static final Map<String, MiniLmFixture> INSTANCES = new java.util.HashMap<>();

    final byte[] modelBytes;
    final OnnxModel onnx;
    final BertModel model;
    final OrtEnvironment env;
    final OrtSession session;
    final HuggingFaceTokenizer tokenizer;
    final Tokenizer sparsaTokenizer;

    private MiniLmFixture(String modelRes, String tokRes) throws IOException, OrtException {
        modelBytes = resource(modelRes);
        onnx = OnnxModel.parse(modelRes.substring(1), modelBytes);
        model = BertModel.fromOnnx(onnx);
        env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        opts.setIntraOpNumThreads(1);
        session = env.createSession(modelBytes, opts);
        Path dir = Files.createTempDirectory("sparsa-minilm");
        Path tok = dir.resolve("tokenizer.json");
        Files.write(tok, resource(tokRes));
        tokenizer = HuggingFaceTokenizer.builder().optTokenizerPath(tok).optPadding(false).optTruncation(false)
                .build();
        sparsaTokenizer = TokenizerJson.load(tok);
        tok.toFile().deleteOnExit();
        dir.toFile().deleteOnExit();
    }

    static MiniLmFixture get() {
        return of(MODEL, TOKENIZER);
    }

    /** The encoder in classpath resource {@code model} with its tokenizer, loaded once per test JVM. */
    static synchronized MiniLmFixture of(String model, String tokenizer) {
        MiniLmFixture f = INSTANCES.get(model);
        if (f == null) {
            try {
                f = new MiniLmFixture(model, tokenizer);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (OrtException e) {
                throw new IllegalStateException(e);
            }
            INSTANCES.put(model, f);
        }
        return f;
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = MiniLmFixture.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException(name + " is not on the test classpath (a langchain4j embeddings jar)");
            }
            return in.readAllBytes();
        }
    }

    /** Token ids with [CLS] … [SEP] from the Hugging Face tokenizer. */
    int[] ids(String text) {
        Encoding e = tokenizer.encode(text);
        long[] ids = e.getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /** Right-pads the sequences with [PAD] = 0 to the longest; mask 1 on tokens, 0 on padding. */
    static BertModel.Batch padded(int[]... seqs) {
        int t = 0;
        for (int[] s : seqs) {
            t = Math.max(t, s.length);
        }
        int[][] ids = new int[seqs.length][t];
        int[][] mask = new int[seqs.length][t];
        int[][] types = new int[seqs.length][t];
        for (int b = 0; b < seqs.length; b++) {
            System.arraycopy(seqs[b], 0, ids[b], 0, seqs[b].length);
            java.util.Arrays.fill(mask[b], 0, seqs[b].length, 1);
        }
        return new BertModel.Batch(ids, mask, types);
    }

    /** ONNX Runtime's last_hidden_state for a rectangular batch: out[b] is T × 384, row-major. */
    float[][] reference(BertModel.Batch batch) throws OrtException {
        int nb = batch.size();
        int t = batch.ids()[0].length;
        long[][] ids = new long[nb][t];
        long[][] mask = new long[nb][t];
        long[][] types = new long[nb][t];
        for (int b = 0; b < nb; b++) {
            if (batch.ids()[b].length != t) {
                throw new IllegalArgumentException("ONNX Runtime needs a rectangular batch");
            }
            for (int i = 0; i < t; i++) {
                ids[b][i] = batch.ids()[b][i];
                mask[b][i] = batch.mask() == null ? 1 : batch.mask()[b][i];
                types[b][i] = batch.typeIds() == null ? 0 : batch.typeIds()[b][i];
            }
        }
        try (OnnxTensor a = OnnxTensor.createTensor(env, ids);
             OnnxTensor m = OnnxTensor.createTensor(env, mask);
             OnnxTensor y = OnnxTensor.createTensor(env, types);
             OrtSession.Result r = session.run(Map.of("input_ids", a, "attention_mask", m, "token_type_ids", y))) {
            float[][][] h = (float[][][]) r.get(0).getValue();
            float[][] out = new float[nb][];
            for (int b = 0; b < nb; b++) {
                int d = h[b][0].length;
                out[b] = new float[t * d];
                for (int i = 0; i < t; i++) {
                    System.arraycopy(h[b][i], 0, out[b], i * d, d);
                }
            }
            return out;
        }
    }

    /**
     * How far two runs of the same forward may differ: not at all. Kernels split only over output rows and sum in a
     * fixed lane order (no reduceLanes(ADD), no intrinsic EXP), so interpreted and JIT-compiled code, and 1 or 2
     * threads, give the same bits.
     */
    static final float RERUN = 0f;

    static float maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        }
        float m = 0;
        for (int i = 0; i < a.length; i++) {
            float d = Math.abs(a[i] - b[i]);
            if (!(d <= m)) {
                m = Float.isNaN(d) ? Float.NaN : d;
                if (Float.isNaN(m)) {
                    return m;
                }
            }
        }
        return m;
    }
}
