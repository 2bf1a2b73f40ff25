package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalResult;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.io.ConfigJson;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.BpeTrainer;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;
import dev.sparsa.io.tokenizer.TrainedBpe;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.HfExport;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.Presets;
import dev.sparsa.train.Schedule;
import dev.sparsa.train.TrainData;
import dev.sparsa.train.Trainer;
import dev.sparsa.train.method.Dense;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code sparsa pretrain}: train a Llama-family model from scratch and save it as a Hugging Face folder. */
@Command(name = "pretrain", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a Llama-family decoder from scratch (fp32, AdamW) on a text, and save it as a Hugging "
                + "Face folder (model.safetensors, config.json, tokenizer.json) that Sparsa and transformers load.",
                "Without --tokenizer a byte-level BPE of the config's vocabulary size is trained on the training text "
                        + "first (as sparsa tokenizer train does) and saved with the model."})
public final class PretrainCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--config", defaultValue = "tiny-llama", paramLabel = "NAME|FILE",
            description = "Model shape: tiny-llama (vocab 4096, hidden 256, 4 layers, 8/4 heads, FFN 768, SwiGLU, "
                    + "context 256), micro-llama (hidden 128, 2 layers), or a config.json (default ${DEFAULT-VALUE}).")
    String config;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "tokenizer.json to use (its vocabulary must fit the config's); default: train one.")
    Path tokenizer;

    @Mixin
    TrainOptions t;

    @Option(names = "--steps", defaultValue = "1000", paramLabel = "N",
            description = "Optimizer steps (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--schedule", defaultValue = "cosine", paramLabel = "S",
            description = "Learning-rate schedule after warm-up: constant or cosine (default ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--init-std", defaultValue = "0.02", paramLabel = "S",
            description = "Standard deviation of the initial weights (default ${DEFAULT-VALUE}).")
    double initStd;

    @Override
    public Integer call() throws Exception {
        // Everything that can be refused is refused before anything is written to --out.
        t.check();
        Schedule.Kind sk = Schedule.Kind.of(schedule);
        Trainer.Options o = t.trainer(steps, sk, 0f);
        if (!(initStd > 0)) {
            throw new SparsaException.UsageException("--init-std must be positive, got " + initStd);
        }
        ModelConfig cfg = config.endsWith(".json") || Files.exists(Path.of(config))
                ? ConfigJson.read(Path.of(config)) : Presets.of(config);
        if (!cfg.isDecoder()) {
            throw new SparsaException.UnsupportedException(config + ": pretrain builds Llama-family decoders, not "
                    + cfg.architecture());
        }
        if (cfg.maxPositions() > 0 && t.seq > cfg.maxPositions()) {
            throw new SparsaException.UsageException("--seq " + t.seq + " exceeds the config's max positions "
                    + cfg.maxPositions());
        }
        Trainer.checkOut(t.out, t.resume, t.checkpointEvery);
        Corpus corpus = t.trainCorpus();
        Path tokFile = t.out.resolve("tokenizer.json");
        Tokenizer tok;
        int eos;
        TrainedBpe bpe = null;
        List<Path> tokFiles;
        if (tokenizer != null) {
            tok = TokenizerJson.load(tokenizer);
            eos = tok.eosId();
            tokFiles = HfExport.TOKENIZER_FILES.stream().map(n -> tokenizer.toAbsolutePath().resolveSibling(n))
                    .toList();
        } else if (t.resume && Files.isRegularFile(tokFile)) {
            tok = TokenizerJson.load(tokFile);                    // the tokenizer this run trained before
            eos = tok.eosId();
            tokFiles = List.of(tokFile, tokFile.resolveSibling(TrainedBpe.CONFIG_FILE));
        } else {
            System.err.printf(Locale.ROOT, "sparsa: training a %d-token byte-level BPE on %s ...%n", cfg.vocabSize(),
                    corpus.name());
            bpe = BpeTrainer.train(corpus.lines(), BpeTrainer.Options.of(cfg.vocabSize()), BpeTrainer.Listener.NONE);
            tok = TokenizerJson.load(new java.io.ByteArrayInputStream(bpe.tokenizerJson()), "the trained tokenizer");
            eos = bpe.eosId();
            tokFiles = List.of(tokFile, tokFile.resolveSibling(TrainedBpe.CONFIG_FILE));
        }
        if (eos < 0) {
            throw new SparsaException.UsageException((tokenizer != null ? tokenizer : tokFile)
                    + ": the tokenizer has no end-of-text / EOS token to separate documents");
        }
        if (tok.vocabSize() > cfg.vocabSize()) {
            throw new SparsaException.UsageException("the tokenizer has " + tok.vocabSize() + " tokens, more than the "
                    + "config's vocab_size " + cfg.vocabSize());
        }
        cfg = cfg.withSpecialTokens(eos, eos);
        TokenStream train = TokenStream.of(corpus, tok, eos);
        TrainData data = new TrainData(train.name(), train.ids(), t.seq, t.seed);
        EvalWindows val = t.validation(tok, eos);
        t.prepareOut();
        if (bpe != null) {
            bpe.write(tokFile);                                   // kept for --resume
        }
        try (Parallel par = new Parallel(t.threads()); Arena arena = Arena.ofShared()) {
            LlamaParams p = LlamaParams.init(cfg, initStd, t.seed, arena);
            Trainer.Result r;
            try (TrainOptions.Log log = t.log("pretrain")) {
                // printed once the trainer has accepted the checkpoint to resume from
                log.note(String.format(Locale.ROOT, "%s: %,d training tokens (%d documents), %d chunks of %d%s",
                        corpus.name(), train.size(), train.documents(), data.chunks(), t.seq + 1,
                        val == null ? ", no validation" : String.format(Locale.ROOT, "; validation %,d tokens",
                                val.stream().size())));
                r = new Trainer(p, new Dense(), o, data, val, null, t.out, log).run(par);
                log.finish();
            }
            HfExport.write(t.out, p, r.config(), t.outputDType(), tokFiles);
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("command", "pretrain");
            s.put("config", config);
            s.put("parameters", p.count());
            s.put("corpus", train.name());
            s.put("trainingTokens", train.size());
            s.put("steps", r.steps());
            s.put("tokensSeen", (long) r.steps() * t.batch * t.seq);
            if (r.finalValidation() != null) {
                EvalResult f = r.finalValidation();
                s.put("final", Map.of("bitsPerByte", f.bitsPerByte(), "ce", f.ce()));
            }
            s.put("validations", r.validations());
            s.put("seconds", r.seconds());
            TrainOptions.writeSummary(t.out, s);
            var w = spec.commandLine().getOut();
            w.printf(Locale.ROOT, "model      %s (%s, %,d parameters)%n", t.out, config, p.count());
            w.printf(Locale.ROOT, "steps      %d in %.0f s (%,d tokens seen)%n", r.steps(), r.seconds(),
                    (long) r.steps() * t.batch * t.seq);
            if (r.finalValidation() != null) {
                w.printf(Locale.ROOT, "final      bits/byte %.4f, CE %.4f%n", r.finalValidation().bitsPerByte(),
                        r.finalValidation().ce());
            }
            w.flush();
        }
        return 0;
    }
}
