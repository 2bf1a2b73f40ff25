package dev.sparsa.io.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A tokenizer.json written by {@link BpeTrainer} / {@link TrainedBpe#write}, loaded by Sparsa's {@link TokenizerJson}
 * and by Hugging Face tokenizers (the Rust library, via DJL): identical ids with and without special tokens,
 * identical decodes, decode(encode(s)) == s, and the special token split out of text as its single id — on Brown
 * lines, hand-picked hard strings (whitespace, scripts, emoji, specials) and seeded random Unicode.
 */
class BpeTrainerReferenceTest {
    @TempDir
    static Path tmp;
    private static Tokenizer ours;
    private static HuggingFaceTokenizer ref;
    private static TrainedBpe bpe;
    private static final List<String> STRINGS = new ArrayList<>();

    @BeforeAll
    static void train() {
        List<String> text = new ArrayList<>(BpeTrainerGoldenTest.trainingLines());
        text.addAll(TokenizerFixtures.brownLines(20, 10));
        bpe = BpeTrainer.train(text, BpeTrainer.Options.of(1200), BpeTrainer.Listener.NONE);
        Path file = tmp.resolve("tokenizer.json");
        bpe.write(file);
        ours = TokenizerJson.load(file);
        ref = TokenizerFixtures.reference(file);
        STRINGS.addAll(TokenizerFixtures.corpus());
        STRINGS.addAll(List.of("<|endoftext|>", "a<|endoftext|>b", " <|endoftext|> ", "<|endoftext|><|endoftext|>",
                "x <|endoftext|>\n<|endoftext|>y", "<|endoftext", "<|endoftext|", "endoftext|>", "<|ENDOFTEXT|>"));
    }

    @AfterAll
    static void close() {
        ref.close();
    }

    @Test
    void trainedFileHasTheRequestedShape() {
        assertThat(bpe.size()).isEqualTo(1200);
        assertThat(ours.vocabSize()).isEqualTo(1200);
        assertThat(ours.eosId()).as("eos from tokenizer_config.json").isZero();
        assertThat(ours.bosId()).isZero();
        assertThat(ours.isSpecial(0)).isTrue();
        assertThat(STRINGS).hasSizeGreaterThanOrEqualTo(300);
    }

    @Test
    void idsMatchHuggingFace() {
        List<String> bad = new ArrayList<>();
        for (String s : STRINGS) {
            for (boolean special : new boolean[] {false, true}) {
                int[] want = TokenizerFixtures.refIds(ref, s, special);
                int[] got = ours.encode(s, special);
                if (!Arrays.equals(want, got)) {
                    bad.add(TokenizerReferenceTest.describe(ours, s, special, want, got));
                }
            }
        }
        assertThat(bad).as("encodings differing from HF tokenizers").isEmpty();
    }

    @Test
    void decodeRoundTripsInBoth() {
        List<String> bad = new ArrayList<>();
        for (String s : STRINGS) {
            int[] ids = ours.encode(s, true);
            String back = ours.decode(ids, false);
            String hfBack = ref.decode(TokenizerFixtures.longs(ids), false);
            if (!back.equals(s) || !hfBack.equals(s)) {
                bad.add(TokenizerReferenceTest.esc(s) + " -> ours " + TokenizerReferenceTest.esc(back) + ", HF "
                        + TokenizerReferenceTest.esc(hfBack));
            }
        }
        assertThat(bad).as("decode(encode(s)) != s").isEmpty();
    }

    @Test
    void endOfTextInTextIsItsOneId() {
        int eos = bpe.eosId();
        assertThat(ours.encode("<|endoftext|>", false)).containsExactly(eos);
        int[] ids = ours.encode("a<|endoftext|>b", false);
        assertThat(ids).containsExactly(ours.encode("a", false)[0], eos, ours.encode("b", false)[0]);
        assertThat(TokenizerFixtures.refIds(ref, "a<|endoftext|>b", false)).containsExactly(ids);
        assertThat(ours.decode(ids, true)).isEqualTo("ab");
        assertThat(ours.encode("<|endoftext", false)).doesNotContain(eos);
        // The byte-level post-processor adds nothing: a model appends eos itself.
        assertThat(ours.encode("hello", true)).containsExactly(ours.encode("hello", false));
    }
}
