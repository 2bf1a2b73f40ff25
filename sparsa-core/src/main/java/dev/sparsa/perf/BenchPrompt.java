package dev.sparsa.perf;

import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A benchmark prompt: a text of random lowercase words whose encoding (with BOS) has at least the wanted number of
 * tokens, and its first that many ids. Deterministic for a seed, so every engine gets the same text.
 */
public record BenchPrompt(String text, int[] ids) {

    public static BenchPrompt of(Tokenizer tok, int tokens, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        StringBuilder sb = new StringBuilder();
        int[] ids = new int[0];
        while (ids.length < tokens) {
            for (int w = 0; w < 8; w++) {
                if (!sb.isEmpty()) {
                    sb.append(' ');
                }
                int len = 2 + r.nextInt(6);
                for (int i = 0; i < len; i++) {
                    sb.append((char) ('a' + r.nextInt(26)));
                }
            }
            ids = tok.encode(sb.toString(), true);
        }
        // trim words until the count is just at or above the target
        String text = sb.toString();
        while (true) {
            int cut = text.lastIndexOf(' ');
            if (cut <= 0) {
                break;
            }
            String shorter = text.substring(0, cut);
            int[] s = tok.encode(shorter, true);
            if (s.length < tokens) {
                break;
            }
            text = shorter;
            ids = s;
        }
        return new BenchPrompt(text, Arrays.copyOf(ids, tokens));
    }

    /** The prompt ids for a model: the tokenized {@link #of} text with its tokenizer, else random ids. */
    public static int[] ids(ModelFiles files, Tokenizer tok, int tokens, long seed) {
        if (tok != null) {
            return of(tok, tokens, seed).ids();
        }
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[tokens];
        for (int i = 0; i < tokens; i++) {
            ids[i] = r.nextInt(files.config().vocabSize());
        }
        return ids;
    }
}
