package dev.sparsa.train.method;

import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.io.corpus.Corpus;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.spec.ModelConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** A tiny ReLU Llama config and text for the continual-learning method tests (vocabulary 11: letters a..j + EOS). */
final class ClTiny {
    private ClTiny() {
    }

    static final ModelConfig CFG = new ModelConfig("llama", 8, 12, 2, 2, 1, 4, 11, 32, 1e-5f, 10000f, null, "relu",
            0f, false, false, 0, 0, 0);

    /** a..j → 1..10, EOS 0; one byte a token. */
    static final Tokenizer LETTERS = new Tokenizer() {
        public int[] encode(String text, boolean addSpecial) {
            int[] ids = new int[text.length()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = 1 + Math.floorMod(text.charAt(i) - 'a', 10);
            }
            return ids;
        }

        public String decode(int[] ids, boolean skipSpecial) {
            StringBuilder b = new StringBuilder();
            for (int id : ids) {
                b.append((char) ('a' + id - 1));
            }
            return b.toString();
        }

        public int vocabSize() {
            return 11;
        }

        public String token(int id) {
            return String.valueOf(id);
        }

        public int bosId() {
            return -1;
        }

        public int eosId() {
            return 0;
        }

        public boolean isSpecial(int id) {
            return id == 0;
        }

        @Override
        public int tokenBytes(int id) {
            return 1;
        }
    };

    /** Lines of letters with a seed-dependent bias. */
    static EvalWindows windows(long seed, int lines, int ctx) {
        SplittableRandom r = new SplittableRandom(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < lines; i++) {
            StringBuilder b = new StringBuilder();
            for (int k = 0; k < 12; k++) {
                b.append((char) ('a' + (r.nextInt(3) == 0 ? r.nextInt(10) : (int) (seed % 5) + k % 3)));
            }
            out.add(b.toString());
        }
        return EvalWindows.of(TokenStream.of(new Corpus("t" + seed, out), LETTERS, 0), ctx);
    }

    /** Training rows: seqs × (t + 1) ids from the windows' stream. */
    static int[] batch(EvalWindows w, int seqs, int t, int at) {
        int[] ids = w.stream().ids();
        int[] b = new int[seqs * (t + 1)];
        for (int i = 0; i < b.length; i++) {
            b[i] = ids[(at + i) % ids.length];
        }
        return b;
    }
}
