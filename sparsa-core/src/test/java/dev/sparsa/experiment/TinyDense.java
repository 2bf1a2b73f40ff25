package dev.sparsa.experiment;

import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.Trainer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A tiny dense Llama pretrained by {@link DenseLlamaCache} on generated sentences, for the experiment and demo
 * tests (hidden 32, 2 layers, FFN 64, vocabulary 320, context 64; 30 steps of 4 × 32 tokens: about a second).
 */
public final class TinyDense {
    private TinyDense() {
    }

    private static final String[] WORDS = {"the", "jury", "said", "election", "county", "of", "a", "in", "and",
            "report", "city", "court", "was", "had", "more", "than", "its", "new", "state", "bill", "house", "vote",
            "year", "week", "asked", "found", "people", "would", "could", "money", "school", "board", "plan", "may"};

    /** {@code lines} sentences of 6–14 words drawn from a small vocabulary with a bias to word bigrams. */
    public static Corpus corpus(String name, int lines, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < lines; i++) {
            StringBuilder sb = new StringBuilder();
            int n = 6 + r.nextInt(9);
            int w = r.nextInt(WORDS.length);
            for (int k = 0; k < n; k++) {
                sb.append(k == 0 ? "" : " ").append(WORDS[w]);
                w = r.nextInt(4) == 0 ? r.nextInt(WORDS.length) : (w * 7 + 3) % WORDS.length;
            }
            out.add(sb.append('.').toString());
        }
        return new Corpus(name, out);
    }

    public static ModelConfig config() {
        return new ModelConfig("llama", 32, 64, 2, 2, 1, 16, 320, 64, 1e-5f, 10000f, null, "silu", 0f, false, false,
                0, 0, 0);
    }

    public static DenseLlamaCache.Spec spec() {
        return new DenseLlamaCache.Spec("tiny-test", config(), 30, 4, 32, 1e-2f, 3, 7, 512);
    }

    public static Corpus train() {
        return corpus("tiny-train", 400, 1);
    }

    public static Corpus valid() {
        return corpus("tiny-valid", 60, 2);
    }

    /** The tiny model, pretrained into (or found in) {@code cacheRoot}. */
    public static DenseLlamaCache.Entry model(Path cacheRoot) {
        try (Parallel par = new Parallel(1)) {
            return DenseLlamaCache.obtain(cacheRoot, spec(), TinyDense::train, TinyDense::valid, par,
                    new Trainer.Listener() {
                    });
        }
    }

    /** Writes a corpus as a text file, a document a line. */
    public static Path write(Corpus c, Path file) throws IOException {
        Files.write(file, c.lines());
        return file;
    }
}
