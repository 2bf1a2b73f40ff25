package dev.sparsa.io.corpus;

import dev.sparsa.SparsaException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CorpusTest {

    @Test
    void brownCleaningStripsTagsMapsQuotesAndJoinsParagraphs() {
        String doc = "\n\n\tThe/at Fulton/np-tl said/vbd ``/`` no/at evidence/nn ''/'' ./.\n"
                + "\tA/at 1/2/cd inch/nn ./.\n\n\n"
                + "\tSecond/od paragraph/nn ;/. and/cc/x\n";
        assertThat(BrownCorpus.clean(doc)).containsExactly(
                "The Fulton said \" no evidence \" . A 1/2 inch .",
                "Second paragraph ; and/cc");
    }

    @Test
    void splitSendsEveryTwentiethSortedDocumentToValidation(@TempDir Path dir) throws Exception {
        // 41 documents written in shuffled order; sorted names: ca00..ca40 → valid = ca00, ca20, ca40.
        for (int i = 40; i >= 0; i--) {
            Files.writeString(dir.resolve(String.format("ca%02d", i)), "\tdoc/nn " + i + "/cd\n");
        }
        Files.writeString(dir.resolve("README"), "not a document");
        Files.writeString(dir.resolve("cats.txt"), "ca01 news");
        Corpus valid = BrownCorpus.fromDirectory(dir, BrownCorpus.Split.VALID);
        Corpus train = BrownCorpus.fromDirectory(dir, BrownCorpus.Split.TRAIN);
        assertThat(valid.lines()).containsExactly("doc 0", "doc 20", "doc 40");
        assertThat(valid.name()).isEqualTo("brown-valid");
        assertThat(train.lines()).hasSize(38).doesNotContain("doc 20").contains("doc 1", "doc 39");
        assertThat(valid.bytes()).isEqualTo(6 + 7 + 7);
    }

    @Test
    void genreCorporaPartitionEachSplitByTheSameCorpusWideRule(@TempDir Path dir) throws Exception {
        // sorted: ca00..ca24 (indices 0-24), cb00..cb19 (25-44), cr00..cr02 (45-47); index % 20 == 0: ca00, ca20, cb15
        for (int i = 0; i < 25; i++) {
            Files.writeString(dir.resolve(String.format("ca%02d", i)), "\ta/nn " + i + "/cd\n");
        }
        for (int i = 0; i < 20; i++) {
            Files.writeString(dir.resolve(String.format("cb%02d", i)), "\tb/nn " + i + "/cd\n");
        }
        for (int i = 0; i < 3; i++) {
            Files.writeString(dir.resolve(String.format("cr%02d", i)), "\tr/nn " + i + "/cd\n");
        }
        Corpus va = BrownCorpus.fromDirectory(dir, BrownCorpus.Split.VALID, BrownCorpus.Genre.A);
        Corpus vb = BrownCorpus.fromDirectory(dir, BrownCorpus.Split.VALID, BrownCorpus.Genre.B);
        Corpus vr = BrownCorpus.fromDirectory(dir, BrownCorpus.Split.VALID, BrownCorpus.Genre.R);
        assertThat(va.lines()).containsExactly("a 0", "a 20");
        assertThat(vb.lines()).containsExactly("b 15");                        // global index 40
        assertThat(vr.lines()).isEmpty();
        assertThat(va.name()).isEqualTo("brown-valid-a");
        Corpus tb = BrownCorpus.fromDirectory(dir, BrownCorpus.Split.TRAIN, BrownCorpus.Genre.B);
        assertThat(tb.name()).isEqualTo("brown-train-b");
        assertThat(tb.lines()).hasSize(19).allMatch(l -> l.startsWith("b ")).doesNotContain("b 15");
        // the genres of a split are a partition of it
        for (BrownCorpus.Split split : BrownCorpus.Split.values()) {
            java.util.List<String> all = new java.util.ArrayList<>();
            for (BrownCorpus.Genre g : BrownCorpus.Genre.values()) {
                all.addAll(BrownCorpus.fromDirectory(dir, split, g).lines());
            }
            assertThat(all).containsExactlyElementsOf(BrownCorpus.fromDirectory(dir, split).lines());
        }
    }

    @Test
    void genresAreTheFifteenBrownCategories() {
        assertThat(BrownCorpus.Genre.values()).hasSize(15);
        assertThat(BrownCorpus.Genre.of("J")).isEqualTo(BrownCorpus.Genre.J);
        assertThat(BrownCorpus.Genre.of("cp")).isEqualTo(BrownCorpus.Genre.P);
        assertThat(BrownCorpus.Genre.J.title()).isEqualTo("learned");
        assertThat(java.util.Arrays.stream(BrownCorpus.Genre.values()).mapToInt(BrownCorpus.Genre::validDocuments)
                .sum()).isEqualTo(25);                                         // 500 documents / 20
        assertThatThrownBy(() -> BrownCorpus.Genre.of("i")).isInstanceOf(SparsaException.UsageException.class)
                .hasMessage("unknown Brown genre 'i' (one of a b c d e f g h j k l m n p r)");
    }

    @Test
    void emptyDirectoryIsAClearError(@TempDir Path dir) {
        assertThatThrownBy(() -> BrownCorpus.fromDirectory(dir, BrownCorpus.Split.VALID))
                .isInstanceOf(SparsaException.FormatException.class).hasMessageContaining("no Brown corpus documents");
    }

    @Test
    void textFilesAreStrictUtf8(@TempDir Path dir) throws Exception {
        Path ok = dir.resolve("ok.txt");
        Files.write(ok, "\uFEFFHéllo\r\n\r\n  \nworld\n".getBytes(StandardCharsets.UTF_8));
        Corpus c = Corpus.ofTextFile(ok);
        assertThat(c.lines()).containsExactly("Héllo", "world");
        assertThat(c.bytes()).isEqualTo(7 + 6);

        Path bad = dir.resolve("bad.txt");
        Files.write(bad, new byte[]{'a', 'b', (byte) 0xC3, '(', 'c'});
        assertThatThrownBy(() -> Corpus.ofTextFile(bad)).isInstanceOf(SparsaException.FormatException.class)
                .hasMessage(bad + ": invalid UTF-8 at byte offset 2");

        Path empty = dir.resolve("empty.txt");
        Files.writeString(empty, " \n\n\t\n");
        assertThatThrownBy(() -> Corpus.ofTextFile(empty)).hasMessageContaining("empty text");
        assertThatThrownBy(() -> Corpus.ofTextFile(dir.resolve("missing.txt"))).hasMessageContaining("no such file");
    }

    @Test
    void linesAreCopied() {
        assertThat(new Corpus("x", List.of("a")).lines()).containsExactly("a");
    }
}
