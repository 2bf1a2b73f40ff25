package dev.sparsa.experiment;

import dev.sparsa.eval.EosToken;
import dev.sparsa.eval.EvalResult;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.Evaluator;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;
import dev.sparsa.model.Activation;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.perf.Bench;
import dev.sparsa.perf.BenchPrompt;
import dev.sparsa.perf.BenchRow;
import dev.sparsa.perf.Stats;
import dev.sparsa.profile.ProfileOptions;
import dev.sparsa.profile.ProfileResults;
import dev.sparsa.profile.Profiler;
import dev.sparsa.profile.ProgressListener;
import dev.sparsa.profile.Windows;
import dev.sparsa.profile.adapter.LlamaProfiledModel;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.DType;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.HfExport;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.Schedule;
import dev.sparsa.train.TrainData;
import dev.sparsa.train.Trainer;
import dev.sparsa.train.method.ProSparse;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The demo's Llama story: a dense Llama (from {@link DenseLlamaCache}) → its ProSparse version (a short schedule,
 * auto FATReLU threshold) saved as a Hugging Face folder → the profile of both ({@link Profiler}, the same options)
 * → decode speed of both ({@link Bench}): the dense FFN kernel on both, the exact-sparse one on the ProSparse model
 * (it needs exact zeros, which SiLU does not give). Bits/byte and zero
 * sparsity of both come from the same validation windows (the evaluation protocol, context {@code seq}); the
 * profiles run on the first {@code profile.tokens()} tokens of the same text with the same context.
 */
public final class ProSparseDemo {
    private ProSparseDemo() {
    }

    /**
     * @param stageSteps   ProSparse steps per λ stage
     * @param lambdas      λ at the end of each stage
     * @param tolerance    the auto threshold's largest bits/byte rise
     * @param valTokens    validation tokens (training validation, threshold search, bits/byte)
     * @param profile      profile options of both models
     * @param promptTokens benchmark prompt
     * @param decodeTokens benchmark tokens generated per repetition
     * @param benchWarmup  untimed runs of each (model, kernel) before the first round
     * @param benchReps    interleaved rounds, each timing every (model, kernel) once
     */
    public record Options(int stageSteps, float[] lambdas, double tolerance, int batch, int seq, float lr, int warmup,
                          long seed, int valTokens, ProfileOptions profile, int promptTokens, int decodeTokens,
                          int benchWarmup, int benchReps) {
        /**
         * The demo's defaults: 3 stages of 40 steps (λ 0.35, 1.75, 3.5) of 16 × 128 tokens; validation on the
         * tokens the dense model's pretraining validated on ({@code valTokens}).
         */
        public static Options defaults(int valTokens, ProfileOptions profile) {
            return new Options(40, new float[]{0.35f, 1.75f, 3.5f}, 0.01, 16, 128, 1e-3f, 10, 1234, valTokens,
                    profile, 32, 192, 1, 7);             // prompt + decode within the context of 256
        }
    }

    /** One model of the story. */
    public record Model(String name, String activation, float threshold, long parameters, double bitsPerByte,
                        double ce, double sparsity, double[] sparsityPerLayer, ProfileResults profile) {
    }

    /**
     * @param pretrain       the dense model's {@code pretrain.json} ({@link DenseLlamaCache.Entry#summary()})
     * @param pretrainCached whether the dense model came from the cache this time
     * @param steps          ProSparse steps
     * @param trainSeconds   wall time of the ProSparse run (with its threshold search)
     * @param curve          the ProSparse training curve
     * @param method         ProSparse's summary (λ, stages, threshold grid)
     * @param sparseAtZero   the ProSparse model at T = 0 (plain ReLU), before threshold shifting
     * @param validTokens    tokens predicted by the validation windows
     * @param bench          decode / prefill speed: the dense model with the dense FFN kernel, the ProSparse model with
     *                       the dense and the exact-sparse kernels (labels {@code dense} / {@code prosparse})
     */
    public record Results(Model dense, Model sparse, Map<String, Object> pretrain, boolean pretrainCached,
                          int stageSteps, float[] lambdas, int steps, double trainSeconds,
                          SparsifyResults.Curve curve, Map<String, Object> method, SparsifyResults.Eval sparseAtZero,
                          String validCorpus, long validTokens, int contextLength, List<BenchRow> bench,
                          double seconds) {
    }

    /** Where the story reports to: the trainer's events, each profile's progress, and plain lines. */
    public interface Listener extends Trainer.Listener {
        ProgressListener profileProgress();

        /** A new step of the story (for the progress / ETA line). */
        default void stage(String name) {
        }
    }

    /**
     * @param dense the dense model (a Hugging Face folder with tokenizer.json)
     * @param out   the ProSparse model is written to {@code out/llama-prosparse}
     */
    public static Results run(DenseLlamaCache.Entry dense, Corpus train, Corpus valid, Path out, Options o,
                              Parallel par, Listener listener) {
        long t0 = System.nanoTime();
        Path sparseDir = out.resolve("llama-prosparse");
        EvalWindows val;
        Trainer.Result r;
        SparsifyResults.Eval atZero;
        Model denseModel;
        ModelConfig fin;
        double denseBpb;
        try (ModelFiles files = ModelFiles.open(dense.dir()); Arena arena = Arena.ofShared()) {
            ModelConfig cfg = files.config();
            Tokenizer tok = TokenizerJson.load(files.tokenizerJson());
            int eos = EosToken.resolve(null, cfg, false, tok, dense.dir()).id();
            val = EvalWindows.of(TokenStream.of(valid, tok, eos, o.valTokens()), o.seq());
            LlamaWeights start = LlamaWeights.load(cfg, files.weights());
            listener.stage("evaluate dense");
            EvalResult d = evaluate(start, val, par);
            denseBpb = d.bitsPerByte();
            listener.say(String.format(java.util.Locale.ROOT, "dense %s: bits/byte %.4f, zero sparsity %.4f",
                    dense.dir().getFileName(), d.bitsPerByte(), d.sparsity()));
            listener.stage("ProSparse");
            TokenStream ts = TokenStream.of(train, tok, eos);
            TrainData data = new TrainData(ts.name(), ts.ids(), o.seq(), o.seed());
            LlamaParams p = LlamaParams.copyOf(start, cfg, arena);
            ProSparse method = new ProSparse(o.stageSteps(), o.lambdas(), null, o.tolerance());
            Trainer.Options to = new Trainer.Options(o.batch(), 1, o.seq(), null, o.lr(), o.warmup(),
                    Schedule.Kind.CONSTANT, 0f, 0.1f, 0.9f, 0.95f, 1f, o.seed(), 0, 1, 0, 0f, false);
            r = new Trainer(p, method, to, data, val, null, null, listener).run(par);
            fin = r.config();
            ModelConfig relu = fin.withActivation("relu", 0f);
            EvalResult z = evaluate(p.weights().withConfig(relu), val, par);
            atZero = new SparsifyResults.Eval(0f, z.bitsPerByte(), z.ce(), z.sparsity(), z.sparsityPerLayer(),
                    z.bitsPerByte() / denseBpb - 1, z.seconds());
            HfExport.write(sparseDir, p, fin, DType.F32, List.of(files.tokenizerJson(),
                    dense.dir().resolve("tokenizer_config.json")));
            denseModel = model(dense.dir().getFileName().toString(), cfg, p.count(), d, null);
        }
        listener.stage("profile dense");
        ProfileResults denseProfile = profile(dense.dir(), valid, o, par, listener);
        listener.stage("profile ProSparse");
        ProfileResults sparseProfile = profile(sparseDir, valid, o, par, listener);
        EvalResult s = r.finalValidation();
        Model sparseModel = model(sparseDir.getFileName().toString(), fin, denseModel.parameters(), s, sparseProfile);
        denseModel = new Model(denseModel.name(), denseModel.activation(), denseModel.threshold(),
                denseModel.parameters(), denseModel.bitsPerByte(), denseModel.ce(), denseModel.sparsity(),
                denseModel.sparsityPerLayer(), denseProfile);
        listener.stage("decode speed");
        List<BenchRow> bench = bench(List.of(dense.dir(), sparseDir), o, par, listener::say);
        return new Results(denseModel, sparseModel, dense.summary(), dense.cached(), o.stageSteps(), o.lambdas(),
                r.steps(), r.seconds(), SparsifyExperiment.curve(r.log()), r.method(), atZero, valid.name(),
                val.predictedTokens(), val.contextLength(), bench, (System.nanoTime() - t0) / 1e9);
    }

    /**
     * Decode / prefill speed of each (model, kernel) pair, measured in {@code o.benchReps()} interleaved rounds (one
     * timed repetition of every pair per round, after {@code o.benchWarmup()} untimed ones), so that a change of the
     * machine's load during the measurement hits every pair alike; each row's figures are the statistics over the
     * rounds.
     */
    static List<BenchRow> bench(List<Path> dirs, Options o, Parallel par, Consumer<String> log) {
        record Pair(Path dir, String label, String ffn) {
        }
        List<Pair> pairs = new ArrayList<>();
        for (Path dir : dirs) {
            try (ModelFiles files = ModelFiles.open(dir)) {
                ModelConfig c = files.config();
                String label = dir.equals(dirs.getFirst()) ? "dense" : "prosparse";
                boolean zeros = Activation.of(c.hiddenAct(), c.fatreluThreshold()).zeroBelow();
                for (String ffn : zeros ? List.of("dense", "exact-sparse") : List.of("dense")) {
                    pairs.add(new Pair(dir, label, ffn));
                }
            }
        }
        List<BenchRow> first = new ArrayList<>();
        double[][] pre = new double[pairs.size()][o.benchReps()];
        double[][] dec = new double[pairs.size()][o.benchReps()];
        for (int round = 0; round < o.benchReps(); round++) {
            for (int i = 0; i < pairs.size(); i++) {
                Pair p = pairs.get(i);
                try (ModelFiles files = ModelFiles.open(p.dir())) {
                    int[] ids = BenchPrompt.ids(files, TokenizerJson.load(files.tokenizerJson()), o.promptTokens(), 7);
                    BenchRow r = Bench.sparsa(files, p.label(), p.ffn(), ids, o.decodeTokens(),
                            round == 0 ? o.benchWarmup() : 0, 1, par, round == 0 ? log : line -> {
                            });
                    if (round == 0) {
                        first.add(r);
                    }
                    pre[i][round] = r.prefill().median();
                    dec[i][round] = r.decode().median();
                }
            }
        }
        List<BenchRow> rows = new ArrayList<>();
        for (int i = 0; i < pairs.size(); i++) {
            BenchRow r = first.get(i);
            rows.add(new BenchRow(r.engine(), r.model(), r.dtype(), r.ffn(), r.threads(), r.promptTokens(),
                    r.decodeTokens(), Stats.of(pre[i]), Stats.of(dec[i]), r.bytesPerToken(), r.gbPerSecond(),
                    r.fractionOfBandwidth(), r.activeFraction(), r.idealSpeedup(), r.recall(), r.note()));
        }
        return rows;
    }

    private static Model model(String name, ModelConfig c, long params, EvalResult e, ProfileResults profile) {
        Activation a = Activation.of(c.hiddenAct(), c.fatreluThreshold());
        return new Model(name, a.kind().name().toLowerCase(java.util.Locale.ROOT), a.threshold(), params,
                e.bitsPerByte(), e.ce(), e.sparsity(), e.sparsityPerLayer(), profile);
    }

    private static EvalResult evaluate(LlamaWeights w, EvalWindows val, Parallel par) {
        return new Evaluator(LlamaModel.of(w, DenseFfn::new), par).evaluate(val);
    }

    /** The profile of a decoder folder on the first tokens of {@code text}, windows of {@code o.seq()}. */
    static ProfileResults profile(Path dir, Corpus text, Options o, Parallel par, Listener listener) {
        try (ModelFiles files = ModelFiles.open(dir)) {
            Tokenizer tok = TokenizerJson.load(files.tokenizerJson());
            LlamaProfiledModel m = new LlamaProfiledModel(dir.getFileName().toString(),
                    LlamaModel.load(files.config(), files.weights()), tok, o.seq(), par);
            Windows w = Windows.decoder(text, tok, m.eosId(), m.contextLength(), o.profile().tokens());
            return new Profiler(m, o.profile(), par, listener.profileProgress()).run(w, text.name(), text.bytes());
        }
    }
}
