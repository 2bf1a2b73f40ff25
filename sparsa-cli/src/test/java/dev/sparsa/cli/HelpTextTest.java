package dev.sparsa.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code --help} of the top command and of every command and subcommand (found by walking the command tree, so a new
 * command is covered without listing it): exit 0, a usage text on stdout, and nothing on stderr, in particular no
 * {@code [picocli WARN] Could not format ...} from a bare {@code %} in a description (picocli formats descriptions
 * with {@link String#format}; a literal percent is {@code %%}).
 */
class HelpTextTest {

    /** The argument lists {@code [}, {@code [cmd]}, {@code [cmd, sub]}, ... of every command in the tree. */
    static List<List<String>> commandPaths() {
        List<List<String>> out = new ArrayList<>();
        walk(new CommandLine(new Main()), new ArrayList<>(), out);
        return out;
    }

    private static void walk(CommandLine cl, List<String> path, List<List<String>> out) {
        out.add(List.copyOf(path));
        for (var e : cl.getSubcommands().entrySet()) {
            if (!e.getKey().equals(e.getValue().getCommandName())) {
                continue;                                              // an alias: the same command again
            }
            path.add(e.getKey());
            walk(e.getValue(), path, out);
            path.removeLast();
        }
    }

    @Test
    void everyCommandPrintsItsHelpWithoutWarnings() {
        List<List<String>> paths = commandPaths();
        assertThat(paths).hasSizeGreaterThan(10).contains(List.of("profile"), List.of("bench"), List.of());
        for (List<String> path : paths) {
            List<String> args = new ArrayList<>(path);
            args.add("--help");
            CliRun r = CliRun.of(args.toArray(String[]::new));
            String what = "sparsa " + String.join(" ", args);
            assertThat(r.code()).as(what).isZero();
            assertThat(r.err()).as(what + " stderr").isEmpty();
            assertThat(r.out()).as(what).contains("Usage: sparsa" + (path.isEmpty() ? "" : " " + String.join(" ", path)))
                    .doesNotContain("WARN");
        }
    }
}
