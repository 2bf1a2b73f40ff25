package dev.sparsa.experiment.cl;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.io.corpus.BrownCorpus.Genre;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The continual-learning task sequence: tasks made of Brown genre groups, trained one after another. Each task's
 * training and validation text is its genres' documents of the corpus-wide split (document i of the sorted file
 * names is validation when i % 20 == 0, {@link dev.sparsa.io.corpus.BrownCorpus}), so no document is in two tasks
 * and no validation document is trained on. Genres m (science fiction) and r (humor) have no validation documents
 * and only join a group that has some.
 *
 * <p>The default sequence (4 tasks, all 15 genres): {@code press} = a b c (reportage, editorial, reviews; 5
 * validation documents), {@code general} = d e f g h (religion, hobbies, lore, belles-lettres, government; 10),
 * {@code learned} = j (4), {@code fiction} = k l m n p r (the six fiction kinds and humor; 6). The quick sequence is
 * press → learned → fiction.
 */
public final class TaskSequence {
    private TaskSequence() {
    }

    /** The named genre groups. */
    public static final Map<String, String> GROUPS = groups();

    private static Map<String, String> groups() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("press", "abc");
        m.put("general", "defgh");
        m.put("learned", "j");
        m.put("fiction", "klmnpr");
        return m;
    }

    public static final List<String> DEFAULT = List.of("press", "general", "learned", "fiction");
    public static final List<String> QUICK = List.of("press", "learned", "fiction");

    /** A task of the sequence by its genres. */
    public record Spec(String name, List<Genre> genres) {
        /** "a+b+c" */
        public String genreLetters() {
            return String.join("+", genres.stream().map(Genre::letter).toList());
        }
    }

    /** A task with its data: training tokens and validation windows. */
    public record Task(String name, String genres, TokenStream train, EvalWindows valid) {
    }

    /**
     * Parses {@code --tasks}: each element a group name ({@link #GROUPS}) or genre letters joined by '+' ({@code
     * a+b}); one-line usage errors for an unknown genre or group, a genre in two tasks, a task without validation
     * documents, fewer than 2 tasks.
     */
    public static List<Spec> parse(List<String> tasks) {
        if (tasks.size() < 2) {
            throw new SparsaException.UsageException("--tasks: a sequence needs at least 2 tasks, got " + tasks.size());
        }
        List<Spec> out = new ArrayList<>();
        Map<Genre, Integer> seen = new LinkedHashMap<>();
        for (int k = 0; k < tasks.size(); k++) {
            String s = tasks.get(k).strip().toLowerCase(Locale.ROOT);
            if (s.isEmpty()) {
                throw new SparsaException.UsageException("--tasks: task " + (k + 1) + " is empty (no genres)");
            }
            List<Genre> gs = new ArrayList<>();
            String name;
            if (GROUPS.containsKey(s)) {
                name = s;
                for (char c : GROUPS.get(s).toCharArray()) {
                    gs.add(Genre.of(String.valueOf(c)));
                }
            } else {
                for (String g : s.split("\\+", -1)) {
                    if (g.isBlank()) {
                        throw new SparsaException.UsageException("--tasks: task " + (k + 1) + " '" + s + "' has an "
                                + "empty genre");
                    }
                    if (g.strip().length() > 2) {
                        throw new SparsaException.UsageException("--tasks: unknown task group or genre '" + g
                                + "' (groups " + String.join(", ", GROUPS.keySet()) + ", or genre letters a..r "
                                + "joined by +)");
                    }
                    gs.add(Genre.of(g));
                }
                name = String.join("+", gs.stream().map(Genre::letter).toList());
            }
            int valid = 0;
            for (Genre g : gs) {
                Integer before = seen.put(g, k);
                if (before != null) {
                    throw new SparsaException.UsageException("--tasks: genre " + g.letter() + " (" + g.title()
                            + ") is in task " + (before + 1) + " and task " + (k + 1) + " (tasks must not share "
                            + "documents)");
                }
                valid += g.validDocuments();
            }
            if (valid == 0) {
                throw new SparsaException.UsageException("--tasks: task " + (k + 1) + " '" + name + "' has no "
                        + "validation documents (genres m and r have none): group it with another genre");
            }
            out.add(new Spec(name, List.copyOf(gs)));
        }
        return out;
    }
}
