package dev.sparsa.train.method;

import dev.sparsa.eval.ByteTokenizer;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.spec.ModelConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** A tiny ReLU Llama config and text for the continual-learning method tests (vocabulary 11: letters a..j + EOS). */
public final class ClTiny {
    private ClTiny() {
    }

    public static final ModelConfig CFG = new ModelConfig("llama", 8, 12, 2, 2, 1, 4, 11, 32, 1e-5f, 10000f, null,
            "relu", 0f, false, false, 0, 0, 0);

    /** a..j → 1..10, EOS 0; one byte a token (the token-stream tests' byte tokenizer with 11 ids). */
    public static final Tokenizer LETTERS = ByteTokenizer.LETTERS;

    /** Lines of 12 letters with a seed-dependent bias (a task's text). */
    public static List<String> lines(long seed, int lines) {
        SplittableRandom r = new SplittableRandom(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < lines; i++) {
            StringBuilder b = new StringBuilder();
            for (int k = 0; k < 12; k++) {
                b.append((char) ('a' + (r.nextInt(3) == 0 ? r.nextInt(10) : (int) (seed % 5) + k % 3)));
            }
            out.add(b.toString());
        }
        return out;
    }

    /** The token stream of {@link #lines}. */
    public static TokenStream stream(long seed, int lines) {
        return TokenStream.of(new Corpus("t" + seed, lines(seed, lines)), LETTERS, 0);
    }

    /** The windows of ctx tokens of {@link #lines}. */
    public static EvalWindows windows(long seed, int lines, int ctx) {
        return EvalWindows.of(stream(seed, lines), ctx);
    }

    /** Training rows: seqs × (t + 1) ids from the windows' stream. */
    public static int[] batch(EvalWindows w, int seqs, int t, int at) {
        int[] ids = w.stream().ids();
        int[] b = new int[seqs * (t + 1)];
        for (int i = 0; i < b.length; i++) {
            b[i] = ids[(at + i) % ids.length];
        }
        return b;
    }
}
