package dev.sparsa.io.tokenizer;

import dev.sparsa.SparsaException.UsageException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link BpeTrainer} on texts small enough to work out by hand (each expectation below was derived on paper, then
 * confirmed with HF tokenizers' BpeTrainer), its id layout, tie-break, stopping rules and determinism.
 */
class BpeTrainerTest {

    private static List<String> merges(List<String> lines, int vocab, long minFrequency) {
        TrainedBpe bpe = BpeTrainer.train(lines,
                new BpeTrainer.Options(vocab, minFrequency, List.of(BpeTrainer.END_OF_TEXT)), BpeTrainer.Listener.NONE);
        return bpe.merges().stream().map(m -> m.left() + " " + m.right()).toList();
    }

    @Test
    void baseVocabularyIsSpecialsThenBytesInCodePointOrder() {
        TrainedBpe bpe = BpeTrainer.train(List.of("x"), BpeTrainer.Options.of(300), BpeTrainer.Listener.NONE);
        List<String> v = bpe.vocab();
        assertThat(v.get(0)).isEqualTo("<|endoftext|>");
        assertThat(bpe.eosId()).isZero();
        assertThat(v.get(1)).isEqualTo("!");        // byte 0x21, the smallest table char
        assertThat(v.get(65)).isEqualTo("a");       // printable ASCII: id = byte - 0x20
        assertThat(v.get(94)).isEqualTo("~");
        assertThat(v.get(95)).isEqualTo("¡");       // byte 0xA1 comes before byte 0x00 (U+0100) in code-point order
        assertThat(v.get(189)).isEqualTo("\u0100"); // byte 0x00
        assertThat(v.get(221)).isEqualTo("Ġ");      // byte 0x20, space
        assertThat(v.get(256)).isEqualTo("\u0143"); // byte 0xAD, the last
        assertThat(bpe.size()).isEqualTo(257);      // "x" has no pair: nothing to merge
        assertThat(BpeTrainer.baseSize(List.of(BpeTrainer.END_OF_TEXT))).isEqualTo(257);
        assertThat(BpeTrainer.baseSize(List.of("<a>", "<b>"))).isEqualTo(258);
    }

    /**
     * Words ab ×2, Ġab, Ġcd, cd. Pairs: (a,b) 3, (c,d) 2, (Ġ,a) 1, (Ġ,c) 1. Merge a+b; then c+d; then (Ġ,ab) and
     * (Ġ,cd) tie at 1 and (Ġ,ab) wins: ab (257) is older than cd (258).
     */
    @Test
    void mergesMostFrequentPairFirstAndUpdatesNeighbours() {
        List<String> text = List.of("ab ab", "ab cd", "cd");
        assertThat(merges(text, 1000, 1)).containsExactly("a b", "c d", "Ġ ab", "Ġ cd");
        assertThat(merges(text, 1000, 2)).as("pairs seen once are not merged").containsExactly("a b", "c d");
        assertThat(merges(text, 259, 1)).as("259 tokens = 257 + 2 merges").containsExactly("a b", "c d");
    }

    /**
     * After a+b, four pairs tie at count 1: (b,a) = (66,65), (b,c) = (66,67), (z,y) = (90,89), (ab,y) = (257,89).
     * Smallest (left id, right id) first: left ids decide, then right ids; by strings "ab y" would come before
     * "z y", by ids it comes after.
     */
    @Test
    void tiesGoToTheSmallestIdPairLeftIdFirst() {
        assertThat(merges(List.of("ab", "ab", "zy", "aby", "bc", "ba"), 1000, 1))
                .containsExactly("a b", "b a", "b c", "z y", "ab y");
    }

    /**
     * "aaaaa": (a,a) occurs 4 times; merged left to right it gives aa aa a, leaving (aa,aa) and (aa,a) at 1 each;
     * (aa,a) = (257,65) beats (aa,aa) = (257,257); then aa + aaa.
     */
    @Test
    void overlappingPairsMergeLeftToRight() {
        assertThat(merges(List.of("aaaaa"), 1000, 1)).containsExactly("a a", "aa a", "aa aaa");
    }

    @Test
    void specialTokensComeFirstAndAreNotLearnedFromText() {
        TrainedBpe bpe = BpeTrainer.train(List.of("<|endoftext|> hi <|endoftext|> hi"),
                new BpeTrainer.Options(400, 1, List.of("<|endoftext|>", "<|pad|>")), BpeTrainer.Listener.NONE);
        assertThat(bpe.vocab().subList(0, 3)).containsExactly("<|endoftext|>", "<|pad|>", "!");
        assertThat(bpe.id("<|pad|>")).isEqualTo(1);
        // Training text is pre-tokenized as is (HF does the same): "<|", "endoftext", "|>" are learned as words.
        assertThat(bpe.vocab()).contains("endoftext", "<|", "Ġhi");
    }

    @Test
    void sameInputGivesTheSameBytes(@TempDir Path tmp) throws Exception {
        List<String> text = BpeTrainerGoldenTest.trainingLines();
        BpeTrainer.Options opt = new BpeTrainer.Options(600, 2, List.of(BpeTrainer.END_OF_TEXT));
        TrainedBpe a = BpeTrainer.train(text, opt, BpeTrainer.Listener.NONE);
        TrainedBpe b = BpeTrainer.train(List.copyOf(text), opt, BpeTrainer.Listener.NONE);
        assertThat(a.merges()).hasSizeGreaterThan(300);
        assertThat(b.tokenizerJson()).isEqualTo(a.tokenizerJson());
        a.write(tmp.resolve("a").resolve("tokenizer.json"));
        b.write(tmp.resolve("b").resolve("tokenizer.json"));
        for (String f : List.of("tokenizer.json", TrainedBpe.CONFIG_FILE)) {
            assertThat(Files.readAllBytes(tmp.resolve("b").resolve(f)))
                    .isEqualTo(Files.readAllBytes(tmp.resolve("a").resolve(f)));
        }
        try (var files = Files.list(tmp.resolve("a"))) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted())
                    .as("no temp file left").containsExactly("tokenizer.json", TrainedBpe.CONFIG_FILE);
        }
    }

    @Test
    void progressCoversEachPhase() {
        List<String> phases = new java.util.ArrayList<>();
        long[] last = new long[1];
        BpeTrainer.train(List.of("ab ab", "ab cd", "cd"), BpeTrainer.Options.of(1000), new BpeTrainer.Listener() {
            @Override
            public void phase(String name, long total, String unit) {
                phases.add(name + " " + total + " " + unit);
            }

            @Override
            public void progress(long done) {
                last[0] = done;
            }
        });
        assertThat(phases).containsExactly("counting words 3 lines", "merging 743 tokens");
        assertThat(last[0]).as("merges done (min frequency 2: a+b, c+d)").isEqualTo(2);
    }

    @Test
    void rejectsImpossibleOptions() {
        assertThatThrownBy(() -> BpeTrainer.Options.of(257)).isInstanceOf(UsageException.class)
                .hasMessageContaining("257").hasMessageContaining("must exceed 257");
        assertThatThrownBy(() -> new BpeTrainer.Options(300, -1, List.of())).isInstanceOf(UsageException.class)
                .hasMessageContaining("min frequency");
        assertThatThrownBy(() -> new BpeTrainer.Options(300, 2, List.of("<s>", "<s>")))
                .isInstanceOf(UsageException.class).hasMessageContaining("<s>");
        assertThatThrownBy(() -> new BpeTrainer.Options(300, 2, List.of(""))).isInstanceOf(UsageException.class)
                .hasMessageContaining("empty");
        assertThatThrownBy(() -> new BpeTrainer.Options(300, 2, List.of("Ġ"))).isInstanceOf(UsageException.class)
                .hasMessageContaining("byte symbol");
        assertThat(new BpeTrainer.Options(300, 2, List.of(" ", "中")).specialTokens()).as("not table chars")
                .containsExactly(" ", "中");
        assertThat(BpeTrainer.Options.of(258).vocabSize()).isEqualTo(258);
    }
}
