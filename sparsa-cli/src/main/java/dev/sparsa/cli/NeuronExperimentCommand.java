package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EosToken;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * What {@code sparsa experiment redo|ap|sap|attribution|lte|clnp|sparcl} share: the options every one of them has
 * ({@link ExperimentOptions}, a mixin: a subclass declares only its own options, reads the shared ones as
 * {@code x.NAME}), the run and print tail ({@link ExperimentOptions#run}: the model, the corpora, results.json,
 * report.html and section.md), opening the model and the Brown corpora.
 */
abstract class NeuronExperimentCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The shared options (each subclass declares only its own). */
    @Mixin
    ExperimentOptions x;

    /** The experiment's name ({@code redo}, ...). */
    abstract String name();

    /** Whether the experiment trains on --text (else --text is refused by its own check). */
    boolean trains() {
        return true;
    }

    /** Checks the experiment's own options before anything is loaded (usage errors). */
    abstract void check();

    /** Runs it; returns the results record (written as results.json). */
    abstract Object run(Context c);

    /** What a run has: the pool, the progress, the model folder and how it was found, the corpora. */
    record Context(Parallel par, TrainProgress progress, Path modelDir, String modelSource, Corpus train,
                   Corpus valid, Path out) {
    }

    static int pick(Integer given, boolean quick, int q, int full) {
        return ExperimentOptions.pick(given, quick, q, full);
    }

    static float pick(Float given, boolean quick, float q, float full) {
        return ExperimentOptions.pick(given, quick, q, full);
    }

    @Override
    public final Integer call() {
        x.check(trains(), modelHint());
        check();
        return x.run(name(), spec, this::run);
    }

    /** What --model should be, for the error without it. */
    String modelHint() {
        return "a dense Llama-family Hugging Face folder, e.g. the tiny-llama trained on brown-train: ./sparsa "
                + "pretrain --config tiny-llama --out DIR";
    }

    /** An opened decoder: files, config, tokenizer and EOS; the caller closes {@code files}. */
    record Opened(ModelFiles files, ModelConfig config, Tokenizer tokenizer, int eos) implements AutoCloseable {
        LlamaWeights weights() {
            return LlamaWeights.load(config, files.weights());
        }

        @Override
        public void close() {
            files.close();
        }
    }

    /** Opens a Llama-family safetensors folder with its tokenizer, checking {@code seq} against its positions. */
    static Opened open(Path dir, int seq) {
        ModelFiles files = ModelFiles.open(dir);
        try {
            ModelConfig cfg = files.config();
            if (!cfg.isDecoder() || files.format().equals("gguf")) {
                throw new SparsaException.UnsupportedException(dir + ": the experiment needs a Llama-family decoder "
                        + "in a Hugging Face safetensors folder; this is " + cfg.architecture() + " ("
                        + files.format() + ")");
            }
            if (cfg.maxPositions() > 0 && seq > cfg.maxPositions()) {
                throw new SparsaException.UsageException("--seq " + seq + " exceeds the model's max positions "
                        + cfg.maxPositions());
            }
            Tokenizer tok = GenerateCommand.findTokenizer(files, null);
            if (tok == null) {
                throw new SparsaException.UsageException(dir + ": no tokenizer.json beside the model");
            }
            int eos = EosToken.resolve(null, cfg, false, tok, dir).id();
            return new Opened(files, cfg, tok, eos);
        } catch (RuntimeException e) {
            files.close();
            throw e;
        }
    }

    /** The training corpus: --text, else brown-train. */
    static Corpus trainCorpus(Context c) {
        return c.train() != null ? c.train() : ProfileCommand.brown("brown-train");
    }

    static Corpus validCorpus(Context c) {
        return c.valid() != null ? c.valid() : ProfileCommand.brown("brown-valid");
    }

    static EvalWindows windows(Corpus valid, Opened m, int tokens, int seq) {
        return EvalWindows.of(TokenStream.of(valid, m.tokenizer(), m.eos(), tokens), seq);
    }

}
